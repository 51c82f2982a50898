"""AMI events -> journal events. Pure: unit-tested without Asterisk.

Asterisk reports a busy agent as AgentRingNoAnswer with RingTime 0; only the agent
channel's Hangup (Cause 17) tells busy from ring-out, so Hangup causes of agent legs
are remembered briefly and consulted. What a cause or a Dial status means is read from
`ivr.domain.causes`, the one table of them.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from datetime import UTC, datetime

from ivr.domain.causes import cause_result, dial_result
from ivr.domain.events import EventKind, JournalEvent, Scalar

USER_EVENT = "HotlineJournal"
RESERVED = {"event", "privilege", "timestamp", "userevent", "kind", "linkedid", "uniqueid",
            "channel", "channelstate", "channelstatedesc", "calleridnum", "calleridname",
            "connectedlinenum", "connectedlinename", "language", "accountcode", "context",
            "exten", "priority", "systemname", "actionid", "content", "line"}


def event_time(event: Mapping[str, str]) -> datetime:
    stamp = event.get("Timestamp")
    if stamp:
        return datetime.fromtimestamp(float(stamp), UTC)
    return datetime.now(UTC)


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value not in (None, "") else None
    except ValueError:
        return None


def agent_name(event: Mapping[str, str]) -> str:
    return event.get("MemberName") or event.get("Interface", "").removeprefix("PJSIP/")


class AmiTranslator:
    def __init__(self, remembered_causes: int = 10_000) -> None:
        self._causes: OrderedDict[str, str] = OrderedDict()
        self._limit = remembered_causes

    def translate(self, event: Mapping[str, str]) -> JournalEvent | None:
        name = event.get("Event", "")
        handler = getattr(self, f"_on_{name}", None)
        if handler is None:
            return None
        result: JournalEvent | None = handler(event)
        return result

    def _make(self, event: Mapping[str, str], kind: EventKind, **data: Scalar) -> JournalEvent:
        return JournalEvent(
            linkedid=event.get("Linkedid") or event.get("Uniqueid", ""),
            kind=kind,
            at=event_time(event),
            source="ami",
            data={k: v for k, v in data.items() if v is not None},
        )

    def _on_UserEvent(self, event: Mapping[str, str]) -> JournalEvent | None:
        if event.get("UserEvent") != USER_EVENT:
            return None
        try:
            kind = EventKind(event.get("Kind", ""))
        except ValueError:
            return None
        data: dict[str, Scalar] = {
            key.lower(): value for key, value in event.items() if key.lower() not in RESERVED
        }
        data["line"] = event.get("Line", "")
        if kind is EventKind.oncall_ring_ended:
            data["result"] = dial_result(event.get("Result", ""), event.get("Cause", "")).value
        if kind is EventKind.voicemail_recorded:
            data["seconds"] = wav_seconds(event.get("Bytes"))
        return self._make(event, kind, **data)

    def _on_Hangup(self, event: Mapping[str, str]) -> JournalEvent | None:
        uniqueid = event.get("Uniqueid", "")
        if uniqueid and uniqueid != event.get("Linkedid"):
            self._remember_cause(uniqueid, event.get("Cause", ""))
            return None
        return self._make(event, EventKind.call_ended, cause=event.get("Cause"))

    def _remember_cause(self, uniqueid: str, cause: str) -> None:
        self._causes[uniqueid] = cause
        if len(self._causes) > self._limit:
            self._causes.popitem(last=False)

    def _on_QueueCallerJoin(self, event: Mapping[str, str]) -> JournalEvent:
        return self._make(
            event, EventKind.queue_joined, queue=event.get("Queue"),
            position=_number(event.get("Position")),
        )

    def _on_AgentCalled(self, event: Mapping[str, str]) -> JournalEvent:
        return self._make(
            event, EventKind.agent_ring_started, agent=agent_name(event),
            channel=event.get("DestChannel"), leg=event.get("DestUniqueid"),
        )

    def _on_AgentRingNoAnswer(self, event: Mapping[str, str]) -> JournalEvent:
        cause = self._causes.get(event.get("DestUniqueid", ""), "")
        result = cause_result(cause)
        return self._make(
            event, EventKind.agent_ring_ended, agent=agent_name(event), result=result.value,
            ring_seconds=(_number(event.get("RingTime")) or 0.0), leg=event.get("DestUniqueid"),
            cause=cause or None,
        )

    def _on_AgentConnect(self, event: Mapping[str, str]) -> JournalEvent:
        return self._make(
            event, EventKind.agent_answered, agent=agent_name(event),
            hold_seconds=_number(event.get("HoldTime")),
            ring_seconds=_number(event.get("RingTime")), leg=event.get("DestUniqueid"),
        )

    def _on_ChannelTalkingStart(self, event: Mapping[str, str]) -> JournalEvent:
        # TALK_DETECT is set only after the voicemail beep
        return self._make(event, EventKind.voicemail_speech)

    def _on_QueueCallerAbandon(self, event: Mapping[str, str]) -> JournalEvent:
        return self._make(
            event, EventKind.queue_abandoned, position=_number(event.get("Position")),
            wait_seconds=_number(event.get("HoldTime")),
        )


def wav_seconds(size: str | None) -> float | None:
    """Length of an 8 kHz 16-bit mono WAV from its size (44-byte header)."""
    bytes_ = _number(size)
    if bytes_ is None:
        return None
    return round(max(bytes_ - 44, 0) / 16000, 2)
