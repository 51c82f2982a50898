"""What `hotline notices add|list|end` do, behind the thin typer commands. They write
the database the running service reads: it picks a change up within seconds (and
rewrites the dialplan's fallback), as it does for one posted over the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path

from ivr.clock import clock_from_env
from ivr.config import HotlineConfig
from ivr.domain.notices import Notice
from ivr.journal.commands import open_journal
from ivr.notices.service import NoticesService
from ivr.notices.store import Hearing, NoticeStore
from ivr.prompt_files import allowed_dirs


@asynccontextmanager
async def notices_service(
    config: HotlineConfig, config_path: Path
) -> AsyncIterator[NoticesService]:
    async with open_journal(config) as store:
        yield NoticesService(
            NoticeStore(store.engine),
            clock_from_env().now,
            sound_dirs=lambda: allowed_dirs(config, config_path),
        )


def local_time(text: str | None, config: HotlineConfig) -> datetime | None:
    """An ISO time; without an offset it is the hotline's local time."""
    if text is None:
        return None
    at = datetime.fromisoformat(text)
    return at if at.tzinfo else at.replace(tzinfo=config.hotline.zone)


async def add_notice(
    config: HotlineConfig,
    config_path: Path,
    *,
    text: str | None,
    file: str | None,
    starts: str | None,
    ends: str | None,
    hours: float | None,
    areas: list[str],
    by: str,
) -> Notice:
    async with notices_service(config, config_path) as notices:
        return await notices.add(
            text=text, file=file, starts_at=local_time(starts, config),
            ends_at=local_time(ends, config), hours=hours, areas=areas, by=by,
        )  # fmt: skip


async def end_notice(config: HotlineConfig, config_path: Path, notice_id: int) -> Notice:
    async with notices_service(config, config_path) as notices:
        return await notices.end(notice_id)


async def list_notices(
    config: HotlineConfig, config_path: Path, include_expired: bool
) -> str:
    async with notices_service(config, config_path) as notices:
        found = await notices.find(include_expired=include_expired)
        since = min((n.starts_at for n in found), default=notices.now())
        hearings = await notices.hearings(since)
        now = notices.now()
    if not found:
        return "no notices"
    zone = config.hotline.zone
    rows = [("id", "from", "until", "state", "areas", "heard", "asked for a person", "notice")]
    for n in found:
        heard = hearings.get(n.id, Hearing())
        state = "playing" if n.active_at(now) else ("expired" if n.expired_at(now) else "waiting")
        rows.append((
            str(n.id),
            n.starts_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            n.until.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            state,
            ",".join(n.areas) or "all",
            str(heard.heard),
            str(heard.asked_for_person),
            (n.text or f"file {n.file}")[:60],
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]) - 1)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=False)) + "  "
        + row[-1]
        for row in rows
    )
