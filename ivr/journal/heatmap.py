"""Calls by local weekday x hour of arrival, from the 15-minute rollup: the grids of the
report document and of the exporter's `hotline_weekday_hour_calls` (one implementation)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, tzinfo

from ivr.domain.tally import Tally
from ivr.journal.store import Store

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
    offered = [[0] * 24 for _ in range(7)]
    lost = [[0] * 24 for _ in range(7)]
    for row in await store.stats(start, end, line):
        local = row.bucket_start.astimezone(zone)
        tally = row.tally
        offered[local.weekday()][local.hour] += tally.offered
        lost[local.weekday()][local.hour] += lost_of(tally)
    return WeekdayHour(tuple(map(tuple, offered)), tuple(map(tuple, lost)))
