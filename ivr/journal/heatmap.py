"""Calls by local weekday x hour of arrival, from the 15-minute rollup summed in SQL: the
grids of the report document and of the exporter's `hotline_weekday_hour_calls` (one
implementation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from ivr.domain.tally import Tally
from ivr.journal.store import LocalSum, Store

LOST = ("outcome_busy", "outcome_abandoned", "outcome_failed")  # the calls the hotline lost
Grid = tuple[tuple[int, ...], ...]  # [weekday][hour], Monday first


def lost_of(tally: Tally) -> int:
    return sum(getattr(tally, name) for name in LOST)


@dataclass(frozen=True, slots=True)
class WeekdayHour:
    offered: Grid
    lost: Grid  # busy + abandoned + failed


async def weekday_hour(
    store: Store, start: datetime, end: datetime, zone: tzinfo, line: str | None = None
) -> WeekdayHour:
    """The calls that arrived in the rollup buckets starting in [start, end)."""
    rows = await store.local_sums(start, end, zone, line=line, names=COUNTED)
    return _grid(rows)


async def weekday_hour_by_line(
    store: Store, start: datetime, end: datetime, zone: tzinfo
) -> tuple[WeekdayHour, dict[str, WeekdayHour]]:
    """All lines' grid and each line's, from one query."""
    rows = await store.local_sums(start, end, zone, names=COUNTED)
    lines = sorted({row.line for row in rows})
    return _grid(rows), {name: _grid([r for r in rows if r.line == name]) for name in lines}


COUNTED = ("offered", *LOST)


def _grid(rows: list[LocalSum]) -> WeekdayHour:
    offered = [[0] * 24 for _ in range(7)]
    lost = [[0] * 24 for _ in range(7)]
    for row in rows:
        offered[row.weekday][row.hour] += row.counters[0]
        lost[row.weekday][row.hour] += sum(row.counters[1:])
    return WeekdayHour(tuple(map(tuple, offered)), tuple(map(tuple, lost)))
