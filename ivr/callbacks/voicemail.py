"""Voicemails: the calls that left a message, their recordings, and who dealt with
them. The journal knows a recording's path as Asterisk sees it; a mapper given by the
service turns it into a path on this host (Asterisk may run in a chroot)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from ivr.callbacks.store import CallbackStore, Handled
from ivr.clock import Clock, SystemClock
from ivr.domain.record import CallRecord, Outcome
from ivr.journal.store import Store

PathMapper = Callable[[Path], Path]

MEDIA_TYPES = {".wav": "audio/wav", ".gsm": "audio/x-gsm", ".ulaw": "audio/basic"}


class VoicemailNotFound(LookupError):
    def __init__(self, linkedid: str) -> None:
        super().__init__(f"call {linkedid!r} left no voicemail")


class RecordingMissing(LookupError):
    """The call left a voicemail but its file is not (or no longer) there."""


@dataclass(frozen=True, slots=True)
class Voicemail:
    record: CallRecord
    handled: Handled | None


@dataclass(frozen=True, slots=True)
class Recording:
    path: Path
    media_type: str


class VoicemailService:
    def __init__(
        self,
        journal: Store,
        store: CallbackStore,
        to_host: PathMapper,
        clock: Clock | None = None,
    ) -> None:
        self.journal = journal
        self.store = store
        self.to_host = to_host
        self.clock = clock or SystemClock()

    async def list(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        handled: bool | None = None,
        line: str | None = None,
        limit: int = 100,
    ) -> list[Voicemail]:
        rows = await self.store.voicemails(
            since=since, until=until, handled=handled, line=line, limit=limit
        )
        return [Voicemail(record, mark) for record, mark in rows]

    async def get(self, linkedid: str) -> Voicemail:
        record = await self.journal.call(linkedid)
        if record is None or record.outcome is not Outcome.voicemail:
            raise VoicemailNotFound(linkedid)
        marks = await self.store.handled([linkedid])
        return Voicemail(record, marks.get(linkedid))

    async def recording(self, linkedid: str) -> Recording:
        voicemail = await self.get(linkedid)
        inner = voicemail.record.voicemail_file
        if not inner:
            raise RecordingMissing(f"call {linkedid!r} has no recording file")
        try:
            path = self.to_host(Path(inner))
        except ValueError as exc:  # the mapper refuses a path outside the voicemail dir
            raise RecordingMissing(f"the recording of call {linkedid!r} is not readable") from exc
        if not path.is_file():
            raise RecordingMissing(f"the recording of call {linkedid!r} is no longer there")
        media_type = MEDIA_TYPES.get(path.suffix.lower(), "application/octet-stream")
        return Recording(path, media_type)

    async def mark_handled(self, linkedid: str, by: str) -> Voicemail:
        voicemail = await self.get(linkedid)
        mark = await self.store.mark_handled(linkedid, self.clock.now(), by[:64])
        return Voicemail(voicemail.record, mark)


def confined_mapper(to_host: PathMapper, root: Path) -> PathMapper:
    """A mapper that refuses (ValueError) any path that does not land under `root`
    on this host, symbolic links and `..` resolved."""
    base = root.resolve()

    def mapped(inner: Path) -> Path:
        path = to_host(inner).resolve()
        if not path.is_relative_to(base):
            raise ValueError(f"{inner} is outside {root}")
        return path

    return mapped
