"""A month's report and the whole `/metrics` page over 10,000 and 1,000,000 stored calls,
and the journal's ingestion rate.

    .venv/bin/python bench/report_bench.py [--sizes 10000,1000000] [--ingest-calls 5000]

1. For each size, fills a fresh database with that many calls spread over November 2026
   (Asia/Shanghai, busier in office hours), bulk-loaded with the driver's fastest path.
   Each call is a copy, moved in time, of one of a few dozen call records folded from
   realistic event sequences (every outcome, waits from 0 to 90 s), and the rollup is
   built from the same records' tallies, exactly as ingestion would have built it (the
   all-time totals summed from it in SQL, as the migration does); a sampled day is
   checked against a recount of its calls, and the totals against the rollup.
2. Times what readers do: the month report (`hotline report --month`), a scrape (today's
   report plus the all-time counters), the newest calls.
3. Measures ingestion: the events of `--ingest-calls` calls, interleaved in time order as
   they would arrive from many concurrent calls, emitted into a `JournalWriter` as fast as
   possible, until flushed. 50 calls/s of about 12 events each is 600 events/s.

SQLite always; PostgreSQL too when HOTLINE_TEST_DATABASE_URL is set (in a schema of its
own, dropped afterwards). Writes bench/results/report.json, prints the numbers and the
README table (between the `bench:report` marks, which it rewrites).

Targets (issue 13): the month report and the whole `/metrics` page each <= 50 ms at 1M
calls on both databases, and within 1.2x of their figures at 10k.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from operator import add
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import Table, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from ivr.config import load_config  # noqa: E402
from ivr.domain.events import EventKind, JournalEvent  # noqa: E402
from ivr.domain.outcomes import fold  # noqa: E402
from ivr.domain.record import CallRecord  # noqa: E402
from ivr.domain.tally import Tally, bucket_start, ring_tally  # noqa: E402
from ivr.domain.targets import Targets  # noqa: E402
from ivr.journal.queries import day_range, month_range, recount, report, today_range  # noqa: E402
from ivr.journal.store import ROLLUPS, Store, calls_table  # noqa: E402
from ivr.journal.tables import (  # noqa: E402
    DAY_KEYS,
    MONTH_KEYS,
    RING_MONTH_KEYS,
    day_stats_table,
    month_stats_table,
    record_to_row,
    refused_table,
    ring_month_table,
    ring_stats_table,
    stats_table,
)
from ivr.journal.writer import JournalWriter  # noqa: E402
from ivr.journal.writer_thread import ThreadedJournalWriter  # noqa: E402
from metrics.exporter import Exporter, Sources  # noqa: E402

RESULTS = ROOT / "bench" / "results"
ZONE = ZoneInfo("Asia/Shanghai")
MONTH = "2026-11"
MODES = {"main": "ivr", "legacy": "manual"}
# calls per local hour of day: quiet nights, office-hour peaks
HOURLY = [2, 1, 1, 1, 1, 2, 4, 8, 14, 16, 15, 12, 9, 12, 15, 14, 12, 9, 7, 6, 5, 4, 3, 2]
DATETIME_COLUMNS = ("arrived_at", "ivr_answered_at", "human_requested_at", "answered_at",
                    "ended_at")


# -- realistic calls -------------------------------------------------------------------------


class Script:
    def __init__(self, linkedid: str, start: datetime, line: str = "main") -> None:
        self.linkedid, self.start, self.line = linkedid, start, line
        self.events: list[JournalEvent] = []

    def at(self, offset: float, kind: EventKind, /, **data: Any) -> Script:
        self.events.append(JournalEvent(
            self.linkedid, kind, self.start + timedelta(seconds=offset), "ami",
            {"line": self.line, **data},
        ))
        return self

    def arrives(self) -> Script:
        mode = MODES[self.line]
        self.at(0, EventKind.call_arrived, mode=mode, caller=f"138{random.randrange(10**8):08d}")
        if mode == "ivr":
            self.at(0.05, EventKind.ivr_answered)
            self.at(0.2, EventKind.prompt_played, prompt="greeting,menu")
        return self

    def asks(self, at: float, target: str = "queue") -> Script:
        self.at(at, EventKind.human_requested, service="repair", target=target)
        if target == "queue":
            self.at(at + 2.5, EventKind.queue_joined, queue="hotline", position=1)
        return self


def scripted_call(kind: str, linkedid: str, start: datetime, wait: float) -> Script:
    """One call of a kind, its events as the sources report them."""
    line = "legacy" if kind.startswith("manual") else "main"
    call = Script(linkedid, start, line).arrives()
    asked = 0.5 if line == "legacy" else 9.0
    if line == "main" and kind not in ("busy", "menu_abandon", "night_answered", "night_failed",
                                       "voicemail"):
        call.at(8.5, EventKind.menu_choice, key="2", service="repair", attempt=1)
    if kind == "busy":
        call.at(0.01, EventKind.call_rejected_busy)
        return call.at(0.3, EventKind.call_ended, cause="17")
    if kind == "menu_abandon":
        call.at(wait, EventKind.caller_hung_up, place="menu")
        return call.at(wait, EventKind.call_ended, cause="16")
    if kind == "info":
        call.at(30, EventKind.announcement_completed)
        return call.at(31, EventKind.call_ended, cause="16")
    if kind == "voicemail":
        call.at(0.1, EventKind.off_hours).at(12, EventKind.voicemail_started, urgent="0")
        call.at(40, EventKind.voicemail_recorded, file=f"/vm/{linkedid}.wav", seconds=25.5)
        return call.at(40, EventKind.call_ended, cause="16")
    if kind.startswith("night"):
        call.at(0.1, EventKind.off_hours).at(5, EventKind.menu_choice, key="1",
                                              service="emergency", attempt=1)
        call.asks(5.2, "oncall").at(5.3, EventKind.oncall_ring_started, person="Li Lei", order=1)
        if kind == "night_answered":
            call.at(5.3 + wait, EventKind.oncall_answered, person="Li Lei")
            return call.at(200, EventKind.call_ended, cause="16")
        call.at(25.3, EventKind.oncall_ring_ended, person="Li Lei", order=1, result="noanswer")
        call.at(25.4, EventKind.oncall_chain_failed).at(25.5, EventKind.voicemail_started,
                                                         urgent="1")
        return call.at(30, EventKind.call_ended, cause="16")
    call.asks(asked)
    agent = random.choice(["Wang Fang", "Chen Jie", "Liu Yang", "Zhang Wei"])
    call.at(asked + 3, EventKind.agent_ring_started, agent=agent, leg=f"{linkedid}-a")
    if kind.endswith("abandon"):
        call.at(asked + wait, EventKind.queue_abandoned, position=1, wait_seconds=wait)
        return call.at(asked + wait, EventKind.call_ended, cause="16")
    if wait > 18:  # the first agent rang out, the second answered
        call.at(asked + 18, EventKind.agent_ring_ended, agent=agent, leg=f"{linkedid}-a",
                result="noanswer", ring_seconds=15)
        agent = "Zhou Min"
        call.at(asked + 19, EventKind.agent_ring_started, agent=agent, leg=f"{linkedid}-b")
    call.at(asked + wait, EventKind.agent_answered, agent=agent, leg=f"{linkedid}-b"
            if wait > 18 else f"{linkedid}-a", hold_seconds=wait)
    return call.at(asked + wait + 150, EventKind.call_ended, cause="16")


MIX: list[tuple[str, float, list[float]]] = [  # kind, share, waits to choose from
    ("agent", 0.66, [1, 3, 5, 7, 9, 11, 13, 14.5, 16, 20, 25, 35, 50, 70]),
    ("queue_abandon", 0.07, [8, 20, 45, 90]),
    ("menu_abandon", 0.03, [3, 12]),
    ("info", 0.05, [0]),
    ("voicemail", 0.06, [0]),
    ("busy", 0.01, [0]),
    ("night_answered", 0.01, [6, 14]),
    ("night_failed", 0.005, [0]),
    ("manual_agent", 0.09, [2, 6, 12, 18]),
    ("manual_abandon", 0.015, [30]),
]


def templates() -> list[tuple[CallRecord, float]]:
    """Folded call records of every kind, each with the share of calls like it."""
    base = datetime(2026, 1, 1, tzinfo=UTC)
    folded = []
    for kind, share, waits in MIX:
        for wait in waits:
            call = scripted_call(kind, "template", base, wait)
            folded.append((fold(call.events, MODES), share / len(waits)))
    return folded


def spread_over_month(count: int, seed: int = 1) -> list[datetime]:
    """Arrival times over the month, by the hourly profile, in order."""
    rng = random.Random(seed)
    start, end = month_range(MONTH, ZONE)
    hours = int((end - start).total_seconds() // 3600)
    weights = [HOURLY[(start + timedelta(hours=h)).astimezone(ZONE).hour] for h in range(hours)]
    chosen = rng.choices(range(hours), weights=weights, k=count)
    return sorted(start + timedelta(hours=h, seconds=rng.random() * 3600) for h in chosen)


# -- bulk loading ----------------------------------------------------------------------------


class MonthOfCalls:
    """A million call rows and the rollup rows they make, built from the templates."""

    def __init__(self, count: int) -> None:
        rng = random.Random(2)
        self.templates = templates()
        picks = rng.choices(range(len(self.templates)), [w for _, w in self.templates], k=count)
        self.arrivals = spread_over_month(count)
        self.picks = picks
        self.columns = [column.name for column in calls_table.columns]
        self.rows = [record_to_row(record) for record, _ in self.templates]
        self.tallies = [Tally.of(record) for record, _ in self.templates]
        self.ring_tallies = [ring_tally(record) for record, _ in self.templates]

    def call_rows(self, timestamp: Callable[[datetime | None], Any],
                  as_json: Callable[[Any], Any]) -> list[tuple[Any, ...]]:
        rows = []
        for n, (at, pick) in enumerate(zip(self.arrivals, self.picks, strict=True)):
            template = self.rows[pick]
            shift = at - template["arrived_at"]
            row = []
            for column in self.columns:
                value = template[column]
                if column == "linkedid":
                    value = f"{int(at.timestamp())}.{n}"
                elif column in DATETIME_COLUMNS:
                    value = timestamp(value + shift if value is not None else None)
                elif column in ("menu_choices", "attempts"):
                    value = as_json(_moved_json(value, shift))
                row.append(value)
            rows.append(tuple(row))
        return rows

    def rollup_rows(self) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        per_key: Counter[tuple[datetime, int]] = Counter(
            (bucket_start(at), pick) for at, pick in zip(self.arrivals, self.picks, strict=True)
        )
        stats: dict[tuple[datetime, str, str], list[int]] = {}
        rings: dict[tuple[datetime, str, str, str, str], list[int]] = {}
        for (start, pick), times in per_key.items():
            record = self.templates[pick][0]
            key = (start, record.line, record.mode.value)
            scaled = [value * times for value in self.tallies[pick].values()]
            stats[key] = list(map(add, stats[key], scaled)) if key in stats else scaled
            for (who, role, result), (count, ms) in self.ring_tallies[pick].items():
                ring_key = (start, record.line, who, role, result)
                old = rings.get(ring_key, [0, 0])
                rings[ring_key] = [old[0] + count * times, old[1] + ms * times]
        names = Tally.names()
        stat_rows = [
            {"bucket_start": s, "line": line, "mode": mode, **dict(zip(names, values, strict=True))}
            for (s, line, mode), values in stats.items()
        ]
        ring_rows = [
            {"bucket_start": s, "line": line, "who": who, "role": role, "result": result,
             "attempts": n, "ring_ms_sum": ms}
            for (s, line, who, role, result), (n, ms) in rings.items()
        ]
        return stat_rows, ring_rows


def month_rollup_rows(
    stat_rows: list[dict[str, Any]], ring_rows: list[dict[str, Any]]
) -> list[tuple[Table, list[dict[str, Any]]]]:
    """The daily (local day, hour) and monthly (local month, weekday, hour) rollups from
    the 15-minute one, as the store builds them."""
    names = Tally.names()
    calls: dict[tuple[str, str, str, int, int], list[int]] = {}
    for row in stat_rows:
        local = row["bucket_start"].astimezone(ZONE)
        key = (f"{local:%Y-%m}", row["line"], row["mode"], local.weekday(), local.hour)
        values = [row[name] for name in names]
        calls[key] = list(map(add, calls[key], values)) if key in calls else values
    rings: dict[tuple[str, str, str, str, str], list[int]] = {}
    for row in ring_rows:
        month = f"{row['bucket_start'].astimezone(ZONE):%Y-%m}"
        key = (month, row["line"], row["who"], row["role"], row["result"])
        old = rings.get(key, [0, 0])
        rings[key] = [old[0] + row["attempts"], old[1] + row["ring_ms_sum"]]
    days: dict[tuple[str, str, str, int], list[int]] = {}
    weekdays: dict[str, int] = {}
    for row in stat_rows:
        local = row["bucket_start"].astimezone(ZONE)
        day = f"{local:%Y-%m-%d}"
        weekdays[day] = local.weekday()
        day_key = (day, row["line"], row["mode"], local.hour)
        values = [row[name] for name in names]
        days[day_key] = list(map(add, days[day_key], values)) if day_key in days else values
    return [
        (day_stats_table, [
            {**dict(zip(DAY_KEYS, key, strict=True)), "weekday": weekdays[key[0]],
             **dict(zip(names, values, strict=True))}
            for key, values in days.items()
        ]),
        (month_stats_table, [
            {**dict(zip(MONTH_KEYS, key, strict=True)), **dict(zip(names, values, strict=True))}
            for key, values in calls.items()
        ]),
        (ring_month_table, [
            {**dict(zip(RING_MONTH_KEYS, key, strict=True)), "attempts": n, "ring_ms_sum": ms}
            for key, (n, ms) in rings.items()
        ]),
    ]


def _moved_json(items: list[dict[str, Any]], shift: timedelta) -> list[dict[str, Any]]:
    moved = []
    for item in items:
        copy = dict(item)
        for key in ("at", "from", "to"):
            if copy.get(key):
                copy[key] = (datetime.fromisoformat(copy[key]) + shift).isoformat()
        moved.append(copy)
    return moved


def _sqlite_time(value: datetime | None) -> str | None:
    # the text SQLAlchemy's SQLite DATETIME stores (UTC, no offset)
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f") if value else None


async def load_sqlite(store: Store, path: Path, month: MonthOfCalls) -> None:
    await store.migrate()
    stat_rows, ring_rows = month.rollup_rows()
    rows = month.call_rows(_sqlite_time, json.dumps)
    db = sqlite3.connect(path)
    db.execute("PRAGMA journal_mode = WAL")
    db.execute("PRAGMA synchronous = OFF")  # a bulk load; the journal itself runs FULL
    marks = ", ".join("?" * len(month.columns))
    db.executemany(f"INSERT INTO calls ({', '.join(month.columns)}) VALUES ({marks})", rows)
    for table, table_rows in ((stats_table, stat_rows), (ring_stats_table, ring_rows),
                              *month_rollup_rows(stat_rows, ring_rows)):
        names = [column.name for column in table.columns]
        db.executemany(
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [tuple(_sqlite_time(r[n]) if n == "bucket_start" else r[n] for n in names)
             for r in table_rows],
        )
    for statement in TOTALS_SQL:
        db.execute(statement)
    db.commit()
    db.execute("ANALYZE")
    db.close()


async def load_postgresql(store: Store, schema: str, month: MonthOfCalls) -> None:
    await store.migrate()
    stat_rows, ring_rows = month.rollup_rows()
    rows = month.call_rows(lambda value: value, json.dumps)
    async with store.engine.connect() as conn:
        raw = await conn.get_raw_connection()
        driver = raw.driver_connection
        assert driver is not None
        await driver.copy_records_to_table(
            "calls", records=rows, columns=month.columns, schema_name=schema
        )
        for table, table_rows in ((stats_table, stat_rows), (ring_stats_table, ring_rows),
                                  *month_rollup_rows(stat_rows, ring_rows)):
            names = [column.name for column in table.columns]
            await driver.copy_records_to_table(
                table.name, records=[tuple(r[n] for n in names) for r in table_rows],
                columns=names, schema_name=schema,
            )
        for statement in TOTALS_SQL:
            await driver.execute(f'SET search_path TO "{schema}"; {statement}')
        await driver.execute("ANALYZE")
        await conn.commit()


def _totals_sql(total: str, rollup: str, keys: tuple[str, ...], counters: list[str]) -> str:
    names = ", ".join((*keys, *counters))
    sums = ", ".join((*keys, *(f"SUM({name})" for name in counters)))
    return f"INSERT INTO {total} ({names}) SELECT {sums} FROM {rollup} GROUP BY {', '.join(keys)}"


# the all-time totals from the loaded rollup, as migration 0011 fills them
TOTALS_SQL = (
    _totals_sql("call_stats_total", stats_table.name, ("line", "mode"), list(Tally.names())),
    _totals_sql("ring_stats_total", ring_stats_table.name, ("line", "who", "role", "result"),
                ["attempts", "ring_ms_sum"]),
    _totals_sql("refused_total", refused_table.name, ("reason",), ["refused"]),
)


# -- measuring -------------------------------------------------------------------------------


RUNS = 9
READS = ("month_report", "scrape_today_and_totals", "exporter_scrape_whole_metrics_page",
         "newest_50_calls", "calls_of_a_line_and_outcome")


def summary(times: list[float]) -> dict[str, float]:
    return {"first_s": round(times[0], 4), "median_s": round(statistics.median(times), 4),
            "max_s": round(max(times), 4)}


async def prepare_reads(
    store: Store, month: MonthOfCalls
) -> tuple[dict[str, Any], dict[str, Callable[[], Awaitable[Any]]]]:
    """The checks of a loaded database, and the reads to time on it."""
    targets = Targets()
    start, end = month_range(MONTH, ZONE)
    last_day = month.arrivals[-1]

    async def month_report() -> Any:
        return await report(store, start, end, zone=ZONE, targets=targets)

    async def scrape() -> Any:
        today = await report(store, *today_range(last_day, ZONE), zone=ZONE, targets=targets)
        return today, await store.totals()

    config = load_config(ROOT / "hotline.example.toml")
    exporter = Exporter(Sources(store=store, config=lambda: config, clock=lambda: last_day))

    async def exporter_scrape() -> Any:
        return await exporter.render()

    async def newest_calls() -> Any:
        return await store.calls(limit=50)

    async def line_calls() -> Any:
        return await store.calls(line="legacy", outcome="abandoned", limit=50)

    result = await month_report()
    sample_day = day_range(month.arrivals[len(month.arrivals) // 2].astimezone(ZONE).date(), ZONE)
    recounted = sum((await recount(store, *sample_day)).values(), Tally())
    from_rollup = (await report(store, *sample_day, zone=ZONE)).tally
    totals = sum((await store.totals()).values(), Tally())
    checks = {
        "offered_in_month": result.tally.offered,
        "rollup_equals_recount_for_a_sampled_day": recounted == from_rollup,
        "totals_equal_the_month": totals == result.tally,
        "month_kpi": {rate.name: (round(rate.value, 4) if rate.value is not None else None)
                      for rate in result.kpi.headline},
    }
    reads: list[Callable[[], Awaitable[Any]]] = [
        month_report, scrape, exporter_scrape, newest_calls, line_calls
    ]
    actions = dict(zip(READS, reads, strict=True))
    return checks, actions


async def time_interleaved(
    prepared: dict[int, dict[str, Callable[[], Awaitable[Any]]]],
) -> dict[int, dict[str, dict[str, float]]]:
    """Every read on every size, round after round (one size's reads, then the next
    size's), so the load other work puts on this shared machine falls on all sizes
    alike; the first round warms caches and counts as `first_s`."""
    times: dict[int, dict[str, list[float]]] = {
        size: {name: [] for name in actions} for size, actions in prepared.items()
    }
    for _ in range(RUNS):
        for size, actions in prepared.items():
            for name, action in actions.items():
                started = time.perf_counter()
                await action()
                times[size][name].append(time.perf_counter() - started)
    return {size: {name: summary(values) for name, values in by_name.items()}
            for size, by_name in times.items()}


async def measure_ingestion(store: Store, spool: Path, calls: int) -> dict[str, Any]:
    """Both writers, one after the other, on calls of their own."""
    return {
        "threaded_writer": await measure_writer(ThreadedJournalWriter, store, spool, calls,
                                                "thread"),
        "loop_writer": await measure_writer(JournalWriter, store, spool, calls, "loop"),
    }


async def measure_writer(writer_class: type[JournalWriter], store: Store, spool: Path,
                         calls: int, prefix: str) -> dict[str, Any]:
    """Ingestion rate, and how long the event loop (call control's) was held meanwhile:
    a ticker asks for 1 ms sleeps and records how late each one returns."""
    rng = random.Random(5)
    starts = sorted(datetime(2026, 12, 1, 2, tzinfo=UTC) + timedelta(seconds=rng.random() * 600)
                    for _ in range(calls))  # ~ calls/600 new calls a second, overlapping
    events = []
    for n, start in enumerate(starts):
        kind = rng.choices([k for k, _, _ in MIX], [w for _, w, _ in MIX])[0]
        waits = next(w for k, _, w in MIX if k == kind)
        events += scripted_call(kind, f"{prefix}.{n}", start, rng.choice(waits)).events
    events.sort(key=lambda e: e.at)  # as they arrive from many concurrent calls
    writer = writer_class(store, spool, lost_sweep_every=None)
    await writer.start()
    emit_cost = _emit_microseconds(events[:20_000], spool.with_name("emit.spool"))
    lags: list[float] = []
    ticking = True

    async def ticker() -> None:
        while ticking:
            asked = time.perf_counter()
            await asyncio.sleep(0.001)
            lags.append(time.perf_counter() - asked - 0.001)

    tick = asyncio.create_task(ticker())
    started = time.perf_counter()
    for event in events:
        writer.emit(event)
        if writer.queue_depth > 20_000:
            await asyncio.sleep(0)  # let the writer run, as the event loop would
    emitted = time.perf_counter() - started
    lags.clear()  # the loop's lateness while the writer works, not while this loop emits
    await writer.flush()
    elapsed = time.perf_counter() - started
    ticking = False
    await tick
    stats = writer.stats
    await writer.close()
    lags.sort()
    return {
        "loop_late_ms_p50": round(lags[len(lags) // 2] * 1000, 2),
        "loop_late_ms_p99": round(lags[int(len(lags) * 0.99)] * 1000, 2),
        "loop_late_ms_max": round(lags[-1] * 1000, 2),
        "events": len(events),
        "calls": calls,
        "seconds": round(elapsed, 3),
        "events_per_second": round(len(events) / elapsed),
        "emit_microseconds_per_event": emit_cost,
        "emit_loop_seconds": round(emitted, 3),
        "batches": stats.batches,
        "spooled": stats.spooled,
        "needed_for_50_calls_per_second": round(50 * len(events) / calls),
    }


def _emit_microseconds(events: list[JournalEvent], spool: Path) -> float:
    """What `emit` costs the caller (call control): a writer whose queue nobody drains."""
    idle = JournalWriter(Store("sqlite+aiosqlite:///:memory:"), spool, max_queue=len(events))
    started = time.perf_counter()
    for event in events:
        idle.emit(event)
    return round((time.perf_counter() - started) / len(events) * 1e6, 2)


async def bench_sqlite(sizes: list[int], ingest_calls: int, workdir: Path) -> dict[str, Any]:
    results: dict[str, Any] = {}
    stores: dict[int, Store] = {}
    actions: dict[int, dict[str, Callable[[], Awaitable[Any]]]] = {}
    try:
        for size in sizes:
            print(f"sqlite: loading {size} calls ...", flush=True)
            path = workdir / f"month-{size}.sqlite3"
            store = stores[size] = Store(f"sqlite+aiosqlite:///{path}", line_modes=MODES,
                                         zone=ZONE)
            started = time.perf_counter()
            month = MonthOfCalls(size)
            await load_sqlite(store, path, month)
            loaded = time.perf_counter() - started
            checks, actions[size] = await prepare_reads(store, month)
            results[str(size)] = {"calls": size, "load_seconds": round(loaded, 1),
                                  "database_mb": round(path.stat().st_size / 2**20), **checks}
        for size, timings in (await time_interleaved(actions)).items():
            results[str(size)].update(timings)
    finally:
        for store in stores.values():
            await store.close()
    if ingest_calls:
        ingest_store = Store(f"sqlite+aiosqlite:///{workdir / 'ingest.sqlite3'}",
                             line_modes=MODES, zone=ZONE)
        await ingest_store.migrate()
        results["ingestion"] = await measure_ingestion(
            ingest_store, workdir / "ingest.spool", ingest_calls
        )
        await ingest_store.close()
    return results


async def bench_postgresql(url: str, sizes: list[int], ingest_calls: int, workdir: Path
                           ) -> dict[str, Any]:
    admin = create_async_engine(url)
    schemas = {size: f"hotline_bench_{uuid.uuid4().hex[:8]}" for size in sizes}
    results: dict[str, Any] = {"server": make_url(url).render_as_string(hide_password=True)}
    stores: dict[int, Store] = {}
    actions: dict[int, dict[str, Callable[[], Awaitable[Any]]]] = {}
    try:
        for size, schema in schemas.items():
            print(f"postgresql: loading {size} calls ...", flush=True)
            async with admin.begin() as conn:
                await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
            store = stores[size] = Store(url, schema=schema, line_modes=MODES, zone=ZONE)
            started = time.perf_counter()
            month = MonthOfCalls(size)
            await load_postgresql(store, schema, month)
            loaded = time.perf_counter() - started
            checks, actions[size] = await prepare_reads(store, month)
            results[str(size)] = {"calls": size, "load_seconds": round(loaded, 1), **checks}
        for size, timings in (await time_interleaved(actions)).items():
            results[str(size)].update(timings)
        if ingest_calls:
            store = stores[sizes[-1]]
            async with store.engine.begin() as conn:
                for table in ("calls", "journal_events", *(t.name for t in ROLLUPS)):
                    await conn.execute(text(f"TRUNCATE {table}"))
            results["ingestion"] = await measure_ingestion(store, workdir / "pg.spool",
                                                           ingest_calls)
    finally:
        for store in stores.values():
            await store.close()
        async with admin.begin() as conn:
            for schema in schemas.values():
                await conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        await admin.dispose()
    return results


MEASURED = (("month_report", "month report"),
            ("exporter_scrape_whole_metrics_page", "whole /metrics page"))


def readme_table(results: dict[str, Any]) -> str:
    sizes = results["sizes"]
    small, large = str(sizes[0]), str(sizes[-1])
    head = " | ".join(f"{int(size):,} calls" for size in sizes)
    lines = [
        f"Measured {results['measured_at']} on this machine (2 cores, shared), "
        f"`.venv/bin/python bench/report_bench.py`; median of {RUNS} runs, interleaved "
        "across sizes, ms:",
        "",
        f"| database | read | {head} | {large} / {small} | target |",
        "|---|---|" + "---|" * len(sizes) + "---|---|",
    ]
    for database in ("sqlite", "postgresql"):
        if database not in results:
            continue
        for key, label in MEASURED:
            figures = [results[database][str(size)][key]["median_s"] * 1000 for size in sizes]
            ratio = figures[-1] / figures[0] if figures[0] else float("nan")
            met = figures[-1] <= 50 and ratio <= 1.2
            cells = " | ".join(f"{value:.1f}" for value in figures)
            lines.append(f"| {database} | {label} | {cells} | {ratio:.2f} | "
                         f"{'met' if met else '**missed**'} (<= 50 ms, <= 1.2x) |")
    return "\n".join(lines)


def write_readme(table: str) -> None:
    readme = ROOT / "README.md"
    text_ = readme.read_text()
    start, end = "<!-- bench:report -->", "<!-- /bench:report -->"
    if start in text_ and end in text_:
        before, rest = text_.split(start, 1)
        _, after = rest.split(end, 1)
        readme.write_text(f"{before}{start}\n{table}\n{end}{after}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,1000000",
                        help="comma-separated numbers of calls to load, smallest first")
    parser.add_argument("--ingest-calls", type=int, default=5_000)
    parser.add_argument("--readme-only", action="store_true",
                        help="rewrite the README table from bench/results/report.json")
    args = parser.parse_args()
    if args.readme_only:
        write_readme(readme_table(json.loads((RESULTS / "report.json").read_text())))
        return
    sizes = [int(size) for size in args.sizes.split(",")]
    results: dict[str, Any] = {
        "month": MONTH, "zone": str(ZONE), "sizes": sizes,
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    url = os.environ.get("HOTLINE_TEST_DATABASE_URL")
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        workdir = Path(tmp)
        for database in ("sqlite", "postgresql"):
            if database == "postgresql" and not url:
                continue
            if database == "sqlite":
                measured = await bench_sqlite(sizes, args.ingest_calls, workdir)
            else:
                assert url is not None
                measured = await bench_postgresql(url, sizes, args.ingest_calls, workdir)
            results[database] = measured
            print(json.dumps(measured, indent=2), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "report.json").write_text(json.dumps(results, indent=2) + "\n")
    table = readme_table(results)
    write_readme(table)
    print(table)
    print(f"written to {RESULTS / 'report.json'}")


if __name__ == "__main__":
    asyncio.run(main())
