"""Reports over the journal: the one implementation behind `hotline report`, the API
and the Prometheus exporter, so all three show the same numbers.

A report reads the 15-minute rollup, never the calls themselves, added up in SQL by
line, mode and local weekday and hour (`Store.local_sums`: at most lines x 168 rows), so
it costs the same for a quiet day and a busy month, at any size of history. Periods are
local to the hotline's time zone and a call belongs to the period it arrived in (SPEC
§3). A period that does not start or end on a 15-minute boundary is widened to whole
buckets.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from operator import add
from zoneinfo import ZoneInfo

from ivr.domain.rates import Kpi, kpi
from ivr.domain.tally import BUCKET, Tally, bucket_start, rate_counts
from ivr.domain.targets import Targets
from ivr.journal.store import Store


@dataclass(frozen=True, slots=True)
class Slice:
    """Counted calls and the rates they give."""

    tally: Tally  # all line modes together
    by_mode: dict[str, Tally]  # "ivr", "manual": the rates need the split
    kpi: Kpi


@dataclass(frozen=True, slots=True)
class Report:
    start: datetime  # UTC, inclusive
    end: datetime  # UTC, exclusive
    zone: str
    line: str | None
    total: Slice
    per_line: dict[str, Slice]
    by_hour: tuple[Slice, ...]  # local hour of day, 0-23
    by_weekday: tuple[Slice, ...]  # local weekday, Monday = 0
    ring_attempts: dict[tuple[str, str, str], tuple[int, int]]  # see Store.ring_stats

    @property
    def kpi(self) -> Kpi:
        return self.total.kpi

    @property
    def tally(self) -> Tally:
        return self.total.tally


async def report(
    store: Store,
    start: datetime,
    end: datetime,
    *,
    line: str | None = None,
    zone: tzinfo | str = "Asia/Shanghai",
    targets: Targets | None = None,
) -> Report:
    """The KPI report of the calls that arrived in [start, end)."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    first, stop = bucket_start(start), _bucket_end(end)
    month = store.month_of(first, stop, zone)
    if month is not None:  # a whole local month: its own rollup, a few hundred rows
        rows = await store.month_sums(month, line=line)
        rings = await store.month_ring_stats(month, line)
    else:
        rows = await store.local_sums(first, stop, zone, line=line)
        rings = await store.ring_stats(first, stop, line)
    total = _Sums()
    per_line: dict[str, _Sums] = defaultdict(_Sums)
    by_hour = [_Sums() for _ in range(24)]
    by_weekday = [_Sums() for _ in range(7)]
    for row in rows:
        for sums in (total, per_line[row.line], by_hour[row.hour], by_weekday[row.weekday]):
            sums.add(row.mode, row.counters)

    def sliced(sums: _Sums) -> Slice:
        by_mode = sums.tallies()
        tally = sum(by_mode.values(), Tally())
        return Slice(tally, by_mode, kpi(rate_counts(by_mode), targets))

    return Report(
        start=first,
        end=stop,
        zone=str(zone),
        line=line,
        total=sliced(total),
        per_line={name: sliced(sums) for name, sums in sorted(per_line.items())},
        by_hour=tuple(sliced(sums) for sums in by_hour),
        by_weekday=tuple(sliced(sums) for sums in by_weekday),
        ring_attempts=rings,
    )


async def by_node(
    store: Store,
    start: datetime,
    end: datetime,
    *,
    line: str | None = None,
    targets: Targets | None = None,
) -> dict[str, Slice]:
    """The calls of [start, end) split by the Asterisk node that had them (a hotline of
    several nodes; the merged figures are `report`'s). Counted from the calls, exactly
    as the rollup counts them, and rated by the same `kpi`."""
    per_node: dict[str, dict[str, Tally]] = defaultdict(dict)
    for (node, mode), tally in (await store.node_tallies(start, end, line)).items():
        per_node[node][mode] = tally
    return {
        node: Slice(sum(by_mode.values(), Tally()), by_mode, kpi(rate_counts(by_mode), targets))
        for node, by_mode in sorted(per_node.items())
    }


class _Sums:
    """Counters added up column by column, per line mode."""

    def __init__(self) -> None:
        self.counters: dict[str, list[int]] = {}

    def add(self, mode: str, counters: Sequence[int]) -> None:
        current = self.counters.get(mode)
        self.counters[mode] = list(map(add, current, counters)) if current else list(counters)

    def tallies(self) -> dict[str, Tally]:
        return {mode: Tally(*counters) for mode, counters in self.counters.items()}


async def recount(
    store: Store, start: datetime, end: datetime
) -> dict[tuple[datetime, str, str], Tally]:
    """The rollup recounted from the calls table, by (bucket, line, mode), leaving out
    empty tallies: slow, it checks that the rollup is right."""
    counted: dict[tuple[datetime, str, str], Tally] = defaultdict(Tally)
    for record in await store.calls(since=start, until=end, limit=10**9):
        key = (bucket_start(record.arrived_at), record.line, record.mode.value)
        counted[key] = counted[key] + Tally.of(record)
    return {key: tally for key, tally in counted.items() if tally}


# -- periods ----------------------------------------------------------------------------


def day_range(day: date | str, zone: tzinfo | str) -> tuple[datetime, datetime]:
    """A local calendar day as [start, end) in UTC (23 or 25 hours across DST changes)."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    day = date.fromisoformat(day) if isinstance(day, str) else day
    try:
        following = day + timedelta(days=1)
    except OverflowError as exc:
        raise ValueError(f"{day.isoformat()} is out of range") from exc
    return _local_midnight(day, zone), _local_midnight(following, zone)


def month_range(month: str, zone: tzinfo | str) -> tuple[datetime, datetime]:
    """'2026-11' as [start, end) in UTC."""
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    try:
        year, number = (int(part) for part in month.split("-"))
        first = date(year, number, 1)
    except ValueError as exc:
        raise ValueError(f"{month!r} is not a month like 2026-11") from exc
    try:
        following = date(year + number // 12, number % 12 + 1, 1)
    except ValueError as exc:
        raise ValueError(f"{month!r} is out of range") from exc
    return _local_midnight(first, zone), _local_midnight(following, zone)


def today_range(now: datetime, zone: tzinfo | str) -> tuple[datetime, datetime]:
    zone = ZoneInfo(zone) if isinstance(zone, str) else zone
    return day_range(now.astimezone(zone).date(), zone)


def _local_midnight(day: date, zone: tzinfo) -> datetime:
    try:
        return datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    except OverflowError as exc:  # the first or last day a datetime can hold
        raise ValueError(f"{day.isoformat()} is out of range") from exc


def _bucket_end(end: datetime) -> datetime:
    start = bucket_start(end)
    return start if start == end.astimezone(UTC) else start + BUCKET
