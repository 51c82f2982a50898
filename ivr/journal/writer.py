"""The journal writer: the one door events take into the store.

`emit` is what call control calls. It never blocks and never raises: the event goes on
a bounded in-memory queue (when even that is full, straight into the spool file: a
local append, the last resort). A background task drains the queue in batches (up to
`batch_size` events, or whatever came within `batch_wait` seconds) and commits each
batch in one transaction.

When the database fails, the batch goes to the spool and the database is retried with
exponential backoff; batches arriving meanwhile go to the spool too. Once the database
answers again, the spool is replayed, then removed. Ingestion is idempotent, so a
crash in the middle of a replay only means some events are replayed twice, harmlessly.

An event the store refuses as invalid (not an outage) is set aside in the spool's
`.rejected` file instead of blocking every batch behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import structlog
from sqlalchemy.exc import DataError, DBAPIError, IntegrityError, StatementError

from ivr.domain.events import JournalEvent, Scalar
from ivr.journal.spool import Spool
from ivr.journal.store import Store

log = structlog.get_logger(__name__)

ID_MAX = 64  # linkedid and key columns
TEXT_MAX = 1024  # any text in an event's data


@dataclass(slots=True)
class WriterStats:
    """For metrics and the API (`JournalWriter.stats` hands out copies); counters only
    ever grow."""

    received: int = 0  # events emitted
    ingested: int = 0  # new events stored (duplicates not counted)
    duplicates: int = 0  # events the store already had
    spooled: int = 0  # events written to the spool
    replayed: int = 0  # spooled events read back into the store
    rejected: int = 0  # invalid events set aside
    batches: int = 0
    database_errors: int = 0
    lost_calls_closed: int = 0
    database_up: bool = True
    queue_depth: int = 0
    spool_pending: int = 0  # events in the spool now, waiting for the database
    spool_bytes: int = 0
    last_event_at: datetime | None = None  # newest event time seen
    last_error: str | None = None


class JournalWriter:
    def __init__(
        self,
        store: Store,
        spool_path: Path,
        *,
        max_queue: int = 100_000,
        batch_size: int = 500,
        batch_wait: float = 0.05,
        retry_first: float = 0.5,
        retry_max: float = 30.0,
        lost_sweep_every: float | None = 300.0,
    ) -> None:
        self.store = store
        self.spool = Spool(spool_path)
        self.batch_size = batch_size
        self.batch_wait = batch_wait
        self.retry_first = retry_first
        self.retry_max = retry_max
        self.lost_sweep_every = lost_sweep_every
        self._queue: asyncio.Queue[JournalEvent] = asyncio.Queue(maxsize=max_queue)
        self._stats = WriterStats()
        self._retry_delay = retry_first
        self._retry_at = 0.0  # monotonic; the database is tried again from then on
        self._next_sweep = 0.0
        self._task: asyncio.Task[None] | None = None
        self._closed = False
        self._refold_due = False

    # -- what call control sees -------------------------------------------------------

    def emit(self, event: JournalEvent) -> None:
        """Hand an event to the journal. Never blocks, never raises."""
        try:
            self._stats.received += 1
            clean = sanitized(event)
            if clean is None:
                self._reject([event])
                return
            if self._stats.last_event_at is None or clean.at > self._stats.last_event_at:
                self._stats.last_event_at = clean.at
            if self._closed:
                self._spool_now([clean])
                return
            if not self._enqueue(clean):
                self._spool_now([clean])
        except Exception:  # call control must never see the journal fail
            log.exception("journal.emit_failed", linkedid=getattr(event, "linkedid", "?"))

    def _enqueue(self, event: JournalEvent) -> bool:
        """Queue an event for the writer; False when the queue is full (it is spooled)."""
        try:
            self._queue.put_nowait(event)
        except asyncio.QueueFull:
            return False
        return True

    @property
    def queue_depth(self) -> int:
        return self._queue.qsize()

    @property
    def stats(self) -> WriterStats:
        return replace(
            self._stats,
            queue_depth=self._queue.qsize(),
            spool_pending=self.spool.pending_events,
            spool_bytes=self.spool.size_bytes,
        )

    # -- lifecycle ----------------------------------------------------------------------

    def request_refold(self) -> None:
        """New counting rules (a reload): history is folded again, between batches, by
        this writer, the journal's one writer."""
        self._refold_due = True

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="journal-writer")

    async def flush(self) -> None:
        """Wait until every event emitted so far is stored or spooled."""
        if self._task is None or self._task.done():
            await self._write_queued_now()
            return
        await self._queue.join()

    async def close(self, timeout: float = 30.0) -> None:
        """Stop: what is queued is stored (or spooled); later events go to the spool."""
        self._closed = True
        try:
            await asyncio.wait_for(self.flush(), timeout)
        except TimeoutError:
            log.critical("journal.close_timeout", unsaved=self._queue.qsize())
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    # -- the background task ----------------------------------------------------------

    async def _run(self) -> None:
        while True:
            batch: list[JournalEvent] = []
            try:
                if self.spool.pending and self._database_due():
                    await self._replay_spool()  # after an outage, or from a previous run
                if self._refold_due and self._database_due():
                    self._refold_due = False
                    await self.store.refold_if_stale()
                await self._sweep_lost_calls()
                batch = await self._next_batch()
                if batch:
                    await self._write(batch)
            except Exception:  # a bug must not stop the journal: the events are safe
                log.exception("journal.writer_failed")
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _next_batch(self) -> list[JournalEvent]:
        """The next batch, or nothing when it is time to retry the database or sweep."""
        try:
            first = await asyncio.wait_for(self._queue.get(), self._idle_timeout())
        except TimeoutError:
            return []
        if self._queue.qsize() + 1 < self.batch_size:
            await asyncio.sleep(self.batch_wait)  # let a batch gather
        batch = [first]
        while len(batch) < self.batch_size and not self._queue.empty():
            batch.append(self._queue.get_nowait())
        return batch

    def _idle_timeout(self) -> float:
        """How long to wait for an event before there is other work to do."""
        now = time.monotonic()
        wake = self._next_sweep if self.lost_sweep_every is not None else now + 60.0
        if self.spool.pending:
            wake = min(wake, self._retry_at)
        return max(wake - now, 0.01)

    async def _write_queued_now(self) -> None:
        """Without the background task (stopped, or never started): write inline."""
        while not self._queue.empty():
            batch: list[JournalEvent] = []
            while len(batch) < self.batch_size and not self._queue.empty():
                batch.append(self._queue.get_nowait())
            try:
                await self._write(batch)
            finally:
                for _ in batch:
                    self._queue.task_done()

    async def _write(self, batch: Sequence[JournalEvent]) -> None:
        if not self._database_due():
            self._spool_now(batch)
            return
        try:
            new = await self.store.ingest(batch)
        except Exception as exc:
            if _is_bad_data(exc):
                await self._ingest_one_by_one(batch)
            else:
                self._database_failed(exc)
                self._spool_now(batch)
            return
        self._database_ok()
        self._count(ingested=new, duplicates=len(batch) - new, batches=1)

    async def _ingest_one_by_one(self, events: Sequence[JournalEvent]) -> None:
        """A batch the store refused as invalid: find the events at fault."""
        for index, event in enumerate(events):
            try:
                new = await self.store.ingest([event])
            except Exception as exc:
                if _is_bad_data(exc):
                    log.error("journal.event_rejected", linkedid=event.linkedid, error=str(exc))
                    self._reject([event])
                    continue
                self._database_failed(exc)
                self._spool_now(events[index:])
                return
            self._count(ingested=new, duplicates=1 - new)

    async def _replay_spool(self) -> None:
        while self._database_due() and (file := self.spool.take()) is not None:
            for chunk in self.spool.read(file, self.batch_size):
                try:
                    new = await self.store.ingest(chunk)
                except Exception as exc:
                    if not _is_bad_data(exc):
                        self._database_failed(exc)
                        return  # the file stays; the next replay starts it over
                    await self._ingest_one_by_one(chunk)
                    continue
                self._database_ok()
                self._count(replayed=len(chunk), ingested=new, duplicates=len(chunk) - new)
            self.spool.finish(file)
            log.info("journal.spool_replayed", replayed=self._stats.replayed)

    async def _sweep_lost_calls(self) -> None:
        """Now and then, close the calls whose end never came (see Store.close_lost_calls)."""
        now = time.monotonic()
        if self.lost_sweep_every is None or now < self._next_sweep or not self._database_due():
            return
        self._next_sweep = now + self.lost_sweep_every
        try:
            closed = await self.store.close_lost_calls(datetime.now(UTC))
        except Exception as exc:
            if not _is_bad_data(exc):
                self._database_failed(exc)
            return
        self._count(lost_calls_closed=closed)

    # -- bookkeeping --------------------------------------------------------------------

    def _database_due(self) -> bool:
        return time.monotonic() >= self._retry_at

    def _database_ok(self) -> None:
        if not self._stats.database_up:
            log.info("journal.database_back")
        self._retry_delay = self.retry_first
        self._retry_at = 0.0
        self._stats.database_up = True

    def _database_failed(self, exc: BaseException) -> None:
        log.warning("journal.database_unavailable", error=str(exc), retry_in=self._retry_delay)
        self._retry_at = time.monotonic() + self._retry_delay
        self._retry_delay = min(self._retry_delay * 2, self.retry_max)
        self._stats.database_up = False
        self._stats.database_errors += 1
        self._stats.last_error = f"{type(exc).__name__}: {exc}"[:500]

    def _spool_now(self, events: Sequence[JournalEvent]) -> None:
        try:
            self.spool.append(events)
        except OSError:
            # the disk failed too: nothing durable is left. Keep them queued in memory.
            log.critical("journal.spool_failed", events=len(events))
            self._keep_in_memory(events)
            return
        self._count(spooled=len(events))

    def _keep_in_memory(self, events: Sequence[JournalEvent]) -> None:
        for event in events:
            with contextlib.suppress(asyncio.QueueFull):
                self._queue.put_nowait(event)

    def _reject(self, events: Sequence[JournalEvent]) -> None:
        self._count(rejected=len(events))
        with contextlib.suppress(OSError):
            self.spool.reject(event.to_json() for event in events)

    def _count(self, **increments: int) -> None:
        for name, amount in increments.items():
            setattr(self._stats, name, getattr(self._stats, name) + amount)


def sanitized(event: JournalEvent) -> JournalEvent | None:
    """The event with its data made storable (text cut to size, no NUL, finite numbers),
    or None when it cannot be stored at all (no call id, ids too long)."""
    if not event.linkedid or len(event.linkedid) > ID_MAX or len(event.key) > ID_MAX:
        return None
    data = {str(key)[:64]: _storable(value) for key, value in event.data.items()}
    if data == event.data:
        return event
    return replace(event, data=data)


def _storable(value: Scalar) -> Scalar:
    if isinstance(value, str):
        return value.replace("\x00", "")[:TEXT_MAX]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _is_bad_data(exc: BaseException) -> bool:
    """The events themselves were refused, as opposed to the database being unreachable
    or unwell (which the spool waits out, however long it takes)."""
    if isinstance(exc, DBAPIError):
        return isinstance(exc, IntegrityError | DataError)
    if isinstance(exc, StatementError):  # failed before it reached the database
        return True
    return isinstance(exc, _PROGRAMMING_ERRORS)


# raised while folding or binding events: retrying cannot help, setting them aside does
_PROGRAMMING_ERRORS = (ValueError, TypeError, KeyError, AttributeError, IndexError, ArithmeticError)
