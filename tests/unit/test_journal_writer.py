"""The journal writer: `emit` never blocks or raises; batches reach the store; when the
database fails (a locked SQLite file, a PostgreSQL that went away, a closed port) the
events wait in the spool and are replayed when it returns: nothing lost, nothing
doubled."""

from __future__ import annotations

import asyncio
import contextlib
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import AsyncIterator, Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DataError
from sqlalchemy.ext.asyncio import create_async_engine

from ivr.domain.events import EventKind, JournalEvent
from ivr.journal.queries import recount
from ivr.journal.store import Store
from ivr.journal.writer import JournalWriter
from ivr.journal.writer_thread import ThreadedJournalWriter
from tests.unit import test_journal_store as journal_store
from tests.unit.test_journal_store import PG_URL, Database, a_day_of_calls, all_events, rollup
from tests.unit.test_outcomes import MODES, T0, answered_by_agent

# quick retries; no sweep for lost calls (the test calls are in the future)
# the store tests' fixtures: a store on SQLite and (when configured) on PostgreSQL
database = journal_store.database
store = journal_store.store

FAST: dict[str, Any] = {
    "batch_wait": 0.005, "retry_first": 0.05, "retry_max": 0.2, "lost_sweep_every": None
}


async def eventually(check: Callable[[], Any], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        outcome = check()
        if asyncio.iscoroutine(outcome):
            outcome = await outcome
        if outcome:
            return
        if time.monotonic() > deadline:
            raise AssertionError("the condition did not become true in time")
        await asyncio.sleep(0.02)


async def assert_stored_exactly(store: Store, events: Iterable[JournalEvent]) -> None:
    unique = {event.key for event in events}
    assert await store.count_events() == len(unique)
    window = (T0 - timedelta(days=2), T0 + timedelta(days=2))
    assert await rollup(store) == await recount(store, *window)


@pytest.fixture(params=["loop", "thread"])
def writer_class(request: pytest.FixtureRequest) -> type[JournalWriter]:
    """The writer on the event loop, and on a thread of its own (the service's)."""
    return ThreadedJournalWriter if request.param == "thread" else JournalWriter


@pytest.fixture
async def writer(
    store: Store, tmp_path: Path, writer_class: type[JournalWriter]
) -> AsyncIterator[JournalWriter]:
    writer = writer_class(store, tmp_path / "journal.spool", **FAST)
    await writer.start()
    yield writer
    await writer.close()


async def test_emitted_events_are_stored_in_batches(
    writer: JournalWriter, store: Store
) -> None:
    events = all_events(a_day_of_calls(count=40))
    for event in events:
        writer.emit(event)
    await writer.flush()
    await assert_stored_exactly(store, events)
    stats = writer.stats
    assert (stats.received, stats.ingested, stats.spooled) == (len(events), len(events), 0)
    assert stats.batches < len(events) / 10
    assert stats.queue_depth == 0 and stats.database_up
    assert stats.last_event_at == max(event.at for event in events)


async def test_duplicates_from_a_reconnect_are_counted_not_stored(
    writer: JournalWriter, store: Store
) -> None:
    events = answered_by_agent().events
    for event in events + events:
        writer.emit(event)
    await writer.flush()
    assert await store.count_events() == len(events)
    assert writer.stats.duplicates == len(events)


async def test_emit_never_blocks_and_overflows_into_the_spool(
    store: Store, tmp_path: Path, writer_class: type[JournalWriter]
) -> None:
    writer = writer_class(store, tmp_path / "journal.spool", max_queue=10, **FAST)
    events = all_events(a_day_of_calls(count=8))
    started = time.monotonic()
    for event in events:  # the writer is not even running: nothing drains the queue
        writer.emit(event)
    assert time.monotonic() - started < 1.0
    assert writer.stats.queue_depth == 10
    assert writer.stats.spooled == len(events) - 10
    await writer.start()
    await writer.flush()
    await eventually(lambda: not writer.spool.pending)
    await assert_stored_exactly(store, events)
    await writer.close()


async def test_events_that_cannot_be_stored_are_set_aside(
    writer: JournalWriter, store: Store
) -> None:
    good = answered_by_agent().events
    nameless = JournalEvent(linkedid="", kind=EventKind.call_ended, at=T0, source="ami")
    too_long = JournalEvent(linkedid="9" * 200, kind=EventKind.call_ended, at=T0, source="ami")
    odd = JournalEvent(
        linkedid="odd", kind=EventKind.call_arrived, at=T0, source="ami",
        data={"line": "main\x00", "caller": "1" * 5000, "bytes": float("nan")},
    )
    for event in [*good, nameless, too_long, odd]:
        writer.emit(event)
    writer.emit("not an event")  # type: ignore[arg-type]  # must not raise either
    await writer.flush()
    assert writer.stats.rejected == 2
    assert len(writer.spool.rejected.read_text().splitlines()) == 2
    stored = await store.events_of("odd")
    assert stored[0].data["line"] == "main"
    assert len(str(stored[0].data["caller"])) == 1024
    assert stored[0].data["bytes"] is None
    assert await store.count_events() == len(good) + 1


class PickyStore:
    """A store that refuses one call's events as invalid data (as a constraint would)."""

    def __init__(self, store: Store) -> None:
        self.store = store

    async def ingest(self, events: list[JournalEvent]) -> int:
        if any(event.linkedid == "poison" for event in events):
            raise DataError("INSERT ...", {}, ValueError("value out of range"))
        return await self.store.ingest(events)

    async def close_lost_calls(self, *args: Any) -> int:
        return 0


async def test_one_invalid_event_does_not_hold_up_the_others(
    store: Store, tmp_path: Path
) -> None:
    writer = JournalWriter(PickyStore(store), tmp_path / "journal.spool", **FAST)  # type: ignore[arg-type]
    await writer.start()
    good = all_events(a_day_of_calls(count=5))
    poison = answered_by_agent("poison").events[:2]
    for event in [*good[:10], *poison, *good[10:]]:
        writer.emit(event)
    await writer.close()
    await assert_stored_exactly(store, good)
    assert writer.stats.rejected == 2
    assert writer.stats.database_up


# -- database outages ------------------------------------------------------------------------


async def test_a_locked_sqlite_database_spools_and_replays(
    tmp_path: Path, writer_class: type[JournalWriter]
) -> None:
    path = tmp_path / "journal.sqlite3"
    store = Store(f"sqlite+aiosqlite:///{path}", line_modes=MODES, busy_timeout=0.1)
    await store.migrate()
    writer = writer_class(store, tmp_path / "journal.spool", **FAST)
    await writer.start()
    calls = a_day_of_calls(count=30)
    before, during, after = calls[:10], calls[10:20], calls[20:]
    for event in all_events(before):
        writer.emit(event)
    await writer.flush()

    # another process holds the write lock (a backup, an administrator's shell)
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        for event in all_events(during) + all_events(before)[:5]:
            writer.emit(event)
        await writer.flush()
        assert not writer.stats.database_up
        assert writer.stats.spooled > 0 and writer.spool.pending
        assert writer.stats.spool_pending == writer.stats.spooled
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()

    for event in all_events(after):
        writer.emit(event)
    await eventually(lambda: writer.stats.database_up and not writer.spool.pending)
    await writer.flush()
    await assert_stored_exactly(store, all_events(calls))
    assert writer.stats.replayed >= len(all_events(during))
    assert writer.stats.spool_pending == 0
    await writer.close()
    await store.close()


async def test_a_database_down_at_start_up_is_caught_up_by_the_next_start(
    tmp_path: Path, writer_class: type[JournalWriter],
) -> None:
    closed_port = _free_port()
    unreachable = Store(f"postgresql+asyncpg://postgres@127.0.0.1:{closed_port}/test")
    writer = writer_class(unreachable, tmp_path / "journal.spool", **FAST)
    await writer.start()
    events = all_events(a_day_of_calls(count=12))
    for event in events:
        writer.emit(event)
    await writer.close()  # e.g. the service stopped before the database came back
    await unreachable.close()
    assert writer.stats.spooled == len(events)
    assert writer.stats.ingested == 0 and writer.stats.database_errors >= 1

    store = Store(f"sqlite+aiosqlite:///{tmp_path}/journal.sqlite3", line_modes=MODES)
    again = writer_class(store, tmp_path / "journal.spool", **FAST)
    await again.start()
    await eventually(lambda: not again.spool.pending)
    await assert_stored_exactly(store, events)
    assert again.stats.replayed == len(events)
    await again.close()
    await store.close()


async def test_a_replay_interrupted_by_a_crash_is_finished_without_doubles(
    store: Store, tmp_path: Path, writer_class: type[JournalWriter]
) -> None:
    events = all_events(a_day_of_calls(count=10))
    await store.ingest(events[: len(events) // 2])  # replayed before the crash
    spool_path = tmp_path / "journal.spool"
    writer = writer_class(store, spool_path, **FAST)
    writer.spool.append(events)
    writer.spool.take()  # the crash came mid-replay: the .replaying file is left
    await writer.start()
    await eventually(lambda: not writer.spool.pending)
    await assert_stored_exactly(store, events)
    assert writer.stats.ingested == len(events) - len(events) // 2
    await writer.close()


@pytest.mark.postgres
@pytest.mark.skipif(not PG_URL, reason="HOTLINE_TEST_DATABASE_URL is not set")
async def test_postgresql_going_away_and_coming_back(
    tmp_path: Path, writer_class: type[JournalWriter]
) -> None:
    target = make_url(PG_URL)
    proxy = TcpProxy(target.host or "127.0.0.1", target.port or 5432)
    await proxy.start()
    schema = f"hotline_test_{uuid.uuid4().hex[:12]}"
    admin = create_async_engine(PG_URL)
    async with admin.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    through_proxy = target.set(port=proxy.port).render_as_string(hide_password=False)
    store = Database(through_proxy, schema).store()
    writer = writer_class(store, tmp_path / "journal.spool", **FAST)
    try:
        await store.migrate()
        await writer.start()
        calls = a_day_of_calls(count=24)
        for event in all_events(calls[:8]):
            writer.emit(event)
        await writer.flush()
        assert writer.stats.ingested == len(all_events(calls[:8]))

        await proxy.stop()  # the database server went away
        for event in all_events(calls[8:16]):
            writer.emit(event)
        await writer.flush()
        assert not writer.stats.database_up
        assert writer.stats.spooled == len(all_events(calls[8:16]))

        await proxy.start()  # ... and came back
        for event in all_events(calls[16:]):
            writer.emit(event)
        await eventually(lambda: writer.stats.database_up and not writer.spool.pending)
        await writer.flush()
        await assert_stored_exactly(store, all_events(calls))
    finally:
        await writer.close()
        await store.close()
        await proxy.stop()
        async with admin.begin() as conn:
            await conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        await admin.dispose()


class TcpProxy:
    """Forwards a local port to the database; `stop` is the database going away."""

    def __init__(self, host: str, port: int) -> None:
        self.target = (host, port)
        self.port = _free_port()
        self.server: asyncio.Server | None = None
        self.links: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._link, "127.0.0.1", self.port)

    async def stop(self) -> None:
        if self.server is not None:
            self.server.close()
            self.server = None
        for link in list(self.links):
            link.transport.abort()
        self.links.clear()

    async def _link(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self.links.update({writer, up_writer})
        await asyncio.gather(_pipe(reader, up_writer), _pipe(up_reader, writer))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(OSError, asyncio.IncompleteReadError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.transport.abort()


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_the_writer_closes_calls_whose_end_never_came(
    store: Store, tmp_path: Path, writer_class: type[JournalWriter]
) -> None:
    stuck = answered_by_agent("stuck").events[:5]  # the AMI connection dropped mid-call
    await store.ingest(stuck)
    writer = writer_class(store, tmp_path / "journal.spool", **{**FAST, "lost_sweep_every": 60})
    await writer.start()
    await eventually(lambda: writer.stats.lost_calls_closed == 1)
    record = await store.call("stuck")
    assert record is not None and record.end_cause == "lost"
    await writer.close()


async def test_the_threaded_writer_folds_and_writes_off_the_event_loop(
    store: Store, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Call control's loop only queues: every ingest (fold, rows, SQL) runs on the
    writer's own thread, in the order the events were emitted."""
    threads: list[int] = []
    ingest = Store.ingest

    async def watched(self: Store, events: Iterable[JournalEvent]) -> int:
        threads.append(threading.get_ident())
        return await ingest(self, events)

    monkeypatch.setattr(Store, "ingest", watched)
    writer = ThreadedJournalWriter(store, tmp_path / "journal.spool", **FAST)
    await writer.start()
    calls = a_day_of_calls(count=30)
    for event in all_events(calls):
        writer.emit(event)
    await writer.flush()
    await writer.close()
    assert threads and threading.get_ident() not in threads
    await assert_stored_exactly(store, all_events(calls))
    for call in calls:
        stored = await store.events_of(call.linkedid)
        assert [e.key for e in stored] == [e.key for e in sorted(call.events, key=lambda e: e.at)]
