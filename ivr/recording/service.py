"""What the recording capability does, for the API, the CLI and the running service:
list the recorded calls (the files MixMonitor wrote, one `<linkedid>.wav` a call, with
what the journal says of the call), hand one to a supervisor or an admin and write
that listen to the audit log, delete what is older than the retention period (a
periodic sweep), say how much disk the recordings use, and score a recorded call."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import structlog

from ivr.domain.quality import (
    MAX_REMARKS,
    AgentAverages,
    QualityInvalid,
    ScoredCall,
    Scores,
    averages_by_agent,
)
from ivr.journal.store import Store
from ivr.recording.store import Listen, RecordingStore, StoredScore

log = structlog.get_logger(__name__)

LINKEDID = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,63}")
SUFFIX = ".wav"


class RecordingNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Recording:
    linkedid: str
    path: Path
    bytes: int
    recorded_at: datetime  # when the file was last written: the end of the call
    line: str | None = None
    answered_by: str | None = None
    arrived_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DiskUse:
    files: int
    bytes: int


class RecordingsService:
    def __init__(
        self,
        directory: Callable[[], Path | None],
        store: RecordingStore,
        journal: Store,
        retention: Callable[[], timedelta],
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.directory = directory  # None until the Asterisk instance exists
        self.store = store
        self.journal = journal
        self.retention = retention
        self.now = now  # file times are real: retention is judged by the real clock

    # -- the files ------------------------------------------------------------------

    def _files(self) -> list[Path]:
        where = self.directory()
        if where is None or not where.is_dir():
            return []
        return [p for p in where.iterdir() if p.suffix == SUFFIX and p.is_file()]

    def disk_use(self) -> DiskUse:
        files, total = 0, 0
        for path in self._files():
            try:
                total += path.stat().st_size
                files += 1
            except FileNotFoundError:  # swept meanwhile
                continue
        return DiskUse(files, total)

    async def find(self, limit: int = 100) -> list[Recording]:
        """The recorded calls, newest first."""
        stats = []
        for path in self._files():
            try:
                stats.append((path, path.stat()))
            except FileNotFoundError:
                continue
        stats.sort(key=lambda ps: ps[1].st_mtime, reverse=True)
        found = []
        for path, stat in stats[:limit]:
            found.append(await self._recording(path.stem, path, stat.st_size, stat.st_mtime))
        return found

    async def _recording(self, linkedid: str, path: Path, size: int, mtime: float) -> Recording:
        record = await self.journal.call(linkedid)
        return Recording(
            linkedid, path, size, datetime.fromtimestamp(mtime, UTC),
            line=record.line if record else None,
            answered_by=record.answered_by if record else None,
            arrived_at=record.arrived_at if record else None,
        )  # fmt: skip

    def path_of(self, linkedid: str) -> Path:
        """The file of a call's recording, only inside the recordings directory."""
        where = self.directory()
        if where is None or not LINKEDID.fullmatch(linkedid):
            raise RecordingNotFound(f"no recording of call {linkedid!r}")
        path = where / f"{linkedid}{SUFFIX}"
        if not path.resolve().is_relative_to(where.resolve()) or not path.is_file():
            raise RecordingNotFound(f"no recording of call {linkedid!r}")
        return path

    async def listen(self, linkedid: str, *, by: str, role: str, byte_range: str) -> Path:
        """The recording to stream, once the listen is in the audit log."""
        path = self.path_of(linkedid)
        await self.store.add_listen(Listen(linkedid, self.now(), by, role, byte_range or "all"))
        log.info("recording.listened", linkedid=linkedid, by=by, role=role)
        return path

    async def listens(self, linkedid: str | None = None, limit: int = 100) -> list[Listen]:
        return await self.store.listens(linkedid=linkedid, limit=limit)

    # -- retention ------------------------------------------------------------------

    def sweep(self) -> int:
        """Delete the recordings older than the retention period; how many went."""
        cutoff = (self.now() - self.retention()).timestamp()
        gone = 0
        for path in self._files():
            try:
                if path.stat().st_mtime < cutoff:
                    path.unlink()
                    gone += 1
            except FileNotFoundError:
                continue
        if gone:
            log.info("recording.swept", deleted=gone)
        return gone

    async def run(self, every: Callable[[], float], tick: float = 1.0) -> None:
        """Sweep every `every()` seconds (read again each tick: a reload applies at once)."""
        loop = asyncio.get_running_loop()
        last = loop.time()
        while True:
            await asyncio.sleep(tick)
            if loop.time() - last < every():
                continue
            last = loop.time()
            try:
                await asyncio.to_thread(self.sweep)
            except OSError:
                log.exception("recording.sweep_failed")

    # -- quality scoring ------------------------------------------------------------

    async def score(
        self, linkedid: str, scores: Scores, *, by: str, remarks: str = ""
    ) -> StoredScore:
        """A supervisor's score of a call a person answered (recorded or not any more)."""
        if len(remarks) > MAX_REMARKS:
            raise QualityInvalid(f"remarks: at most {MAX_REMARKS} characters")
        record = await self.journal.call(linkedid)
        if record is None or record.answered_by is None:
            raise RecordingNotFound(f"no call {linkedid!r} answered by a person")
        call = ScoredCall(linkedid, record.answered_by, record.arrived_at, scores)
        return await self.store.add_score(call, by=by, at=self.now(), remarks=remarks)

    async def scores(self, since: datetime, until: datetime) -> list[StoredScore]:
        return await self.store.scores(since=since, until=until)

    async def averages(self, since: datetime, until: datetime) -> list[AgentAverages]:
        """Per agent and per item over the calls of [since, until); a call scored more
        than once counts with its latest score."""
        return await month_averages(self.store, since, until)


async def month_averages(
    store: RecordingStore, since: datetime, until: datetime
) -> list[AgentAverages]:
    """Quality averages per agent and item over the calls of [since, until), each call
    with its latest score (the service's and the report document's one reading)."""
    latest: dict[str, ScoredCall] = {}
    for stored in await store.scores(since=since, until=until):
        latest[stored.call.linkedid] = stored.call
    return averages_by_agent(latest.values())
