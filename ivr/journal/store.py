"""The journal store: events in, call records and the rollups kept up to date, in one
transaction per batch. Async (SQLAlchemy 2); SQLite by default, PostgreSQL supported.

`ingest` is idempotent: events already stored (same key) are ignored, and a call whose
events did not change is not touched. A changed call is re-folded from all its stored
events; the rollup row of its arrival bucket loses the old record's tally and gains
the new one's, so the rollup always equals a recount of `calls`. The all-time totals
(`call_stats_total` ...) take the same changes in the same transaction.

Readers get sums, not rows: `local_sums` adds a period's buckets up in SQL by line, mode
and local weekday and hour (a few hundred rows for a month, whatever the calls), and the
totals are a few rows; so a month's report and a scrape cost the same at any size.

One writer per database (the service's `JournalWriter`) is assumed: on SQLite the write
lock enforces it; on PostgreSQL two concurrent writers folding the same call could race.
"""

from __future__ import annotations

import functools
from collections import OrderedDict, defaultdict
from collections.abc import AsyncIterator, Iterable, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import BigInteger, ColumnElement, Table, and_, cast, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection

from ivr.domain.events import EventKind, JournalEvent
from ivr.domain.nodes import node_of
from ivr.domain.outcomes import FOLD_VERSION, fold, in_time_order
from ivr.domain.record import CallRecord, CountingRules, Outcome
from ivr.domain.tally import BUCKET, Tally, bucket_start, ring_tally
from ivr.journal.engine import WRITE, make_engine
from ivr.journal.migrate import upgrade_engine
from ivr.journal.tables import (
    DAY_KEYS,
    MONTH_KEYS,
    REFUSED_KEYS,
    REFUSED_TOTAL_KEYS,
    RING_KEYS,
    RING_MONTH_KEYS,
    RING_TOTAL_KEYS,
    STAT_KEYS,
    TOTAL_KEYS,
    CallRow,
    EventRow,
    MetaRow,
    call_totals_table,
    day_stats_table,
    month_stats_table,
    record_from_row,
    record_to_row,
    refused_table,
    refused_totals_table,
    ring_month_table,
    ring_stats_table,
    ring_totals_table,
    stats_table,
)

log = structlog.get_logger(__name__)

CHUNK = 500  # keys per IN (...) list
LOST_AFTER = timedelta(hours=2)  # no call lasts this long: its end was not reported

events_table: Table = EventRow.__table__  # type: ignore[assignment]
calls_table: Table = CallRow.__table__  # type: ignore[assignment]
meta_table: Table = MetaRow.__table__  # type: ignore[assignment]


@dataclass(frozen=True, slots=True)
class StatRow:
    bucket_start: datetime
    line: str
    mode: str
    counters: tuple[int, ...]  # in the order of Tally.names()

    @property
    def tally(self) -> Tally:
        return Tally(*self.counters)


@dataclass(frozen=True, slots=True)
class LocalSum:
    """The rollup's counters of a period added up for one line, mode, and local weekday
    (Monday = 0) and hour of arrival."""

    line: str
    mode: str
    weekday: int
    hour: int
    counters: tuple[int, ...]  # in the order of the names asked for (Tally.names())


ROLLUPS = (stats_table, ring_stats_table, refused_table, day_stats_table, month_stats_table,
           ring_month_table, call_totals_table, ring_totals_table, refused_totals_table)
DEFAULT_ZONE = ZoneInfo("Asia/Shanghai")


