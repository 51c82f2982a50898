"""What `hotline quality score|month` do, behind the thin typer commands."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta

from ivr.config import HotlineConfig
from ivr.domain.quality import BANDS, Item, Scores, band_of
from ivr.journal.commands import open_journal
from ivr.journal.queries import month_range
from ivr.recording.service import RecordingsService
from ivr.recording.store import RecordingStore, StoredScore

ITEM_TITLES = {
    Item.service_phrases: "service phrases 服务用语",
    Item.attitude: "attitude 服务态度",
    Item.responsibility: "first-contact responsibility 首问负责制",
    Item.professionalism: "professionalism 专业性",
}


@asynccontextmanager
async def recordings_service(config: HotlineConfig) -> AsyncIterator[RecordingsService]:
    async with open_journal(config) as store:
        yield RecordingsService(
            lambda: None, RecordingStore(store.engine), store,
            lambda: timedelta(days=config.recording.retention_days),
        )  # fmt: skip


async def score_call(
    config: HotlineConfig, linkedid: str, scores: Scores, by: str, remarks: str
) -> StoredScore:
    async with recordings_service(config) as recordings:
        return await recordings.score(linkedid, scores, by=by, remarks=remarks)


def render_score(stored: StoredScore) -> str:
    lines = [f"call {stored.call.linkedid} (agent {stored.call.agent}) scored "
             f"{stored.call.scores.total}/80 by {stored.scored_by}"]
    for item in BANDS:
        points = stored.call.scores.of(item)
        lines.append(f"  {ITEM_TITLES[item]}: {points}  ({band_of(item, points).meaning})")
    if stored.remarks:
        lines.append(f"  remarks: {stored.remarks}")
    return "\n".join(lines)


async def month_averages(config: HotlineConfig, month: str) -> str:
    start, end = month_range(month, config.hotline.timezone)
    async with recordings_service(config) as recordings:
        averages = await recordings.averages(start, end)
    if not averages:
        return f"no scored calls in {month}"
    header = ["agent", "calls", *(i.value for i in Item), "total/80"]
    rows = [header] + [
        [config.person_name(a.agent) or a.agent, str(a.calls),
         *(f"{a.items[i.value]:.1f}" for i in Item), f"{a.total:.1f}"]
        for a in averages
    ]  # fmt: skip
    widths = [max(len(r[i]) for r in rows) for i in range(len(header))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows)
