"""The journal store on SQLite and, with HOTLINE_TEST_DATABASE_URL set, on PostgreSQL
(each test in a schema of its own): ingestion is idempotent, batches may split and
reorder a call's events freely, and the rollup always equals a recount of the calls.

The `database` and `store` fixtures are shared with the writer tests.
"""

from __future__ import annotations

import os
import random
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

from ivr.domain.events import EventKind, JournalEvent
from ivr.domain.outcomes import fold
from ivr.domain.record import AbandonPlace, CountingRules, Outcome
from ivr.domain.tally import Tally, ring_tally
from ivr.journal.migrate import VERSION_TABLE
from ivr.journal.queries import day_range, month_range, recount, report, today_range
from ivr.journal.store import Store, offset_spans
from ivr.journal.tables import Base
from tests.unit.test_outcomes import (
    MODES,
    T0,
    CallScript,
    answered_by_agent,
    night_transfer,
)

PG_URL = os.environ.get("HOTLINE_TEST_DATABASE_URL", "")
SHANGHAI = ZoneInfo("Asia/Shanghai")
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgresql",
        marks=[pytest.mark.postgres,
               pytest.mark.skipif(not PG_URL, reason="HOTLINE_TEST_DATABASE_URL is not set")],
    ),
]


@dataclass
class Database:
    url: str
    schema: str | None = None

    def store(self, **options: Any) -> Store:
        options.setdefault("line_modes", MODES)
        return Store(self.url, schema=self.schema, **options)


@pytest.fixture(params=BACKENDS)
async def database(request: pytest.FixtureRequest, tmp_path: Any) -> AsyncIterator[Database]:
    if request.param == "sqlite":
        yield Database(f"sqlite+aiosqlite:///{tmp_path}/journal.sqlite3")
        return
    schema = f"hotline_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(PG_URL)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield Database(PG_URL, schema)
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


@pytest.fixture
async def store(database: Database) -> AsyncIterator[Store]:
    store = database.store()
    await store.migrate()
    yield store
    await store.close()


def a_day_of_calls(count: int = 40, seed: int = 7, start: datetime = T0) -> list[CallScript]:
    """Calls of every kind spread over a few hours, some still in progress."""
    rng = random.Random(seed)
    calls = []
    for n in range(count):
        linkedid = f"1762135200.{n}"
        at = start + timedelta(minutes=rng.randrange(0, 6 * 60), seconds=rng.random() * 60)
        kind = n % 8
        if kind in (0, 1, 2):
            call = answered_by_agent(linkedid, ring=rng.uniform(0, 40), start=at)
        elif kind == 3:
            call = _moved(night_transfer(linkedid, answered=True), at)
        elif kind == 4:
            call = _moved(night_transfer(linkedid, answered=False), at).ends(70.0)
        elif kind == 5:
            call = CallScript(linkedid, start=at).arrives().menu().asks_for_person(at=10.0)
            call.at(10 + rng.uniform(1, 90), EventKind.queue_abandoned).ends(100.0)
        elif kind == 6:
            call = CallScript(linkedid, line="legacy", start=at).arrives()
            call.at(0.01, EventKind.call_rejected_busy, line="legacy").ends(0.2, cause="17")
        else:
            call = CallScript(linkedid, start=at).arrives().menu().asks_for_person(at=10.0)
            if n % 16 == 7:
                call.ends(300.0)  # a caller who waited, then hung up
        calls.append(call)
    return calls


def _moved(call: CallScript, start: datetime) -> CallScript:
    moved = CallScript(call.linkedid, call.line, start)
    for event in call.events:
        offset = (event.at - call.start).total_seconds()
        moved.at(offset, event.kind, event.source, **event.data)
    return moved


def all_events(calls: list[CallScript]) -> list[JournalEvent]:
    return [event for call in calls for event in call.events]


async def rollup(store: Store) -> dict[tuple[datetime, str, str], Tally]:
    rows = await store.stats(T0 - timedelta(days=40), T0 + timedelta(days=40))
    return {(row.bucket_start, row.line, row.mode): row.tally for row in rows if any(row.counters)}


