"""The spool: where journal events wait, on local disk, while the database cannot take
them. Append-only JSON lines, fsynced; replayed into the store when it returns.

Replay works on a file of its own: the spool is renamed to `<name>.replaying` first, so
events spooled during a replay land in a fresh spool and are never truncated away. A
crash mid-replay leaves the `.replaying` file, which the next replay starts over:
ingestion is idempotent, so events replayed twice are stored once.

Lines that cannot be read back (a write torn by a crash, damage) and events the store
refuses as invalid go to `<name>.rejected`, kept for a person to look at.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from pathlib import Path

import structlog

from ivr.domain.events import JournalEvent

log = structlog.get_logger(__name__)


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.replaying = path.with_name(path.name + ".replaying")
        self.rejected = path.with_name(path.name + ".rejected")
        # events waiting per file, for metrics; counted once, at start-up
        self._waiting = {file: _lines(file) for file in (self.path, self.replaying)}

    def append(self, events: Iterable[JournalEvent]) -> int:
        """Append events durably (written and fsynced before this returns)."""
        written = self._append(self.path, (event.to_json() for event in events))
        self._waiting[self.path] += written
        return written

    def reject(self, lines: Iterable[str]) -> int:
        return self._append(self.rejected, lines)

    @property
    def pending(self) -> bool:
        return _size(self.path) > 0 or self.replaying.exists()

    @property
    def pending_events(self) -> int:
        """Events in the spool, not yet replayed into the store."""
        return sum(self._waiting.values())

    @property
    def size_bytes(self) -> int:
        return _size(self.path) + _size(self.replaying)

    def take(self) -> Path | None:
        """The file to replay next: an interrupted replay first, else the spool itself
        (moved aside, so new events start a fresh spool)."""
        if self.replaying.exists():
            return self.replaying
        if _size(self.path) == 0:
            return None
        os.replace(self.path, self.replaying)
        self._waiting[self.replaying], self._waiting[self.path] = self._waiting[self.path], 0
        return self.replaying

    def read(self, file: Path, chunk: int = 500) -> Iterator[list[JournalEvent]]:
        """The events of a spool file in chunks; unreadable lines go to the rejected file."""
        events: list[JournalEvent] = []
        with file.open(encoding="utf-8", errors="replace") as lines:
            for line in lines:
                if not line.strip():
                    continue
                try:
                    events.append(JournalEvent.from_json(line))
                except (ValueError, KeyError, TypeError) as exc:
                    log.error("spool.unreadable_line", file=str(file), error=str(exc))
                    self.reject([line.rstrip("\n")])
                    continue
                if len(events) >= chunk:
                    yield events
                    events = []
        if events:
            yield events

    def finish(self, file: Path) -> None:
        """Every event of `file` is in the store now."""
        file.unlink(missing_ok=True)
        self._waiting[file] = 0

    @staticmethod
    def _append(path: Path, lines: Iterable[str]) -> int:
        text = "".join(_one_line(line) + "\n" for line in lines)
        if not text:
            return 0
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", encoding="utf-8") as spool:
            spool.write(text)
            spool.flush()
            os.fsync(spool.fileno())
        return text.count("\n")


def _one_line(text: str) -> str:
    # to_json never emits raw newlines; a rejected line from elsewhere might
    return text.replace("\n", " ") if "\n" in text else text


def _lines(path: Path) -> int:
    try:
        with path.open("rb") as spool:
            return sum(chunk.count(b"\n") for chunk in iter(lambda: spool.read(1 << 20), b""))
    except FileNotFoundError:
        return 0


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0

