"""The journal writer on a thread of its own: what the running service uses.

`JournalWriter` drains its queue on the event loop that drives the calls, so every batch
(reading the calls' stored events, folding them, building rows, SQLAlchemy's work and,
on PostgreSQL, the driver's protocol) would hold that loop while a caller waits for a
prompt. Here the same batches run on a dedicated thread with its own event loop and its
own engine (`Store.twin`): call control only puts events on a thread-safe queue.

What the writer promises is unchanged: one queue, drained in order by one consumer
(FIFO, so a call's events reach the store in the order they were emitted); every batch
stored or spooled; `flush` returns once everything emitted before it is; ingestion stays
idempotent, so a replay after a crash changes nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import structlog

from ivr.domain.events import JournalEvent
from ivr.journal.spool import Spool
from ivr.journal.store import Store
from ivr.journal.writer import JournalWriter, WriterStats

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Flushed:
    """Put behind the events a `flush` waits for; done once they are written."""

    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[None]

    def resolve(self) -> None:
        def settle() -> None:
            if not self.done.done():
                self.done.set_result(None)

        # a closed loop raises RuntimeError: nobody waits there any more
        with contextlib.suppress(RuntimeError):
            self.loop.call_soon_threadsafe(settle)


_STOP = object()
_Item = JournalEvent | _Flushed | object


class LockedSpool(Spool):
    """The spool, appended to from two threads (call control's, when the queue is full,
    and the writer's) and moved aside for a replay by the writer's."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.lock = threading.Lock()

    def append(self, events: Iterable[JournalEvent]) -> int:
        with self.lock:
            return super().append(events)

    def reject(self, lines: Iterable[str]) -> int:
        with self.lock:
            return super().reject(lines)

    def take(self) -> Path | None:
        with self.lock:
            return super().take()


class ThreadedJournalWriter(JournalWriter):
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
        super().__init__(
            store, spool_path, max_queue=max_queue, batch_size=batch_size,
            batch_wait=batch_wait, retry_first=retry_first, retry_max=retry_max,
            lost_sweep_every=lost_sweep_every,
        )
        self.spool = LockedSpool(spool_path)
        self.source = store  # the service's store: folding settings are read from it
        self._inbox: queue.Queue[_Item] = queue.Queue(maxsize=max_queue)
        self._stats_lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._thread_store: Store | None = None

    # -- what call control sees -------------------------------------------------------

    def _enqueue(self, event: JournalEvent) -> bool:
        try:
            self._inbox.put_nowait(event)
        except queue.Full:
            return False
        return True

    @property
    def queue_depth(self) -> int:
        return self._inbox.qsize()

    @property
    def stats(self) -> WriterStats:
        stats = super().stats
        stats.queue_depth = self._inbox.qsize()
        return stats

    # -- lifecycle ----------------------------------------------------------------------

    async def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._thread_main, name="journal-writer", daemon=True
            )
            self._thread.start()

    async def flush(self) -> None:
        """Wait until every event emitted so far is stored or spooled."""
        if self._thread is None or not self._thread.is_alive():
            await self._write_inbox_here()
            return
        loop = asyncio.get_running_loop()
        marker = _Flushed(loop, loop.create_future())
        try:
            self._inbox.put_nowait(marker)
        except queue.Full:
            await asyncio.to_thread(self._inbox.put, marker)
        await marker.done

    async def close(self, timeout: float = 30.0) -> None:
        """Stop: what is queued is stored (or spooled); later events go to the spool."""
        self._closed = True
        try:
            await asyncio.wait_for(self.flush(), timeout)
        except TimeoutError:
            log.critical("journal.close_timeout", unsaved=self._inbox.qsize())
        thread, self._thread = self._thread, None
        if thread is not None and thread.is_alive():
            await asyncio.to_thread(self._inbox.put, _STOP)
            await asyncio.to_thread(thread.join, timeout)

    async def _write_inbox_here(self) -> None:
        """No thread (never started, or stopped): write what waits inline."""
        self.store = self.source
        while True:
            batch = self._take(block=False)
            if batch is None:
                return
            events, markers, _ = batch
            try:
                if events:
                    await self._write(events)
            finally:
                for marker in markers:
                    marker.resolve()

    # -- the thread ---------------------------------------------------------------------

    def _thread_main(self) -> None:
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        self.store = self._thread_store = self.source.twin()
        try:
            while not self._step(loop):
                pass
        finally:
            try:
                loop.run_until_complete(self._thread_store.close())
            finally:
                loop.close()
                self.store = self.source

    def _step(self, loop: asyncio.AbstractEventLoop) -> bool:
        """One round of the writer's work; True when told to stop."""
        markers: list[_Flushed] = []
        stop = False
        try:
            assert self._thread_store is not None
            self._thread_store.fold_like(self.source)  # a reload may have changed them
            if self.spool.pending and self._database_due():
                loop.run_until_complete(self._replay_spool())
            if self._refold_due and self._database_due():
                self._refold_due = False
                loop.run_until_complete(self._thread_store.refold_if_stale())
            loop.run_until_complete(self._sweep_lost_calls())
            batch = self._take(block=True)
            if batch is not None:
                events, markers, stop = batch
                if events:
                    loop.run_until_complete(self._write(events))
        except Exception:  # a bug must not stop the journal: the events are safe
            log.exception("journal.writer_failed")
        finally:
            for marker in markers:
                marker.resolve()
        return stop

    def _take(self, *, block: bool) -> tuple[list[JournalEvent], list[_Flushed], bool] | None:
        """The next batch from the inbox: events (in order), flush markers, stop."""
        try:
            first = self._inbox.get(timeout=self._idle_timeout()) if block else (
                self._inbox.get_nowait()
            )
        except queue.Empty:
            return None
        if block and isinstance(first, JournalEvent) and (
            self._inbox.qsize() + 1 < self.batch_size
        ):
            time.sleep(self.batch_wait)  # let a batch gather (this thread only)
        events: list[JournalEvent] = []
        markers: list[_Flushed] = []
        stop = False
        item: _Item = first
        while True:
            if isinstance(item, JournalEvent):
                events.append(item)
            elif isinstance(item, _Flushed):
                markers.append(item)
            else:
                stop = True
            if stop or len(events) >= self.batch_size:
                break
            try:
                item = self._inbox.get_nowait()
            except queue.Empty:
                break
        return events, markers, stop

    def _keep_in_memory(self, events: Sequence[JournalEvent]) -> None:
        for event in events:
            try:
                self._inbox.put_nowait(event)
            except queue.Full:
                return

    def _count(self, **increments: int) -> None:
        with self._stats_lock:  # counted from call control's thread and the writer's
            super()._count(**increments)