class Store:
    def __init__(
        self,
        url: str,
        *,
        schema: str | None = None,
        busy_timeout: float = 5.0,
        line_modes: Mapping[str, str] | None = None,
        rules: CountingRules | None = None,
        zone: tzinfo = DEFAULT_ZONE,
    ) -> None:
        self.url = url
        self.schema = schema
        self.busy_timeout = busy_timeout
        self.engine = make_engine(url, schema=schema, busy_timeout=busy_timeout)
        # how calls are folded; a config reload may change these for calls folded later
        self.line_modes: Mapping[str, str] = dict(line_modes or {})
        self.rules = rules or CountingRules()
        # systemname -> node name: which node a call was on, read off its linkedid
        self.nodes: Mapping[str, str] = {}
        self.zone = zone  # the local months, weekdays and hours of the monthly rollups
        self._schema_ready = False
        self._recent = _RecentCalls()

    def twin(self) -> Store:
        """Another store on the same database with its own engine (connections belong to
        the event loop that opened them: a writer on a thread of its own needs its own)."""
        twin = Store(
            self.url, schema=self.schema, busy_timeout=self.busy_timeout,
            line_modes=self.line_modes, rules=self.rules, zone=self.zone,
        )
        twin.nodes = self.nodes
        return twin

    def fold_like(self, other: Store) -> None:
        """Fold by `other`'s line modes, rules, zone and nodes (a reload changed them
        there)."""
        self.line_modes, self.rules, self.zone = other.line_modes, other.rules, other.zone
        self.nodes = other.nodes

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    async def migrate(self, *, refold: bool = True) -> None:
        """Create or upgrade the journal's tables (Alembic, head); with `refold`, records
        folded by other counting rules than these are folded again (the service's
        writer does it; a reading command leaves that to the writer)."""
        await upgrade_engine(self.engine)
        self._schema_ready = True
        if refold:
            await self.refold_if_stale()

    async def refold_if_stale(self) -> int | None:
        """Fold history again if it follows other rules; returns the calls folded."""
        if await self._folded_by() == self.fold_signature:
            return None
        calls = await self.refold()
        log.info("journal.refolded", calls=calls, rules=self.fold_signature)
        return calls

    @property
    def fold_signature(self) -> str:
        """The counting rules stored records follow: the fold's version and settings, and
        the time zone of the monthly rollups."""
        r = self.rules
        return (
            f"{FOLD_VERSION};cadence={r.cadence_seconds:g};"
            f"level={r.service_level_seconds:g};wrapup={r.wrapup_seconds:g};"
            f"zone={self.zone}"
        )

    async def refold(self) -> int:
        """Every call folded again from its stored events, and the rollups rebuilt from
        the new records: history follows the definitions. Returns the calls folded."""
        async with self._writing() as conn:
            for table in (calls_table, *ROLLUPS):
                await conn.execute(delete(table))
            linkedids = list(
                (await conn.execute(select(EventRow.linkedid).distinct())).scalars()
            )
            folded = 0
            for chunk in _chunks(sorted(linkedids)):
                events = await self._events_by_call(conn, list(chunk))
                changes = _RollupChanges(self.zone)
                rows = []
                for call_events in events.values():
                    if not call_events:
                        continue
                    record = fold(call_events, self.line_modes, self.rules)
                    changes.replace(None, record)
                    changes.count_refused(call_events, first_time=False)
                    if record.line:
                        rows.append(self._row(record))
                if rows:
                    await self._upsert_calls(conn, rows)
                await self._add_to_rollups(conn, changes)
                folded += len(rows)
            await self._set_meta(conn, "fold_version", self.fold_signature)
        self._recent = _RecentCalls()
        return folded

    async def _folded_by(self) -> str | None:
        async with self.engine.connect() as conn:
            query = select(MetaRow.value).where(MetaRow.key == "fold_version")
            return (await conn.execute(query)).scalar_one_or_none()

    async def _set_meta(self, conn: AsyncConnection, key: str, value: str) -> None:
        insert = self._insert(meta_table)
        await conn.execute(
            insert.on_conflict_do_update(index_elements=["key"], set_={"value": value}),
            [{"key": key, "value": value}],
        )

    async def close(self) -> None:
        await self.engine.dispose()

    # -- writing ----------------------------------------------------------------------

    async def ingest(self, events: Iterable[JournalEvent]) -> int:
        """Store new events and re-fold the calls they belong to; returns how many of
        the events were new (0 when all had been ingested before)."""
        batch = {event.key: event for event in events}
        if not batch:
            return 0
        if not self._schema_ready:  # a database first reached now (it was down, or new)
            await self.migrate()
        async with self._writing() as conn:
            known = await self._known_keys(conn, list(batch))
            new = [event for key, event in batch.items() if key not in known]
            if not new:
                return 0
            insert = self._insert(events_table).on_conflict_do_nothing()
            await conn.execute(insert, [_event_row(event) for event in new])
            folded = await self._refold(conn, new)
        self._recent.remember(folded)  # committed: now it is what the database holds
        return len(new)

    async def close_lost_calls(self, now: datetime, after: timedelta = LOST_AFTER) -> int:
        """Calls still "in progress" long after they arrived lost their end (an AMI
        outage at the wrong moment): end them at their last event, marked lost."""
        query = (
            select(CallRow.linkedid)
            .where(CallRow.outcome.is_(None), CallRow.arrived_at < now - after)
            .limit(CHUNK)
        )
        async with self.engine.connect() as conn:
            linkedids = list((await conn.execute(query)).scalars())
            last_seen = await self._last_event_times(conn, linkedids)
        endings = [
            JournalEvent(
                linkedid=linkedid,
                kind=EventKind.call_ended,
                at=at,
                source="journal",
                data={"cause": "lost", "lost": True},
            )
            for linkedid, at in last_seen.items()
        ]
        await self.ingest(endings)
        return len(endings)

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            await conn.execution_options(**{WRITE: True})
            async with conn.begin():
                yield conn

    async def _known_keys(self, conn: AsyncConnection, keys: list[str]) -> set[str]:
        known: set[str] = set()
        for chunk in _chunks(keys):
            rows = await conn.execute(select(EventRow.key).where(EventRow.key.in_(chunk)))
            known.update(rows.scalars())
        return known

    async def _refold(
        self, conn: AsyncConnection, new: list[JournalEvent]
    ) -> dict[str, list[JournalEvent]]:
        """Fold again every call with new events; returns each such call's events."""
        arrived: dict[str, list[JournalEvent]] = defaultdict(list)
        for event in new:
            arrived[event.linkedid].append(event)
        linkedids = sorted(arrived)
        before = await self._records(conn, linkedids)
        events = self._recent.events_before(before, arrived)
        unknown = [linkedid for linkedid in linkedids if linkedid not in events]
        events.update(await self._events_by_call(conn, unknown))
        changes = _RollupChanges(self.zone)
        changes.count_refused(new)
        rows = []
        for linkedid in linkedids:
            record = fold(events[linkedid], self.line_modes, self.rules)
            changes.replace(before.get(linkedid), record)
            if record.line:  # a channel that reached no line is no call (refused)
                rows.append(self._row(record))
        if rows:
            await self._upsert_calls(conn, rows)
        await self._add_to_rollups(conn, changes)
        return events

    def _row(self, record: CallRecord) -> dict[str, Any]:
        return record_to_row(record, node_of(record.linkedid, self.nodes))

    async def calls_in_progress_on(self, node: str) -> list[str]:
        """The linkedids of the calls on `node` whose end the journal does not have."""
        query = select(CallRow.linkedid).where(CallRow.outcome.is_(None), CallRow.node == node)
        async with self.engine.connect() as conn:
            return list((await conn.execute(query)).scalars())

    async def _upsert_calls(self, conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
        await conn.execute(_upsert(self.dialect, calls_table, ("linkedid",), replace=True), rows)

    async def _add_to_rollups(self, conn: AsyncConnection, changes: _RollupChanges) -> None:
        calls = [
            {"bucket_start": start, "line": line, "mode": mode, **tally.as_dict()}
            for (start, line, mode), tally in changes.calls.items()
            if tally
        ]
        rings = [
            dict(zip(RING_KEYS, key, strict=True), attempts=count, ring_ms_sum=ms)
            for key, (count, ms) in changes.rings.items()
            if count or ms
        ]
        refused = [
            dict(zip(REFUSED_KEYS, key, strict=True), refused=count)
            for key, count in changes.refused.items()
        ]
        for table, keys, rows in (
            (stats_table, STAT_KEYS, calls),
            (ring_stats_table, RING_KEYS, rings),
            (refused_table, REFUSED_KEYS, refused),
            (day_stats_table, DAY_KEYS, changes.day_rows()),
            (month_stats_table, MONTH_KEYS, changes.month_rows()),
            (ring_month_table, RING_MONTH_KEYS, changes.ring_month_rows()),
            (call_totals_table, TOTAL_KEYS, _without_bucket(calls, TOTAL_KEYS)),
            (ring_totals_table, RING_TOTAL_KEYS, _without_bucket(rings, RING_TOTAL_KEYS)),
            (refused_totals_table, REFUSED_TOTAL_KEYS,
             _without_bucket(refused, REFUSED_TOTAL_KEYS)),
        ):
            if rows:
                await conn.execute(_upsert(self.dialect, table, tuple(keys)), rows)

    def _insert(self, table: Table) -> Any:
        return _insert_of(self.dialect, table)

    # -- reading ----------------------------------------------------------------------

    async def call(self, linkedid: str) -> CallRecord | None:
        async with self.engine.connect() as conn:
            return (await self._records(conn, [linkedid])).get(linkedid)

    async def calls(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        line: str | None = None,
        outcome: Outcome | str | None = None,
        callback_needed: bool | None = None,
        in_progress: bool | None = None,
        limit: int = 50,
    ) -> list[CallRecord]:
        """Calls by arrival, newest first."""
        query = select(calls_table).order_by(CallRow.arrived_at.desc()).limit(limit)
        if since is not None:
            query = query.where(CallRow.arrived_at >= since)
        if until is not None:
            query = query.where(CallRow.arrived_at < until)
        if line is not None:
            query = query.where(CallRow.line == line)
        if outcome is not None:
            query = query.where(CallRow.outcome == Outcome(outcome).value)
        if callback_needed is not None:
            query = query.where(CallRow.callback_needed.is_(callback_needed))
        if in_progress is not None:
            ongoing = CallRow.outcome.is_(None)
            query = query.where(ongoing if in_progress else ~ongoing)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings()
            return [record_from_row(row) for row in rows]

    async def node_tallies(
        self, start: datetime, end: datetime, line: str | None = None
    ) -> dict[tuple[str, str], Tally]:
        """The calls that arrived in [start, end) counted by (node, line mode): from the
        calls themselves, since the rollup keeps no node (only several nodes have one)."""
        query = (
            select(calls_table)
            .where(CallRow.node.is_not(None), CallRow.arrived_at >= start,
                   CallRow.arrived_at < end)
            .execution_options(yield_per=CHUNK)
        )
        if line is not None:
            query = query.where(CallRow.line == line)
        counted: dict[tuple[str, str], Tally] = defaultdict(Tally)
        async with self.engine.connect() as conn:
            result = await conn.stream(query)
            async for row in result.mappings():
                record = record_from_row(row)
                key = (str(row["node"]), record.mode.value)
                counted[key] = counted[key] + Tally.of(record)
        return dict(counted)

    async def events_of(self, linkedid: str) -> list[JournalEvent]:
        async with self.engine.connect() as conn:
            return (await self._events_by_call(conn, [linkedid]))[linkedid]

    async def events_of_calls(self, linkedids: Sequence[str]) -> dict[str, list[JournalEvent]]:
        """The stored events of these calls (an empty list for a call not held)."""
        async with self.engine.connect() as conn:
            return await self._events_by_call(conn, list(linkedids))

    async def meta(self, key: str) -> str | None:
        """A value kept beside the journal (e.g. a reconciliation checkpoint)."""
        async with self.engine.connect() as conn:
            query = select(MetaRow.value).where(MetaRow.key == key)
            return (await conn.execute(query)).scalar_one_or_none()

    async def set_meta(self, key: str, value: str) -> None:
        async with self._writing() as conn:
            await self._set_meta(conn, key, value)

    async def stats(
        self, start: datetime, end: datetime, line: str | None = None
    ) -> list[StatRow]:
        """Rollup rows of the buckets that start in [start, end)."""
        query = select(stats_table).where(
            stats_table.c.bucket_start >= start, stats_table.c.bucket_start < end
        )
        if line is not None:
            query = query.where(stats_table.c.line == line)
        async with self.engine.connect() as conn:
            result = await conn.execute(query)
            return [StatRow(row[0], row[1], row[2], tuple(map(int, row[3:]))) for row in result]

    async def local_sums(
        self,
        start: datetime,
        end: datetime,
        zone: tzinfo,
        *,
        line: str | None = None,
        names: Sequence[str] = Tally.names(),
    ) -> list[LocalSum]:
        """The counters `names` of the calls that arrived in [start, end), summed in SQL
        by line, mode and local weekday and hour of arrival: from the daily rollup when
        the period is whole local days of the store's zone, else from the buckets."""
        days = self.days_of(start, end, zone)
        if days is not None:
            return await self._day_sums(*days, line=line, names=names)
        return await self.bucket_sums(start, end, zone, line=line, names=names)

    async def bucket_sums(
        self,
        start: datetime,
        end: datetime,
        zone: tzinfo,
        *,
        line: str | None = None,
        names: Sequence[str] = Tally.names(),
    ) -> list[LocalSum]:
        """`local_sums` from the 15-minute buckets that start in [start, end). Buckets
        are whole quarter hours of UTC and every zone's offset is a whole number of
        quarter hours, so a bucket lies in one local hour; the period is cut where the
        zone's offset changes (daylight saving), each piece summed with its own offset."""
        t = stats_table
        sums: dict[tuple[str, str, int, int], list[int]] = {}
        for piece_start, piece_end, offset in offset_spans(start, end, zone):
            local = self._epoch(t.c.bucket_start) + offset
            weekday = ((local // 86400) + 3) % 7  # 1970-01-01 was a Thursday
            hour = (local // 3600) % 24
            query = (
                select(t.c.line, t.c.mode, weekday, hour, *(func.sum(t.c[n]) for n in names))
                .where(t.c.bucket_start >= piece_start, t.c.bucket_start < piece_end)
                .group_by(t.c.line, t.c.mode, weekday, hour)
            )
            if line is not None:
                query = query.where(t.c.line == line)
            async with self.engine.connect() as conn:
                for row in await conn.execute(query):
                    key = (row[0], row[1], int(row[2]), int(row[3]))
                    values = [int(value or 0) for value in row[4:]]
                    old = sums.get(key)
                    sums[key] = [a + b for a, b in zip(old, values, strict=True)] if old else values
        return [LocalSum(*key, tuple(values)) for key, values in sorted(sums.items())]

    def days_of(self, start: datetime, end: datetime, zone: tzinfo) -> tuple[str, str] | None:
        """The local days [first, last) that [start, end) is, when the daily rollup holds
        them (`zone` is the store's zone and both ends are local midnights), else None."""
        if str(zone) != str(self.zone) or end <= start:
            return None
        first, last = start.astimezone(self.zone), end.astimezone(self.zone)
        if not (_is_midnight(first) and _is_midnight(last)):
            return None
        return f"{first:%Y-%m-%d}", f"{last:%Y-%m-%d}"

    async def _day_sums(
        self, first: str, last: str, *, line: str | None, names: Sequence[str]
    ) -> list[LocalSum]:
        t = day_stats_table
        query = (
            select(t.c.line, t.c.mode, t.c.weekday, t.c.hour, *(func.sum(t.c[n]) for n in names))
            .where(t.c.day >= first, t.c.day < last)
            .group_by(t.c.line, t.c.mode, t.c.weekday, t.c.hour)
            .order_by(t.c.line, t.c.mode, t.c.weekday, t.c.hour)
        )
        if line is not None:
            query = query.where(t.c.line == line)
        async with self.engine.connect() as conn:
            return [
                LocalSum(row[0], row[1], int(row[2]), int(row[3]),
                         tuple(int(value or 0) for value in row[4:]))
                for row in await conn.execute(query)
            ]

    def month_of(self, start: datetime, end: datetime, zone: tzinfo) -> str | None:
        """The local month [start, end) is, when the monthly rollups hold it (`zone` is
        the store's zone and the period is that whole month), else None."""
        if str(zone) != str(self.zone):
            return None
        local = start.astimezone(self.zone)
        if (local.day, local.hour, local.minute, local.second, local.microsecond) != (
            1, 0, 0, 0, 0
        ):
            return None
        following = date(local.year + local.month // 12, local.month % 12 + 1, 1)
        month_end = datetime.combine(following, time(), tzinfo=self.zone).astimezone(UTC)
        return f"{local:%Y-%m}" if end == month_end else None

    async def month_sums(
        self, month: str, *, line: str | None = None, names: Sequence[str] = Tally.names()
    ) -> list[LocalSum]:
        """`local_sums` of a whole local month (see `month_of`), from the monthly rollup."""
        t = month_stats_table
        query = select(t.c.line, t.c.mode, t.c.weekday, t.c.hour, *(t.c[n] for n in names))
        query = query.where(t.c.month == month).order_by(t.c.line, t.c.mode, t.c.weekday, t.c.hour)
        if line is not None:
            query = query.where(t.c.line == line)
        async with self.engine.connect() as conn:
            return [
                LocalSum(row[0], row[1], int(row[2]), int(row[3]), tuple(map(int, row[4:])))
                for row in await conn.execute(query)
            ]

    async def month_ring_stats(
        self, month: str, line: str | None = None
    ) -> dict[tuple[str, str, str], tuple[int, int]]:
        """`ring_stats` of a whole local month (see `month_of`), from the monthly rollup."""
        t = ring_month_table
        return await self._ring_sums(t, t.c.month == month, line)

    def _epoch(self, column: ColumnElement[Any]) -> ColumnElement[int]:
        """Seconds since 1970 of a stored UTC time, as an integer, in SQL."""
        if self.dialect == "sqlite":
            return func.unixepoch(column, type_=BigInteger)
        return cast(func.extract("epoch", column), BigInteger)

    async def ring_stats(
        self, start: datetime, end: datetime, line: str | None = None
    ) -> dict[tuple[str, str, str], tuple[int, int]]:
        """Ring attempts of calls that arrived in [start, end), by (who, role, result):
        (attempts, milliseconds rung)."""
        t = ring_stats_table
        return await self._ring_sums(
            t, and_(t.c.bucket_start >= start, t.c.bucket_start < end), line
        )

    async def _ring_sums(
        self, t: Table, where: ColumnElement[bool], line: str | None
    ) -> dict[tuple[str, str, str], tuple[int, int]]:
        """Ring attempts and milliseconds rung by (who, role, result), summed over the
        rows of a ring rollup that `where` selects."""
        query = (
            select(t.c.who, t.c.role, t.c.result, func.sum(t.c.attempts), func.sum(t.c.ring_ms_sum))
            .where(where)
            .group_by(t.c.who, t.c.role, t.c.result)
        )
        if line is not None:
            query = query.where(t.c.line == line)
        async with self.engine.connect() as conn:
            rows = await conn.execute(query)
            return {
                (who, role, result): (int(n), int(ms))
                for who, role, result, n, ms in rows
                if n or ms
            }

    async def totals(self) -> dict[tuple[str, str], Tally]:
        """All-time counters by (line, mode): what the exporter's `_total` counters show."""
        t = call_totals_table
        query = select(t.c.line, t.c.mode, *(t.c[name] for name in Tally.names()))
        async with self.engine.connect() as conn:
            rows = await conn.execute(query)
            return {(row[0], row[1]): Tally(*(int(value) for value in row[2:])) for row in rows}

    async def ring_totals(self) -> dict[tuple[str, str, str], tuple[int, int]]:
        """All-time ring attempts by (who, role, result): (attempts, milliseconds rung)."""
        t = ring_totals_table
        query = select(
            t.c.who, t.c.role, t.c.result, func.sum(t.c.attempts), func.sum(t.c.ring_ms_sum)
        ).group_by(t.c.who, t.c.role, t.c.result)
        async with self.engine.connect() as conn:
            rows = await conn.execute(query)
            return {
                (who, role, result): (int(n), int(ms))
                for who, role, result, n, ms in rows
                if n or ms
            }

    async def refused_totals(self) -> dict[str, int]:
        """All-time refused INVITEs by reason."""
        t = refused_totals_table
        query = select(t.c.reason, t.c.refused).where(t.c.refused != 0)
        async with self.engine.connect() as conn:
            return {reason: int(n) for reason, n in await conn.execute(query)}

    async def count_events(self) -> int:
        async with self.engine.connect() as conn:
            count = await conn.execute(select(func.count()).select_from(EventRow))
            return int(count.scalar_one())

    async def _records(
        self, conn: AsyncConnection, linkedids: list[str]
    ) -> dict[str, CallRecord]:
        records: dict[str, CallRecord] = {}
        for chunk in _chunks(linkedids):
            rows = await conn.execute(select(calls_table).where(CallRow.linkedid.in_(chunk)))
            records.update((row["linkedid"], record_from_row(row)) for row in rows.mappings())
        return records

    async def _events_by_call(
        self, conn: AsyncConnection, linkedids: list[str]
    ) -> dict[str, list[JournalEvent]]:
        events: dict[str, list[JournalEvent]] = {linkedid: [] for linkedid in linkedids}
        for chunk in _chunks(linkedids):
            query = (
                select(events_table)
                .where(EventRow.linkedid.in_(chunk))
                .order_by(EventRow.at, EventRow.id)
            )
            for row in (await conn.execute(query)).mappings():
                event = _event_of_row(row)
                if event is not None:
                    events[event.linkedid].append(event)
        return events

    async def _last_event_times(
        self, conn: AsyncConnection, linkedids: list[str]
    ) -> dict[str, datetime]:
        last: dict[str, datetime] = {}
        for chunk in _chunks(linkedids):
            query = (
                select(EventRow.linkedid, func.max(EventRow.at).label("at"))
                .where(EventRow.linkedid.in_(chunk))
                .group_by(EventRow.linkedid)
            )
            for linkedid, at in await conn.execute(query):
                # func.max loses the column type on SQLite: it comes back as text
                last[linkedid] = _as_utc(at)
        return last


class _RecentCalls:
    """The events of the calls this store wrote lately, so that a call's next event does
    not re-read (and re-decode) what was written a moment ago. A cached call is trusted
    only while its stored record still counts as many events as the cache holds, so a
    write from elsewhere is noticed and read from the database instead."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._calls: OrderedDict[str, list[JournalEvent]] = OrderedDict()

    def events_before(
        self, stored: Mapping[str, CallRecord], arrived: Mapping[str, list[JournalEvent]]
    ) -> dict[str, list[JournalEvent]]:
        """All events of the calls known here: the stored ones and those just arrived."""
        known: dict[str, list[JournalEvent]] = {}
        for linkedid, new in arrived.items():
            record = stored.get(linkedid)
            cached = self._calls.get(linkedid)
            if record is None and cached is not None:
                known[linkedid] = cached + new  # a channel of no line (never stored)
            elif record is None and any(e.kind in _FIRST_EVENTS for e in new):
                known[linkedid] = list(new)  # a new call: nothing stored before
            elif record is not None and cached is not None and len(cached) == record.event_count:
                known[linkedid] = cached + new
        return known

    def remember(self, calls: Mapping[str, list[JournalEvent]]) -> None:
        for linkedid, events in calls.items():
            self._calls[linkedid] = list(in_time_order(events))
            self._calls.move_to_end(linkedid)
        while len(self._calls) > self.size:
            self._calls.popitem(last=False)


_FIRST_EVENTS = frozenset({EventKind.call_arrived, EventKind.call_refused})


class _RollupChanges:
    """What a batch changes in the rollups: each re-folded call moves its old record's
    contribution out and its new one in (possibly to another bucket or line)."""

    def __init__(self, zone: tzinfo) -> None:
        self.zone = zone
        self.calls: dict[tuple[datetime, str, str], Tally] = defaultdict(Tally)
        self.rings: dict[tuple[datetime, str, str, str, str], tuple[int, int]] = {}
        self.refused: dict[tuple[datetime, str], int] = defaultdict(int)

    def count_refused(self, new: Iterable[JournalEvent], *, first_time: bool = True) -> None:
        """INVITEs for no hotline line, counted by reason; logged as security events the
        first time they are seen (not when history is folded again)."""
        for event in new:
            if event.kind is not EventKind.call_refused or event.data.get("line"):
                continue  # a call of a line is never a refused INVITE
            reason = str(event.data.get("reason") or "unknown")[:32]
            self.refused[(bucket_start(event.at), reason)] += 1
            if not first_time:
                continue
            log.warning(
                "security.refused_invite",
                reason=reason,
                number=event.data.get("number"),
                caller=event.data.get("caller"),
                linkedid=event.linkedid,
                at=event.at.isoformat(),
            )

    def replace(self, old: CallRecord | None, new: CallRecord) -> None:
        if old is not None:
            self._add(old, -1)
        self._add(new, +1)

    def _add(self, record: CallRecord, sign: int) -> None:
        start = bucket_start(record.arrived_at)
        key = (start, record.line, record.mode.value)
        tally = Tally.of(record)
        self.calls[key] = self.calls[key] + tally if sign > 0 else self.calls[key] - tally
        for (who, role, result), (count, ms) in ring_tally(record).items():
            ring_key = (start, record.line, who, role, result)
            old_count, old_ms = self.rings.get(ring_key, (0, 0))
            self.rings[ring_key] = (old_count + sign * count, old_ms + sign * ms)

    def day_rows(self) -> list[dict[str, Any]]:
        """The calls' changes by local day and hour (a bucket lies in one)."""
        summed: dict[tuple[str, str, str, int], Tally] = defaultdict(Tally)
        weekdays: dict[str, int] = {}
        for (start, line, mode), tally in self.calls.items():
            local = start.astimezone(self.zone)
            day = f"{local:%Y-%m-%d}"
            weekdays[day] = local.weekday()
            key = (day, line, mode, local.hour)
            summed[key] = summed[key] + tally
        return [
            {**dict(zip(DAY_KEYS, key, strict=True)), "weekday": weekdays[key[0]],
             **tally.as_dict()}
            for key, tally in summed.items()
            if tally
        ]

    def month_rows(self) -> list[dict[str, Any]]:
        """The calls' changes by local month, weekday and hour (a bucket lies in one)."""
        summed: dict[tuple[str, str, str, int, int], Tally] = defaultdict(Tally)
        for (start, line, mode), tally in self.calls.items():
            local = start.astimezone(self.zone)
            key = (f"{local:%Y-%m}", line, mode, local.weekday(), local.hour)
            summed[key] = summed[key] + tally
        return [
            {**dict(zip(MONTH_KEYS, key, strict=True)), **tally.as_dict()}
            for key, tally in summed.items()
            if tally
        ]

    def ring_month_rows(self) -> list[dict[str, Any]]:
        summed: dict[tuple[str, str, str, str, str], tuple[int, int]] = {}
        for (start, line, who, role, result), (count, ms) in self.rings.items():
            key = (f"{start.astimezone(self.zone):%Y-%m}", line, who, role, result)
            old = summed.get(key, (0, 0))
            summed[key] = (old[0] + count, old[1] + ms)
        return [
            dict(zip(RING_MONTH_KEYS, key, strict=True), attempts=count, ring_ms_sum=ms)
            for key, (count, ms) in summed.items()
            if count or ms
        ]


def _without_bucket(rows: list[dict[str, Any]], keys: Sequence[str]) -> list[dict[str, Any]]:
    """Rollup changes added up over their buckets, by `keys`: the totals' changes."""
    summed: dict[tuple[Any, ...], dict[str, Any]] = {}
    for row in rows:
        key = tuple(row[name] for name in keys)
        total = summed.get(key)
        if total is None:
            summed[key] = {name: value for name, value in row.items() if name != "bucket_start"}
            continue
        for name, value in row.items():
            if name not in keys and name != "bucket_start":
                total[name] += value
    return list(summed.values())


def offset_spans(
    start: datetime, end: datetime, zone: tzinfo
) -> list[tuple[datetime, datetime, int]]:
    """[start, end) cut where `zone`'s UTC offset changes: (from, to, offset seconds).
    Changes fall on quarter hours of UTC; days are probed, a changing day bisected."""
    spans: list[tuple[datetime, datetime, int]] = []
    cursor = start
    while cursor < end:
        offset = _offset(cursor, zone)
        probe = min(cursor + timedelta(days=1), end)
        while probe < end and _offset(probe, zone) == offset:
            probe = min(probe + timedelta(days=1), end)
        if probe < end or _offset(end - BUCKET, zone) != offset:
            low, high = cursor, probe  # offset(low) == offset, the change is in (low, high]
            while high - low > BUCKET:
                middle = bucket_start(low + (high - low) / 2)
                middle = middle if middle > low else low + BUCKET
                if _offset(middle, zone) == offset:
                    low = middle
                else:
                    high = middle
            probe = high
        spans.append((cursor, probe, offset))
        cursor = probe
    return spans


def _is_midnight(at: datetime) -> bool:
    return (at.hour, at.minute, at.second, at.microsecond) == (0, 0, 0, 0)


def _offset(at: datetime, zone: tzinfo) -> int:
    delta = at.astimezone(zone).utcoffset()
    return int(delta.total_seconds()) if delta is not None else 0


def _event_row(event: JournalEvent) -> dict[str, Any]:
    return {
        "key": event.key,
        "linkedid": event.linkedid,
        "kind": event.kind.value,
        "at": event.at,
        "source": event.source,
        "data": event.data,
    }


def _event_of_row(row: Mapping[Any, Any]) -> JournalEvent | None:
    try:
        kind = EventKind(row["kind"])
    except ValueError:  # a kind this version does not know: keep it, do not fold it
        return None
    return JournalEvent(
        linkedid=row["linkedid"],
        kind=kind,
        at=row["at"],
        source=row["source"],
        data=dict(row["data"] or {}),
        key=row["key"],
    )


def _as_utc(value: datetime | str) -> datetime:
    at = datetime.fromisoformat(value) if isinstance(value, str) else value
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]


def _insert_of(dialect: str, table: Table) -> Any:
    return (postgresql if dialect == "postgresql" else sqlite).insert(table)


@functools.cache
def _upsert(dialect: str, table: Table, keys: tuple[str, ...], replace: bool = False) -> Any:
    """The INSERT ... ON CONFLICT of `table` by `keys`: every other column replaced, or
    (a rollup) added up. Built once per table: the writer runs it for every batch, and
    building it (with its cache key) again each time cost it more than the rows did."""
    insert = _insert_of(dialect, table)
    others = [column for column in table.columns if column.name not in keys]
    if replace:
        set_ = {column.name: insert.excluded[column.name] for column in others}
    else:  # counters add up; the day's weekday is a fact of the key, set as it is
        set_ = {
            column.name: insert.excluded[column.name] if column.name == "weekday"
            else column + insert.excluded[column.name]
            for column in others
        }
    return insert.on_conflict_do_update(index_elements=list(keys), set_=set_)
