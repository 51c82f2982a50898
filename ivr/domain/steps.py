"""The dialplan's own journal steps: what `UserEvent(HotlineJournal, ...)` (live, over
AMI) and `CELGenUserEvent(HotlineJournal, ...)` (Asterisk's durable record, CEL) say.
Pure: both sources hand their fields here, so one step makes one event with one key.

A step carries its own time (`At`, seconds.microseconds, taken once in the dialplan
before it is told to either source); the source's own timestamp is only a fallback
(a dialplan rendered before steps had `At`).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

from ivr.domain.causes import dial_result
from ivr.domain.events import EventKind, JournalEvent, Scalar

JOURNAL_STEP = "HotlineJournal"  # the UserEvent / CEL user event name
WAV_HEADER_BYTES = 44  # a recorded message of this size holds no sound

# fields of the source's envelope, never data of the step
RESERVED = frozenset({
    "event", "privilege", "timestamp", "userevent", "kind", "linkedid", "uniqueid",
    "channel", "channelstate", "channelstatedesc", "calleridnum", "calleridname",
    "connectedlinenum", "connectedlinename", "language", "accountcode", "context",
    "exten", "priority", "systemname", "actionid", "content", "line", "at",
})


def step_event(
    fields: Mapping[str, str], *, linkedid: str, at: datetime, source: str
) -> JournalEvent | None:
    """The journal event of one step, or None when it names no known kind."""
    try:
        kind = EventKind(fields.get("Kind", "").strip())
    except ValueError:
        return None
    data: dict[str, Scalar] = {
        key.lower(): value for key, value in fields.items() if key.lower() not in RESERVED
    }
    data["line"] = fields.get("Line", "")
    if kind is EventKind.oncall_ring_ended:
        data["result"] = dial_result(fields.get("Result", ""), fields.get("Cause", "")).value
    if kind is EventKind.voicemail_recorded:
        data["seconds"] = wav_seconds(fields.get("Bytes"))
    return JournalEvent(
        linkedid=linkedid,
        kind=kind,
        at=step_time(fields.get("At")) or at,
        source=source,
        data={k: v for k, v in data.items() if v is not None},
    )


def step_time(stamp: str | None) -> datetime | None:
    """`seconds.microseconds` as a UTC time (None when absent or garbled)."""
    if not stamp:
        return None
    try:
        return datetime.fromtimestamp(float(stamp), UTC)
    except (ValueError, OverflowError, OSError):
        return None


def cel_fields(extra: str) -> dict[str, str]:
    """A CELGenUserEvent extra (`Kind: x|Line: y|...`) as the fields a UserEvent has."""
    fields: dict[str, str] = {}
    for part in extra.split("|"):
        key, sep, value = part.partition(": ")
        if sep:
            fields[key.strip()] = value
    return fields


def number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def wav_seconds(size: str | None) -> float | None:
    """Length of an 8 kHz 16-bit mono WAV from its size (44-byte header)."""
    bytes_ = number(size)
    if bytes_ is None:
        return None
    return round(max(bytes_ - WAV_HEADER_BYTES, 0) / 16000, 2)
