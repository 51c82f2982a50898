"""A month's report over a million stored calls, and the journal's ingestion rate.

    .venv/bin/python bench/report_bench.py [--calls 1000000] [--ingest-calls 5000]

1. Fills a fresh database with `--calls` calls spread over November 2026 (Asia/Shanghai,
   busier in office hours), bulk-loaded with the driver's fastest path. Each call is a
   copy, moved in time, of one of a few dozen call records folded from realistic event
   sequences (every outcome, waits from 0 to 90 s), and the rollup is built from the same
   records' tallies, exactly as ingestion would have built it; a sampled day is checked
   against a recount of its calls.
2. Times what readers do: the month report (`hotline report --month`), a scrape (today's
   report plus the all-time counters), the newest calls.
3. Measures ingestion: the events of `--ingest-calls` calls, interleaved in time order as
   they would arrive from many concurrent calls, emitted into a `JournalWriter` as fast as
   possible, until flushed. 50 calls/s of about 12 events each is 600 events/s.

SQLite always; PostgreSQL too when HOTLINE_TEST_DATABASE_URL is set (in a schema of its
own, dropped afterwards). Writes bench/results/report.json and prints the numbers.
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

from sqlalchemy import text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from ivr.config import Targets, load_config  # noqa: E402
from ivr.domain.events import EventKind, JournalEvent  # noqa: E402
from ivr.domain.outcomes import fold  # noqa: E402
from ivr.domain.record import CallRecord  # noqa: E402
from ivr.domain.tally import Tally, bucket_start, ring_tally  # noqa: E402
from ivr.journal.queries import day_range, month_range, recount, report, today_range  # noqa: E402
from ivr.journal.store import Store, calls_table  # noqa: E402
from ivr.journal.tables import record_to_row, ring_stats_table, stats_table  # noqa: E402
from ivr.journal.writer import JournalWriter  # noqa: E402
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
            folded.append((fold(call.events, MODES, 5.0), share / len(waits)))
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
    for table, table_rows in ((stats_table, stat_rows), (ring_stats_table, ring_rows)):
        names = [column.name for column in table.columns]
        db.executemany(
            f"INSERT INTO {table.name} ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})",
            [tuple(_sqlite_time(r[n]) if n == "bucket_start" else r[n] for n in names)
             for r in table_rows],
        )
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
        for table, table_rows in ((stats_table, stat_rows), (ring_stats_table, ring_rows)):
            names = [column.name for column in table.columns]
            await driver.copy_records_to_table(
                table.name, records=[tuple(r[n] for n in names) for r in table_rows],
                columns=names, schema_name=schema,
            )
        await driver.execute("ANALYZE")
        await conn.commit()


# -- measuring -------------------------------------------------------------------------------


async def timed(action: Callable[[], Awaitable[Any]], runs: int = 5) -> dict[str, float]:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        await action()
        times.append(time.perf_counter() - started)
    return {"first_s": round(times[0], 4), "median_s": round(statistics.median(times), 4),
            "max_s": round(max(times), 4)}


async def measure_reads(store: Store, month: MonthOfCalls) -> dict[str, Any]:
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
    return {
        "month_report": await timed(month_report),
        "scrape_today_and_totals": await timed(scrape),
        "exporter_scrape_whole_metrics_page": await timed(exporter_scrape),
        "newest_50_calls": await timed(newest_calls),
        "calls_of_a_line_and_outcome": await timed(line_calls),
        "offered_in_month": result.tally.offered,
        "rollup_equals_recount_for_a_sampled_day": recounted == from_rollup,
        "month_kpi": {rate.name: (round(rate.value, 4) if rate.value is not None else None)
                      for rate in result.kpi.headline},
    }


async def measure_ingestion(store: Store, spool: Path, calls: int) -> dict[str, Any]:
    rng = random.Random(5)
    starts = sorted(datetime(2026, 12, 1, 2, tzinfo=UTC) + timedelta(seconds=rng.random() * 600)
                    for _ in range(calls))  # ~ calls/600 new calls a second, overlapping
    events = []
    for n, start in enumerate(starts):
        kind = rng.choices([k for k, _, _ in MIX], [w for _, w, _ in MIX])[0]
        waits = next(w for k, _, w in MIX if k == kind)
        events += scripted_call(kind, f"ingest.{n}", start, rng.choice(waits)).events
    events.sort(key=lambda e: e.at)  # as they arrive from many concurrent calls
    writer = JournalWriter(store, spool, lost_sweep_every=None)
    await writer.start()
    emit_cost = _emit_microseconds(events[:20_000], spool.with_name("emit.spool"))
    started = time.perf_counter()
    for event in events:
        writer.emit(event)
        if writer.queue_depth > 20_000:
            await asyncio.sleep(0)  # let the writer run, as the event loop would
    emitted = time.perf_counter() - started
    await writer.flush()
    elapsed = time.perf_counter() - started
    stats = writer.stats
    await writer.close()
    return {
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


async def bench_sqlite(calls: int, ingest_calls: int, workdir: Path) -> dict[str, Any]:
    path = workdir / "month.sqlite3"
    store = Store(f"sqlite+aiosqlite:///{path}", line_modes=MODES)
    started = time.perf_counter()
    month = MonthOfCalls(calls)
    await load_sqlite(store, path, month)
    loaded = time.perf_counter() - started
    reads = await measure_reads(store, month)
    await store.close()
    ingest_store = Store(f"sqlite+aiosqlite:///{workdir / 'ingest.sqlite3'}", line_modes=MODES)
    await ingest_store.migrate()
    ingestion = await measure_ingestion(ingest_store, workdir / "ingest.spool", ingest_calls)
    await ingest_store.close()
    return {"calls": calls, "load_seconds": round(loaded, 1),
            "database_mb": round(path.stat().st_size / 2**20), **reads, "ingestion": ingestion}


async def bench_postgresql(url: str, calls: int, ingest_calls: int, workdir: Path
                           ) -> dict[str, Any]:
    schema = f"hotline_bench_{uuid.uuid4().hex[:8]}"
    admin = create_async_engine(url)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        store = Store(url, schema=schema, line_modes=MODES)
        started = time.perf_counter()
        month = MonthOfCalls(calls)
        await load_postgresql(store, schema, month)
        loaded = time.perf_counter() - started
        reads = await measure_reads(store, month)
        async with store.engine.begin() as conn:
            for table in ("calls", "call_stats_15min", "ring_stats_15min", "journal_events"):
                await conn.execute(text(f"TRUNCATE {table}"))
        ingestion = await measure_ingestion(store, workdir / "pg.spool", ingest_calls)
        await store.close()
    finally:
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()
    return {"calls": calls, "load_seconds": round(loaded, 1), **reads, "ingestion": ingestion,
            "server": make_url(url).render_as_string(hide_password=True)}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1_000_000)
    parser.add_argument("--ingest-calls", type=int, default=5_000)
    args = parser.parse_args()
    results: dict[str, Any] = {"month": MONTH, "zone": str(ZONE)}
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        workdir = Path(tmp)
        print(f"SQLite: loading {args.calls} calls ...", flush=True)
        results["sqlite"] = await bench_sqlite(args.calls, args.ingest_calls, workdir)
        print(json.dumps(results["sqlite"], indent=2), flush=True)
        url = os.environ.get("HOTLINE_TEST_DATABASE_URL")
        if url:
            print(f"PostgreSQL: loading {args.calls} calls ...", flush=True)
            results["postgresql"] = await bench_postgresql(
                url, args.calls, args.ingest_calls, workdir
            )
            print(json.dumps(results["postgresql"], indent=2), flush=True)
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / "report.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"written to {RESULTS / 'report.json'}")


if __name__ == "__main__":
    asyncio.run(main())
