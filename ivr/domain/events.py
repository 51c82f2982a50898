"""The journal's event vocabulary: what any source (ARI controller, AMI, FastAGI, CEL)
reports about a call. All events of one call share its `linkedid`.

An event's `key` is unique per real-world occurrence, so ingesting the same event
twice (replay from the spool, a reconnect that re-reads) changes nothing.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Protocol

Scalar = str | int | float | bool | None


class EventKind(StrEnum):
    # arrival and admission (dialplan / controller)
    call_arrived = "call_arrived"  # data: line, caller, channel, mode ("ivr"|"manual")
    call_rejected_busy = "call_rejected_busy"  # data: line; line capacity was full
    # an INVITE for a number that is no hotline line: no call of any line (SPEC §3
    # "refused"); data: reason, number (what was dialled, cut short)
    call_refused = "call_refused"
    # IVR part (ARI controller or fallback dialplan)
    ivr_answered = "ivr_answered"  # data: via ("manual" when a manual line answers off-hours)
    controller_absent = "controller_absent"  # the dialplan routed the call alone (fallback)
    prompt_played = "prompt_played"  # data: prompt (names, comma-separated), by the controller
    off_hours = "off_hours"  # the caller heard the off-hours prompt path
    menu_choice = "menu_choice"  # data: key, service, attempt
    menu_invalid = "menu_invalid"  # data: digits, attempt
    menu_timeout = "menu_timeout"  # data: attempt
    # the caller heard an announcement that answers the call (data: prompt)
    announcement_completed = "announcement_completed"
    # the caller heard an outage notice (停气公告) to its end, right after the greeting;
    # the menu goes on after it (data: notice, the notice's id)
    notice_heard = "notice_heard"
    # wanting a person
    human_requested = "human_requested"  # data: service, target ("queue"|"oncall"), priority
    queue_joined = "queue_joined"  # data: queue, position
    agent_ring_started = "agent_ring_started"  # data: agent, channel, leg (agent uniqueid)
    agent_ring_ended = "agent_ring_ended"  # data: agent, result, ring_seconds, leg, cause
    agent_answered = "agent_answered"  # data: agent, hold_seconds, ring_seconds, leg
    queue_abandoned = "queue_abandoned"  # data: position, wait_seconds
    queue_left = "queue_left"  # data: status (Asterisk QUEUESTATUS: TIMEOUT, JOINEMPTY...)
    # night emergency transfer
    oncall_ring_started = "oncall_ring_started"  # data: person, endpoint, order
    oncall_ring_ended = "oncall_ring_ended"  # data: person, order, result, cause, ring_seconds
    oncall_answered = "oncall_answered"  # data: person
    oncall_chain_failed = "oncall_chain_failed"
    # voicemail
    voicemail_started = "voicemail_started"  # data: urgent (bool); the prompt begins
    voicemail_recording = "voicemail_recording"  # the beep; data: talkdetect ("1": on)
    voicemail_speech = "voicemail_speech"  # Asterisk heard the caller talk after the beep
    # data: file, seconds (absent or 0 when nothing was recorded), urgent
    voicemail_recorded = "voicemail_recorded"
    # the optional post-call survey: the agent hung up, the caller hears the question
    # (the talk ends here); then their key, data: score (1 satisfied, 2 basically
    # satisfied, 3 dissatisfied)
    survey_offered = "survey_offered"
    survey_answered = "survey_answered"
    # the end
    caller_hung_up = "caller_hung_up"  # data: cause, place ("menu"|"ivr", by the controller)
    # data: cause (Asterisk hangup cause of the caller's channel); lost (true: the journal
    # closed a call whose real end was never reported, source "journal")
    call_ended = "call_ended"


class RingResult(StrEnum):
    answered = "answered"
    noanswer = "noanswer"  # rang out
    busy = "busy"  # the phone was in use: it never rang
    failed = "failed"  # unreachable, congestion, no contact: it never rang
    cancelled = "cancelled"  # the caller hung up (or another phone answered) while it rang


@dataclass(frozen=True, slots=True)
class JournalEvent:
    linkedid: str
    kind: EventKind
    at: datetime  # timezone-aware, UTC
    source: str  # "ari" | "ami" | "agi" | "cel" | "controller"
    data: dict[str, Scalar] = field(default_factory=dict)
    key: str = ""

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError("journal event times must be timezone-aware")
        if not self.key:
            object.__setattr__(self, "key", self.natural_key())

    def natural_key(self) -> str:
        """A key derived from the content: the same event reported twice has the same key."""
        body = json.dumps(
            [self.linkedid, self.kind.value, self.at.astimezone(UTC).isoformat(), self.data],
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256(body.encode()).hexdigest()[:32]

    def to_json(self) -> str:
        return json.dumps(
            {
                "linkedid": self.linkedid,
                "kind": self.kind.value,
                "at": self.at.astimezone(UTC).isoformat(),
                "source": self.source,
                "data": self.data,
                "key": self.key,
            },
            ensure_ascii=False,
        )

    @classmethod
    def from_json(cls, text: str) -> JournalEvent:
        raw: dict[str, Any] = json.loads(text)
        return cls(
            linkedid=raw["linkedid"],
            kind=EventKind(raw["kind"]),
            at=datetime.fromisoformat(raw["at"]),
            source=raw["source"],
            data=raw.get("data") or {},
            key=raw.get("key", ""),
        )


class EventSink(Protocol):
    """Where event sources (ARI controller, AMI feed, dialplan) report: the journal."""

    def emit(self, event: JournalEvent) -> None: ...