# -- idempotency and order --------------------------------------------------------------


async def test_ingesting_the_same_events_twice_changes_nothing(store: Store) -> None:
    events = all_events(a_day_of_calls())
    assert await store.ingest(events) == len(events)
    first_report = await report(store, *day_range("2026-11-03", SHANGHAI), zone=SHANGHAI)
    first_calls = await store.calls(limit=1000)

    assert await store.ingest(events) == 0
    assert await store.ingest(list(reversed(events))[:17]) == 0

    again = await report(store, *day_range("2026-11-03", SHANGHAI), zone=SHANGHAI)
    assert again.tally == first_report.tally
    assert again.kpi == first_report.kpi
    assert await store.calls(limit=1000) == first_calls
    assert await store.count_events() == len(events)


async def test_events_split_over_batches_in_any_order_give_the_same_records(
    store: Store,
) -> None:
    calls = a_day_of_calls(seed=11)
    events = all_events(calls)
    rng = random.Random(3)
    noisy = events + rng.sample(events, len(events) // 3)
    rng.shuffle(noisy)
    while noisy:
        size = rng.randrange(1, 60)
        await store.ingest(noisy[:size])
        noisy = noisy[size:]
    for call in calls:
        assert await store.call(call.linkedid) == fold(call.events, MODES)
    assert await rollup(store) == await recount(
        store, T0 - timedelta(days=1), T0 + timedelta(days=1)
    )


async def test_the_rollup_follows_calls_from_in_progress_to_their_outcome(store: Store) -> None:
    calls = a_day_of_calls(count=24, seed=5)
    events = all_events(calls)
    cut = {call.linkedid: len(call.events) // 2 for call in calls}
    early = [e for call in calls for e in call.events[: cut[call.linkedid]]]
    late = [e for call in calls for e in call.events[cut[call.linkedid]:]]
    await store.ingest(early)
    period = day_range("2026-11-03", SHANGHAI)
    midway = await report(store, *period, zone=SHANGHAI)
    assert midway.tally.in_progress > 0
    assert await rollup(store) == await recount(store, *period)

    await store.ingest(late)
    done = await report(store, *period, zone=SHANGHAI)
    expected = sum((Tally.of(fold(c.events, MODES)) for c in calls), Tally())
    assert done.tally == expected
    assert done.tally.offered + done.tally.in_progress == len(calls)
    assert await rollup(store) == await recount(store, *period)
    assert await store.count_events() == len(events)


async def test_a_late_arrival_event_moves_the_call_to_the_bucket_it_arrived_in(
    store: Store,
) -> None:
    start = datetime(2026, 11, 3, 1, 59, 59, 990000, tzinfo=UTC)  # bucket 01:45, the rest 02:00
    call = answered_by_agent(start=start)
    arrival, rest = call.events[0], call.events[1:]
    await store.ingest(rest)
    assert set(await rollup(store)) == {(datetime(2026, 11, 3, 2, 0, tzinfo=UTC), "main", "ivr")}
    await store.ingest([arrival])
    assert set(await rollup(store)) == {
        (datetime(2026, 11, 3, 1, 45, tzinfo=UTC), "main", "ivr")
    }
    record = await store.call(call.linkedid)
    assert record is not None and record.arrived_at == start and record.caller == "13800001111"


async def test_a_call_written_to_by_another_store_is_read_again_not_taken_from_memory(
    database: Database, store: Store
) -> None:
    """The store keeps recent calls' events in memory; a second writer (which the
    service does not have, but an operator's script might) must not make it miscount."""
    other = database.store()
    events = answered_by_agent("shared").events
    try:
        for index, event in enumerate(events):
            await (store if index % 2 else other).ingest([event])
        assert await store.call("shared") == fold(events, MODES)
        assert await rollup(store) == await recount(store, T0 - timedelta(1), T0 + timedelta(1))
    finally:
        await other.close()


# -- reports ----------------------------------------------------------------------------------


async def test_month_and_day_reports_follow_the_local_time_zone(store: Store) -> None:
    last_of_november = datetime(2026, 11, 30, 15, 59, 50, tzinfo=UTC)  # 23:59:50 local
    first_of_december = datetime(2026, 11, 30, 16, 0, 10, tzinfo=UTC)  # 00:00:10 local
    await store.ingest(answered_by_agent("nov", start=last_of_november, ring=20).events)
    await store.ingest(answered_by_agent("dec", start=first_of_december, ring=3).events)

    november = await report(store, *month_range("2026-11", SHANGHAI), zone=SHANGHAI)
    december = await report(store, *month_range("2026-12", SHANGHAI), zone=SHANGHAI)
    assert (november.tally.offered, december.tally.offered) == (1, 1)
    assert november.by_hour[23].tally.offered == 1
    assert november.by_weekday[0].tally.offered == 1  # Monday 30 November
    assert december.by_weekday[1].tally.offered == 1
    assert november.kpi.within_three_rings_rate.value == 0.0
    assert december.kpi.within_three_rings_rate.value == 1.0

    in_utc = await report(store, *month_range("2026-11", "UTC"), zone="UTC")
    assert in_utc.tally.offered == 2
    day = await report(store, *day_range("2026-12-01", SHANGHAI), zone=SHANGHAI)
    assert day.tally.offered == 1
    today = await report(store, *today_range(first_of_december, SHANGHAI), zone=SHANGHAI)
    assert today.tally == day.tally


async def test_a_half_hour_time_zone_splits_its_days_exactly(store: Store) -> None:
    """Both calls arrive in the same UTC hour, on two different local days in India."""
    kolkata = ZoneInfo("Asia/Kolkata")
    late = datetime(2026, 10, 31, 18, 20, tzinfo=UTC)  # 23:50 on 31 October, local
    early = datetime(2026, 10, 31, 18, 40, tzinfo=UTC)  # 00:10 on 1 November, local
    await store.ingest(answered_by_agent("late", start=late).events)
    await store.ingest(answered_by_agent("early", start=early).events)
    october = await report(store, *month_range("2026-10", kolkata), zone=kolkata)
    november = await report(store, *month_range("2026-11", kolkata), zone=kolkata)
    assert (october.tally.offered, november.tally.offered) == (1, 1)
    assert november.by_hour[0].tally.offered == 1


async def test_a_report_shows_every_part_of_spec_section_3(store: Store) -> None:
    await store.ingest(all_events(a_day_of_calls(count=48, seed=2)))
    result = await report(store, *day_range("2026-11-03", SHANGHAI), zone=SHANGHAI)
    tally = result.tally
    assert set(result.per_line) == {"main", "legacy"}
    assert result.per_line["legacy"].kpi.manual_answer_rate.denominator == 6
    assert result.per_line["legacy"].kpi.auto_answer_rate.value is None
    assert sum(tally.rings().values()) == tally.answered_by_person
    assert tally.answer_count == tally.answered_by_person
    assert sum(count for count, _ in tally.abandoned().values()) == tally.outcome_abandoned
    assert sum(tally.oncall().values()) == 12
    assert sum(tally.outcomes().values()) == tally.offered
    # the only calls nobody answered were busy ones: judged apart from no-answer
    assert tally.outcome_busy > 0
    assert result.kpi.no_answer_rate.numerator == 0
    assert result.kpi.busy_rate.numerator == tally.outcome_busy
    assert sum(s.tally.offered for s in result.by_hour) == tally.offered
    assert sum(s.tally.offered for s in result.by_weekday) == tally.offered
    quantile = tally.answer_quantile(0.5)
    assert quantile is not None and 0 < quantile <= 45
    attempts = result.ring_attempts
    assert attempts[("Li Lei", "oncall", "noanswer")] == (12, 12 * 20_000)
    assert attempts[("Zhao Min", "oncall", "busy")][0] == 6


async def test_a_line_report_counts_that_line_only(store: Store) -> None:
    await store.ingest(all_events(a_day_of_calls(count=48, seed=2)))
    period = day_range("2026-11-03", SHANGHAI)
    whole = await report(store, *period, zone=SHANGHAI)
    legacy = await report(store, *period, zone=SHANGHAI, line="legacy")
    assert legacy.tally == whole.per_line["legacy"].tally
    assert set(legacy.per_line) == {"legacy"}


async def test_all_time_totals_by_line_and_mode(store: Store) -> None:
    await store.ingest(all_events(a_day_of_calls(count=16)))
    totals = await store.totals()
    assert set(totals) == {("main", "ivr"), ("legacy", "manual")}
    assert totals[("legacy", "manual")].outcome_busy == 2


@pytest.mark.parametrize(
    ("period", "month"),
    [("2026-02-30", False), ("0001-01-01", False), ("9999-12-31", False), ("2026-13", True),
     ("2026-1x", True), ("0001-01", True), ("9999-12", True)],
)
def test_impossible_periods_are_value_errors(period: str, month: bool) -> None:
    with pytest.raises(ValueError):
        (month_range if month else day_range)(period, SHANGHAI)


def test_a_local_day_across_a_daylight_saving_change_is_23_hours() -> None:
    start, end = day_range("2026-03-08", "America/New_York")
    assert end - start == timedelta(hours=23)
    start, end = month_range("2026-11", "Asia/Kolkata")  # +05:30: whole 15-minute buckets
    assert (start.hour, start.minute) == (18, 30)


# -- call lists -------------------------------------------------------------------------------


async def test_calls_can_be_listed_by_line_outcome_time_and_callbacks(store: Store) -> None:
    calls = a_day_of_calls(count=32, seed=9)
    await store.ingest(all_events(calls))
    newest = await store.calls(limit=5)
    assert len(newest) == 5
    assert [r.arrived_at for r in newest] == sorted((r.arrived_at for r in newest), reverse=True)
    assert {r.line for r in await store.calls(line="legacy", limit=100)} == {"legacy"}
    busy = await store.calls(outcome="busy", limit=100)
    assert len(busy) == 4 and all(r.outcome is Outcome.busy for r in busy)
    owed = await store.calls(callback_needed=True, limit=100)
    assert owed and all(r.callback_needed for r in owed)
    ongoing = await store.calls(in_progress=True, limit=100)
    assert ongoing and all(r.outcome is None for r in ongoing)
    since = T0 + timedelta(hours=3)
    assert all(r.arrived_at >= since for r in await store.calls(since=since, limit=100))


async def test_a_call_keeps_its_events_and_its_attempts(store: Store) -> None:
    call = night_transfer("n1", answered=True)
    await store.ingest(call.events + call.events[:3])
    events = await store.events_of("n1")
    assert [e.key for e in events] == [e.key for e in sorted(call.events, key=lambda e: e.at)]
    assert events[0].at.tzinfo is not None
    record = await store.call("n1")
    assert record is not None
    assert [(a.who, a.role, a.result) for a in record.attempts] == [
        ("Li Lei", "oncall", "noanswer"), ("Zhao Min", "oncall", "answered")
    ]
    assert await store.call("nobody") is None
    assert await store.events_of("nobody") == []


async def test_calls_whose_end_was_never_reported_are_closed_as_lost(store: Store) -> None:
    stuck = CallScript("stuck").arrives().menu().asks_for_person(at=10.0)
    await store.ingest(stuck.events)
    await store.ingest(answered_by_agent("fine").events)
    assert await store.close_lost_calls(T0 + timedelta(minutes=30)) == 0
    assert await store.close_lost_calls(T0 + timedelta(hours=3)) == 1
    record = await store.call("stuck")
    assert record is not None
    assert (record.outcome, record.end_cause, record.abandon_place) == (
        Outcome.abandoned, "lost", AbandonPlace.queue
    )
    assert record.ended_at == T0 + timedelta(seconds=12)
    assert await store.close_lost_calls(T0 + timedelta(hours=3)) == 0
    assert await rollup(store) == await recount(store, T0 - timedelta(1), T0 + timedelta(1))


# -- schema -----------------------------------------------------------------------------------


async def test_the_migrations_build_exactly_the_tables_of_the_models(store: Store) -> None:
    def ours(name: str | None, kind: str, parent: Any) -> bool:
        return kind != "table" or name in Base.metadata.tables

    def differences(connection: Connection) -> list[Any]:
        options = {"version_table": VERSION_TABLE, "include_name": ours}
        context = MigrationContext.configure(connection, opts=options)
        return list(compare_metadata(context, Base.metadata))

    async with store.engine.connect() as conn:
        assert await conn.run_sync(differences) == []
    await store.migrate()  # again: nothing to do


async def test_a_fresh_database_gets_its_schema_on_the_first_ingest(database: Database) -> None:
    store = database.store()
    try:
        assert await store.ingest(answered_by_agent().events) == 9
        assert (await store.calls())[0].outcome is Outcome.answered_by_agent
    finally:
        await store.close()


# -- refused INVITEs and history that follows the definitions ------------------------------


def a_refused_invite(linkedid: str, at: datetime = T0, number: str = "0085212345678") -> list[
    JournalEvent
]:
    refused = JournalEvent(linkedid, EventKind.call_refused, at, "ami",
                           {"line": "", "reason": "unknown_number", "number": number})
    ended = JournalEvent(linkedid, EventKind.call_ended, at + timedelta(seconds=0.01), "ami",
                         {"cause": "1"})
    return [refused, ended]


async def test_a_refused_invite_is_no_call_and_is_counted_by_reason(store: Store) -> None:
    await store.ingest(a_refused_invite("r1"))
    await store.ingest(a_refused_invite("r1"))  # replayed: counted once
    await store.ingest(a_refused_invite("r2")[1:])  # its end first, in a batch of its own
    await store.ingest(a_refused_invite("r2")[:1])
    assert await store.calls(limit=100) == []
    assert await store.call("r1") is None
    assert await store.refused_totals() == {"unknown_number": 2}
    day = await report(store, *day_range("2026-11-03", SHANGHAI), zone=SHANGHAI)
    assert day.tally.offered == 0


async def test_records_folded_by_older_rules_are_folded_again_when_the_store_opens(
    database: Database,
) -> None:
    calls = a_day_of_calls(count=24, seed=5)
    first = database.store()
    await first.migrate()
    await first.ingest(all_events(calls))
    await first.ingest(a_refused_invite("refused"))
    expected = {c.linkedid: await first.call(c.linkedid) for c in calls}
    # a record as an older fold left it: 3 rings counted from the menu key
    async with first.engine.begin() as conn:
        await conn.execute(text("UPDATE calls SET rings = 9"))
        await conn.execute(text("UPDATE call_stats_15min SET rings_sum = 0"))
        await conn.execute(text("UPDATE journal_meta SET value = '1'"))
    await first.close()

    second = database.store()
    await second.migrate()  # sees fold version 1: folds every call again
    try:
        for linkedid, record in expected.items():
            assert await second.call(linkedid) == record
        period = (T0 - timedelta(days=1), T0 + timedelta(days=2))
        rollup = {
            (row.bucket_start, row.line, row.mode): row.tally
            for row in await second.stats(*period)
            if row.tally
        }
        assert rollup == await recount(second, *period)
        assert await second.refused_totals() == {"unknown_number": 1}
    finally:
        await second.close()


async def test_new_counting_rules_refold_history(database: Database) -> None:
    first = database.store()
    await first.migrate()
    await first.ingest(answered_by_agent("a", ring=12.0).events)
    assert (await first.call("a")).rings == 3  # type: ignore[union-attr]
    await first.close()
    slower = database.store(rules=CountingRules(cadence_seconds=6.0))
    await slower.migrate()
    try:
        record = await slower.call("a")
        assert record is not None and (record.rings, record.within_three_rings) == (3, True)
        faster = database.store(rules=CountingRules(cadence_seconds=4.0))
        await faster.migrate()
        record = await faster.call("a")
        assert record is not None and (record.rings, record.within_three_rings) == (4, False)
        await faster.close()
    finally:
        await slower.close()


# -- sums in SQL: the all-time totals and the local weekday x hour sums -------------------


async def recount_totals(
    store: Store,
) -> tuple[dict[tuple[str, str], Tally], dict[tuple[str, str, str], tuple[int, int]]]:
    """The all-time totals recounted from every stored call record (slow, a check)."""
    calls: dict[tuple[str, str], Tally] = {}
    rings: dict[tuple[str, str, str], tuple[int, int]] = {}
    for record in await store.calls(limit=10**9):
        key = (record.line, record.mode.value)
        calls[key] = calls.get(key, Tally()) + Tally.of(record)
        for ring_key, (count, ms) in ring_tally(record).items():
            old = rings.get(ring_key, (0, 0))
            rings[ring_key] = (old[0] + count, old[1] + ms)
    return calls, {key: value for key, value in rings.items() if any(value)}


async def stored_totals(
    store: Store,
) -> tuple[dict[tuple[str, str], Tally], dict[tuple[str, str, str], tuple[int, int]]]:
    rings = {key: value for key, value in (await store.ring_totals()).items() if any(value)}
    return await store.totals(), rings


async def test_the_all_time_totals_equal_a_recount_while_calls_are_updated_again_and_again(
    store: Store,
) -> None:
    """Each call's record is written three times (arrival, midway, end) plus replays;
    after each write the totals equal a recount of the calls."""
    calls = a_day_of_calls(count=32, seed=13)
    thirds = [
        [e for call in calls for e in call.events[len(call.events) * k // 3:
                                                   len(call.events) * (k + 1) // 3]]
        for k in range(3)
    ]
    for part in thirds:
        await store.ingest(part)
        await store.ingest(part[: len(part) // 2])  # replayed: changes nothing
        assert await stored_totals(store) == await recount_totals(store)
        await assert_month_rollup_equals_the_buckets(store, "2026-11", SHANGHAI)
    totals, _ = await stored_totals(store)
    assert sum(t.offered for t in totals.values()) + sum(
        t.in_progress for t in totals.values()
    ) == len(calls)


async def test_a_refold_rebuilds_the_totals_from_the_new_records(database: Database) -> None:
    first = database.store()
    await first.migrate()
    await first.ingest(all_events(a_day_of_calls(count=24, seed=5)))
    await first.ingest(a_refused_invite("refused"))
    before = await stored_totals(first)
    async with first.engine.begin() as conn:  # totals gone wrong, rules out of date
        await conn.execute(text("UPDATE call_stats_total SET offered = 999"))
        await conn.execute(text("UPDATE ring_stats_total SET attempts = 0"))
        await conn.execute(text("UPDATE journal_meta SET value = '1'"))
    await first.close()
    second = database.store(rules=CountingRules(cadence_seconds=4.0))
    await second.migrate()  # other rules: every call folded again, rollups rebuilt
    try:
        after = await stored_totals(second)
        assert after == await recount_totals(second)
        assert after[0].keys() == before[0].keys()
        assert await second.refused_totals() == {"unknown_number": 1}
        assert await second.refold() == 24  # on demand: the same again
        assert await stored_totals(second) == after
    finally:
        await second.close()


async def test_the_migration_fills_the_totals_from_the_rollups_it_finds(
    database: Database,
) -> None:
    store = database.store()
    await store.migrate()
    try:
        await store.ingest(all_events(a_day_of_calls(count=16, seed=4)))
        await store.ingest(a_refused_invite("refused"))
        expected = await stored_totals(store)
        async with store.engine.begin() as conn:  # back to 0005: no totals tables
            await conn.run_sync(_downgrade, "0005_spec_measures")
        await store.migrate(refold=False)
        assert await stored_totals(store) == expected
        assert await store.refused_totals() == {"unknown_number": 1}
    finally:
        await store.close()


def _downgrade(connection: Connection, revision: str) -> None:
    from alembic import command

    from ivr.journal.migrate import alembic_config

    command.downgrade(alembic_config(connection), revision)


@pytest.mark.parametrize("zone", ["Asia/Shanghai", "America/New_York", "Asia/Kathmandu"])
async def test_local_sums_in_sql_equal_the_buckets_read_one_by_one(
    store: Store, zone: str
) -> None:
    """Across a daylight-saving change (New York, 8 March 2026) and in a +05:45 zone, the
    SQL's local weekday and hour of each bucket are those Python gives."""
    local = ZoneInfo(zone)
    rng = random.Random(21)
    start = datetime(2026, 3, 6, tzinfo=UTC)
    events = []
    for n in range(60):
        at = start + timedelta(minutes=rng.randrange(0, 5 * 24 * 60))
        events += answered_by_agent(f"dst.{n}", start=at).events
    await store.ingest(events)
    period = (start, start + timedelta(days=5))
    expected: dict[tuple[str, str, int, int], Tally] = {}
    for row in await store.stats(*period):
        at = row.bucket_start.astimezone(local)
        key = (row.line, row.mode, at.weekday(), at.hour)
        expected[key] = expected.get(key, Tally()) + row.tally
    summed = {
        (s.line, s.mode, s.weekday, s.hour): Tally(*s.counters)
        for s in await store.bucket_sums(*period, local)
    }
    assert summed == expected
    assert sum(t.offered for t in summed.values()) == 60


def test_offset_spans_cut_a_period_where_daylight_saving_changes() -> None:
    new_york = ZoneInfo("America/New_York")
    start, end = month_range("2026-03", new_york)
    spans = offset_spans(start, end, new_york)
    assert [(a, b, offset) for a, b, offset in spans] == [
        (start, datetime(2026, 3, 8, 7, tzinfo=UTC), -5 * 3600),
        (datetime(2026, 3, 8, 7, tzinfo=UTC), end, -4 * 3600),
    ]
    start, end = month_range("2026-11", SHANGHAI)
    assert offset_spans(start, end, SHANGHAI) == [(start, end, 8 * 3600)]
    assert offset_spans(start, start, SHANGHAI) == []


async def assert_month_rollup_equals_the_buckets(store: Store, month: str, zone: ZoneInfo) -> None:
    """The monthly rollup (what a month's report reads) and the daily one (what a day's,
    a week's and the heatmap's read) equal the month's 15-minute buckets summed in SQL,
    calls and ring attempts."""
    start, end = month_range(month, zone)
    assert store.month_of(start, end, zone) == month
    by_month = {(s.line, s.mode, s.weekday, s.hour): s.counters
                for s in await store.month_sums(month) if any(s.counters)}
    by_bucket = {(s.line, s.mode, s.weekday, s.hour): s.counters
                 for s in await store.bucket_sums(start, end, zone) if any(s.counters)}
    assert store.days_of(start, end, zone) is not None
    by_day = {(s.line, s.mode, s.weekday, s.hour): s.counters
              for s in await store.local_sums(start, end, zone) if any(s.counters)}
    assert by_month == by_bucket == by_day
    assert await store.month_ring_stats(month) == await store.ring_stats(start, end)


async def test_a_month_report_reads_the_monthly_rollup_and_agrees_with_the_buckets(
    database: Database,
) -> None:
    store = database.store()
    await store.migrate()
    try:
        await store.ingest(all_events(a_day_of_calls(count=40, seed=8)))
        await assert_month_rollup_equals_the_buckets(store, "2026-11", SHANGHAI)
        start, end = month_range("2026-11", SHANGHAI)
        whole = await report(store, start, end, zone=SHANGHAI)
        assert whole.tally.offered + whole.tally.in_progress == 40
        # the same month asked in another zone object's spelling is no whole month of
        # the rollup's zone: read from the buckets, same numbers
        assert store.month_of(start, end, ZoneInfo("UTC")) is None
        assert store.month_of(start, end - timedelta(minutes=15), SHANGHAI) is None
    finally:
        await store.close()
    # the hotline moves to another zone: the monthly rollup follows it (history refolded)
    moved = database.store(zone=ZoneInfo("America/New_York"))
    await moved.migrate()
    try:
        await assert_month_rollup_equals_the_buckets(
            moved, "2026-11", ZoneInfo("America/New_York")
        )
    finally:
        await moved.close()
