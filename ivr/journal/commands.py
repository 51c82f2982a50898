"""What `hotline calls` and `hotline report` do, behind the thin typer commands."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import datetime

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ivr.config import HotlineConfig
from ivr.domain.record import Outcome
from ivr.journal.export import calls_csv, calls_json
from ivr.journal.queries import by_node, day_range, month_range, report
from ivr.journal.report_text import render_calls, render_report
from ivr.journal.service import open_store
from ivr.journal.store import Store


class JournalUnavailable(RuntimeError):
    """The journal's database cannot be read."""


async def list_calls(
    config: HotlineConfig,
    since: str | None,
    line: str | None,
    outcome: str | None,
    callbacks_only: bool,
    limit: int,
    fmt: str = "text",
) -> str:
    zone = config.hotline.zone
    start = _local_time(since, config) if since else None
    wanted = _outcome(outcome) if outcome else None
    async with open_journal(config) as store:
        records = await store.calls(
            since=start,
            line=line,
            outcome=wanted,
            callback_needed=True if callbacks_only else None,
            limit=limit,
        )
    if fmt == "json":
        return calls_json(records, zone, config.person_name)
    if fmt == "csv":
        return calls_csv(records, zone, config.person_name)
    if not records:
        return "no calls found"
    return render_calls(records, zone, config.person_name)


async def period_report(
    config: HotlineConfig, *, day: str | None, month: str | None, line: str | None
) -> str:
    zone = config.hotline.zone
    if day is not None:
        try:
            start, end = day_range(day, zone)
        except ValueError as exc:
            raise ValueError(f"{day!r} is not a day like 2026-11-03") from exc
        title = f"{config.hotline.name}: day {day}"
    else:
        assert month is not None
        start, end = month_range(month, zone)
        title = f"{config.hotline.name}: month {month}"
    async with open_journal(config) as store:
        result = await report(
            store, start, end, line=line, zone=zone, targets=config.targets.values
        )
        per_node = (
            await by_node(store, start, end, line=line, targets=config.targets.values)
            if config.nodes else None
        )
    return render_report(result, title, zone, per_node)


async def refold_journal(config: HotlineConfig) -> int:
    """Every stored call folded again by this version's rules and the config's settings."""
    async with open_journal(config) as store:
        return await store.refold()


@asynccontextmanager
async def open_journal(config: HotlineConfig) -> AsyncIterator[Store]:
    """The journal store for a command (read-only use), closed after."""
    store = open_store(config)
    where = make_url(store.url).render_as_string(hide_password=True)
    try:
        # a journal nobody has written to yet is simply empty; folding history again is
        # the writer's (or `hotline journal refold`'s) work, not a report's
        await store.migrate(refold=False)
        yield store
    except (SQLAlchemyError, OSError) as exc:
        raise JournalUnavailable(f"cannot read the journal at {where}: {exc}") from exc
    finally:
        await store.close()


def _local_time(text: str, config: HotlineConfig) -> datetime:
    try:
        at = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ValueError(f"{text!r} is not a date or time like 2026-11-03T08:00") from exc
    return at if at.tzinfo else at.replace(tzinfo=config.hotline.zone)


def _outcome(text: str) -> Outcome:
    try:
        return Outcome(text)
    except ValueError as exc:
        choices = ", ".join(outcome.value for outcome in Outcome)
        raise ValueError(f"unknown outcome {text!r}; use one of {choices}") from exc
