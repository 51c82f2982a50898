"""Reconciliation: the journal reads Asterisk's durable record from its stored
checkpoint and folds, with the one fold, every call it lacks or holds incomplete.

A pass (at start, after every AMI or ARI reconnect, and periodically):

1. waits until every live event emitted so far is in the store; a pass is put off while
   the database is away (events then wait in the spool, and the store could not say
   what it holds);
2. reads the CEL and queue_log lines from the checkpoints (whole lines; corrupt ones are
   skipped, counted and logged);
3. takes the calls whose end (CEL LINKEDID_END) is at least `settle` seconds old: by then
   the live path has reported all it will ever report of them;
4. rebuilds each one's events (`ivr.durable.calls`), keeps those the journal lacks
   (`missing`) and emits them, marked with their source (`cel`, `queue_log`), into the
   journal's writer: the store folds them with the live ones, idempotently;
5. moves the checkpoints to the first line of the oldest call not yet ended, so a call
   is read whole, and a call read again adds nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog
from sqlalchemy.exc import DBAPIError

from ivr.domain.events import EventSink, JournalEvent
from ivr.durable.calls import call_events, missing
from ivr.durable.record import CelRow, QueueLogRow, read_cel, read_queue_log
from ivr.journal.store import Store

log = structlog.get_logger(__name__)

CEL_CHECKPOINT = "durable.cel_offset"
QUEUE_LOG_CHECKPOINT = "durable.queue_log_offset"
CHUNK = 100  # calls compared with the journal at a time
STUCK_AFTER = timedelta(hours=2)  # a call with no end this long after it began: read on


@dataclass(slots=True)
class ReconcileStats:
    passes: int = 0
    passes_put_off: int = 0  # the database was away
    calls_checked: int = 0  # ended calls read from the record (a call may be read twice)
    calls_completed: int = 0  # calls that gained events from the record
    events_added: int = 0
    bad_lines: int = 0
    failures: int = 0
    last_pass_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class PassResult:
    calls_checked: int
    calls_completed: int
    events_added: int
    bad_lines: int
    waiting: int  # ended calls younger than `settle`: the next pass takes them


class Reconciler:
    def __init__(
        self,
        store: Store,
        sink: EventSink,
        *,
        flush: Callable[[], Awaitable[None]],
        ready: Callable[[], bool],
        cel_path: Path,
        queue_log_path: Path,
        settle: float = 5.0,
        every: float = 30.0,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
        node: str | None = None,
    ) -> None:
        self.store = store
        # each node's record is read from its own checkpoints (one journal, several nodes)
        suffix = f".{node}" if node else ""
        self.cel_checkpoint = CEL_CHECKPOINT + suffix
        self.queue_log_checkpoint = QUEUE_LOG_CHECKPOINT + suffix
        self.sink = sink
        self.flush = flush
        self.ready = ready
        self.cel_path = cel_path
        self.queue_log_path = queue_log_path
        self.settle = settle
        self.every = every
        self.now = now
        self._stats = ReconcileStats()
        self._wake = asyncio.Event()
        self._lock = asyncio.Lock()
        self._task: asyncio.Task[None] | None = None
        self._later: asyncio.TimerHandle | None = None
        self.passed = asyncio.Condition()  # notified after every pass (tests wait on it)

    @property
    def stats(self) -> ReconcileStats:
        return replace(self._stats)

    def request(self) -> None:
        """A pass soon (a reconnect: the live path may have missed calls)."""
        self._wake.set()
        if self._later is None:
            # calls that ended just before the reconnect are taken once they settle
            loop = asyncio.get_running_loop()
            self._later = loop.call_later(self.settle + 0.5, self._wake_later)

    def _wake_later(self) -> None:
        self._later = None
        self._wake.set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="journal-reconcile")
        self.request()

    async def stop(self) -> None:
        if self._later is not None:
            self._later.cancel()
            self._later = None
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _run(self) -> None:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.every)
            self._wake.clear()
            try:
                result = await self.run_once()
            except DBAPIError as exc:  # the database went away mid-pass: as if put off
                self._stats.passes_put_off += 1
                log.warning("durable.reconcile_put_off", error=str(exc.orig)[:200])
                continue
            except Exception:  # never fatal: the record stays, the next pass reads it
                self._stats.failures += 1
                log.exception("durable.reconcile_failed")
                continue
            if result is not None and result.waiting and self._later is None:
                self._later = asyncio.get_running_loop().call_later(
                    self.settle, self._wake_later
                )

    async def run_once(self) -> PassResult | None:
        """One pass; None when put off (the database is away)."""
        async with self._lock:
            result = await self._pass()
        async with self.passed:
            self.passed.notify_all()
        return result

    async def _pass(self) -> PassResult | None:
        await self.flush()
        if not self.ready():
            self._stats.passes_put_off += 1
            return None
        started = time.monotonic()
        cel_from = int(await self.store.meta(self.cel_checkpoint) or 0)
        queue_from = int(await self.store.meta(self.queue_log_checkpoint) or 0)
        cel = await asyncio.to_thread(read_cel, self.cel_path, cel_from)
        queue = await asyncio.to_thread(read_queue_log, self.queue_log_path, queue_from)

        # sorting thousands of lines out by call is Python work: on a worker thread, so
        # the loop that drives the calls is not held while a pass reads the record
        rows, ended, queue_rows = await asyncio.to_thread(_by_call, cel.rows, queue.rows)
        now = self.now()
        ripe = now - timedelta(seconds=self.settle)
        done = {linkedid for linkedid, at in ended.items() if at <= ripe}
        stuck = {
            linkedid for linkedid, call in rows.items()
            if linkedid not in ended and call[-1].at < now - STUCK_AFTER
        }
        waiting = len(ended) - len(done)

        added = completed = 0
        take = sorted(done | stuck)
        lacking = await asyncio.to_thread(self._compare_off_the_loop, take, rows, queue_rows)
        for linkedid in take:
            new = lacking.get(linkedid, [])
            for event in new:
                self.sink.emit(event)
            added += len(new)
            completed += bool(new)
            if new:
                log.info("durable.call_reconciled", linkedid=linkedid, events=len(new),
                         kinds=sorted({e.kind.value for e in new}))
        await self.flush()

        # The oldest call not yet taken holds both checkpoints at its first line.
        open_calls = [call for linkedid, call in rows.items() if linkedid not in done | stuck]
        cel_to = min((call[0].offset for call in open_calls), default=cel.end)
        if cel.cut:
            cel_to = min(cel_to, cel.end)
        oldest = min((call[0].at for call in open_calls), default=None)
        if cel.cut and cel.rows:
            oldest = min(oldest or cel.rows[-1].at, cel.rows[-1].at)
        queue_to = queue.end
        if oldest is not None:
            margin = oldest - timedelta(seconds=2)
            queue_to = min((q.offset for q in queue.rows if q.at >= margin), default=queue.end)
        await self.store.set_meta(self.cel_checkpoint, str(cel_to))
        await self.store.set_meta(self.queue_log_checkpoint, str(queue_to))

        bad = cel.bad + queue.bad
        s = self._stats
        s.passes += 1
        s.calls_checked += len(take)
        s.calls_completed += completed
        s.events_added += added
        s.bad_lines += bad
        s.last_pass_at = now
        if added or bad:
            log.info("durable.reconciled", calls=len(take), completed=completed, events=added,
                     bad_lines=bad, seconds=round(time.monotonic() - started, 3))
        return PassResult(len(take), completed, added, bad, waiting)


    def _compare_off_the_loop(
        self,
        take: list[str],
        rows: dict[str, list[CelRow]],
        queue_rows: dict[str, list[QueueLogRow]],
    ) -> dict[str, list[JournalEvent]]:
        """What the journal lacks of each call `take` names, found on a worker thread with
        an event loop and a database connection of its own: loading and comparing the
        journal's events of every call of the last minutes (thousands at a busy hour) is
        Python work that would otherwise hold the loop that drives the calls."""
        if not take:  # a quiet pass: no connection to open
            return {}

        async def compare() -> dict[str, list[JournalEvent]]:
            store = self.store.twin()
            try:
                lacking: dict[str, list[JournalEvent]] = {}
                for start in range(0, len(take), CHUNK):
                    chunk = take[start:start + CHUNK]
                    held = await store.events_of_calls(chunk)
                    lacking.update(_lacking(chunk, rows, queue_rows, held))
                return lacking
            finally:
                await store.close()

        return asyncio.run(compare())


def _by_call(
    cel_rows: list[CelRow], queue_log_rows: list[QueueLogRow]
) -> tuple[dict[str, list[CelRow]], dict[str, datetime], dict[str, list[QueueLogRow]]]:
    """The record's lines by call, and when each call ended (its LINKEDID_END)."""
    rows: dict[str, list[CelRow]] = defaultdict(list)
    ended: dict[str, datetime] = {}
    for row in cel_rows:
        rows[row.linkedid].append(row)
        if row.eventtype == "LINKEDID_END":
            ended[row.linkedid] = row.at
    queue_rows: dict[str, list[QueueLogRow]] = defaultdict(list)
    for qrow in queue_log_rows:
        queue_rows[qrow.callid].append(qrow)
    return rows, ended, queue_rows


def _lacking(
    chunk: list[str],
    rows: dict[str, list[CelRow]],
    queue_rows: dict[str, list[QueueLogRow]],
    held: dict[str, list[JournalEvent]],
) -> dict[str, list[JournalEvent]]:
    """Each call's events rebuilt from the record that the journal does not hold."""
    return {
        linkedid: missing(
            call_events(linkedid, rows.get(linkedid, []), queue_rows.get(linkedid, [])),
            held[linkedid],
        )
        for linkedid in chunk
    }
