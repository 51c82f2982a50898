"""One call's rows in Asterisk's durable record -> the journal events the live path
would have reported for it, and which of them the journal already holds.

- the dialplan's journal steps (CELGenUserEvent) become exactly the events their live
  twins (UserEvent over AMI) became: same kind, data and `At` time, so the same key;
- the channel and queue facts the live path reads from AMI (the caller's hangup, the
  queue entry, each agent leg's ring, answer or ring-no-answer, an abandon) are rebuilt
  from CEL (microsecond times of the legs) and queue_log (agent, ring and hold times).
  Their times differ by milliseconds from AMI's, so they are matched to what the journal
  holds by what they are about (`identity`: the call's end, the agent leg), not by key.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from ivr.domain.causes import CAUSE_BUSY, cause_result
from ivr.domain.events import EventKind, JournalEvent, RingResult, Scalar
from ivr.domain.steps import JOURNAL_STEP, WAV_HEADER_BYTES, cel_fields, number, step_event
from ivr.durable.record import CelRow, QueueLogRow, cel_extra_field

CEL = "cel"
QUEUE_LOG = "queue_log"
NEVER_RUNG = timedelta(seconds=0.5)  # a leg gone this soon, with no queue_log line

# facts whose durable twin has another time than the live event: matched by identity
_BY_LEG = frozenset({
    EventKind.agent_ring_started, EventKind.agent_ring_ended, EventKind.agent_answered,
})
_ONCE_PER_CALL = frozenset({
    EventKind.queue_joined, EventKind.queue_abandoned, EventKind.voicemail_speech,
})


def identity(event: JournalEvent) -> tuple[str, ...]:
    """What an event is about, the same for its live and its durable report."""
    if event.kind in _BY_LEG:
        return (event.kind.value, str(event.data.get("leg") or ""))
    if event.kind in _ONCE_PER_CALL:
        return (event.kind.value,)
    if event.kind is EventKind.call_ended and not event.data.get("lost"):
        return (event.kind.value,)
    return ("key", event.key)


def missing(durable: Iterable[JournalEvent], held: Iterable[JournalEvent]) -> list[JournalEvent]:
    """The durable events the journal lacks: each occurrence once, whichever source."""
    known = {identity(event) for event in held}
    out = []
    for event in durable:
        if identity(event) not in known:
            known.add(identity(event))
            out.append(event)
    return out


class _Make(Protocol):
    def __call__(self, kind: EventKind, at: datetime, source: str, **data: Scalar) -> None: ...


@dataclass
class _Leg:
    uniqueid: str
    channame: str
    started_at: datetime
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    cause: str = ""
    hold_seconds: float | None = None
    ring_seconds: float | None = None
    ring_no_answer_ms: float | None = None
    ring_cancelled: bool = False  # queue_log RINGCANCELED: the caller left while it rang

    @property
    def rang(self) -> bool:
        """The queue rang this leg (AMI said AgentCalled). A leg whose call failed at once
        (no media port, the endpoint unreachable) is in CEL but was never rung: no
        queue_log line is about it and it lived for moments."""
        if self.answered_at is not None or self.ring_no_answer_ms is not None:
            return True
        if self.ring_cancelled or self.cause == CAUSE_BUSY:
            return True
        return self.ended_at is not None and self.ended_at - self.started_at >= NEVER_RUNG

    @property
    def agent(self) -> str:
        name = self.channame.split("/", 1)[-1]
        return name.rsplit("-", 1)[0] if "-" in name else name


def call_events(
    linkedid: str, cel: Sequence[CelRow], queue_log: Sequence[QueueLogRow]
) -> list[JournalEvent]:
    """The journal events of one call from its durable rows ([] if no hotline step:
    not a call of the hotline)."""
    events: list[JournalEvent] = []
    legs: dict[str, _Leg] = {}
    queue_started: datetime | None = None
    hung_up_at: datetime | None = None

    def make(kind: EventKind, at: datetime, source: str, **data: Scalar) -> None:
        clean: dict[str, Scalar] = {k: v for k, v in data.items() if v is not None}
        events.append(JournalEvent(linkedid, kind, at, source, clean))

    for row in cel:
        if row.enum == "USER_DEFINED":
            if row.userdeftype == JOURNAL_STEP:
                fields = cel_fields(cel_extra_field(row.extra, "extra"))
                step = step_event(fields, linkedid=linkedid, at=row.at, source=CEL)
                if step is not None:
                    events.append(step)
        elif row.uniqueid == linkedid:  # the caller's own channel
            if row.eventtype == "APP_START" and row.appname.lower() == "queue":
                if queue_started is None:
                    queue_started = row.at
                    make(EventKind.queue_joined, row.at, CEL, queue=row.appdata.split(",")[0])
            elif row.eventtype == "HANGUP" and hung_up_at is None:
                hung_up_at = row.at
                make(EventKind.call_ended, row.at, CEL,
                     cause=cel_extra_field(row.extra, "hangupcause") or None)
        elif row.eventtype == "CHAN_START":
            legs[row.uniqueid] = _Leg(row.uniqueid, row.channame, row.at)
        elif (leg := legs.get(row.uniqueid)) is not None:
            if row.eventtype == "ANSWER" and leg.answered_at is None:
                leg.answered_at = row.at
            elif row.eventtype == "HANGUP" and leg.ended_at is None:
                leg.ended_at = row.at
                leg.cause = cel_extra_field(row.extra, "hangupcause")
    if not any("line" in event.data for event in events):
        return []  # no journal step: a channel that never was a hotline call
    _talk_heard(events, make)
    _queue_facts(linkedid, queue_log, legs, queue_started, hung_up_at, make)
    # Agent legs are the ones the queue rang (the on-call chain reports its own steps).
    if queue_started is not None:
        for leg in legs.values():
            if leg.started_at >= queue_started - timedelta(seconds=1) and leg.rang:
                _leg_events(leg, make)
    return events


def _talk_heard(events: Sequence[JournalEvent], make: _Make) -> None:
    """Asterisk's talk detection, as the record can tell it: TALK_DETECT, set at the
    beep, reports talking from the first voice frame the caller's channel reads
    (func_talkdetect: accumulated silence is still under its 2.5 s threshold), and
    Record writes every frame read after the beep into the message. So a message with
    any sound in it (more than its WAV header) is what live was told as
    `ChannelTalkingStart`; an empty file is what live heard no talk in. The event keeps
    the beep's time (the record has no time of the first frame)."""
    beep = next((e for e in events if e.kind is EventKind.voicemail_recording
                 and str(e.data.get("talkdetect", "")) in {"1", "True", "true"}), None)
    if beep is None:
        return
    for event in events:
        if event.kind is EventKind.voicemail_recorded \
                and (number(str(event.data.get("bytes", ""))) or 0) > WAV_HEADER_BYTES:
            make(EventKind.voicemail_speech, beep.at, CEL, heard="message")
            return


def _queue_facts(
    linkedid: str,
    rows: Sequence[QueueLogRow],
    legs: dict[str, _Leg],
    queue_started: datetime | None,
    hung_up_at: datetime | None,
    make: _Make,
) -> None:
    for row in rows:
        if row.event == "ENTERQUEUE" and queue_started is None:
            make(EventKind.queue_joined, row.at, QUEUE_LOG, queue=row.queue)
        elif row.event == "CONNECT" and len(row.data) >= 3 and row.data[1] in legs:
            leg = legs[row.data[1]]
            leg.hold_seconds, leg.ring_seconds = number(row.data[0]), number(row.data[2])
        elif row.event == "RINGNOANSWER":
            rang_out = _unanswered_leg(legs.values(), row)
            if rang_out is not None:
                rang_out.ring_no_answer_ms = number(row.data[0] if row.data else None) or 0.0
        elif row.event == "RINGCANCELED":
            cancelled = _unanswered_leg(legs.values(), row)
            if cancelled is not None:
                cancelled.ring_cancelled = True
        elif row.event == "ABANDON":
            data = (*row.data, "", "", "")
            at = hung_up_at if hung_up_at is not None and _near(hung_up_at, row.at) else row.at
            make(EventKind.queue_abandoned, at, QUEUE_LOG,
                 position=number(data[0]), wait_seconds=number(data[2]))


def _unanswered_leg(legs: Iterable[_Leg], row: QueueLogRow) -> _Leg | None:
    """The agent's unanswered leg that ended when queue_log said it rang out."""
    candidates = [
        leg for leg in legs
        if leg.agent == row.agent and leg.answered_at is None and leg.ring_no_answer_ms is None
        and not leg.ring_cancelled
        and leg.ended_at is not None and _near(leg.ended_at, row.at)
    ]
    return min(candidates, key=lambda leg: abs((leg.ended_at or row.at) - row.at), default=None)


def _near(precise: datetime, whole_second: datetime) -> bool:
    """A microsecond time and a queue_log time (cut to the second) of one moment."""
    return -timedelta(seconds=1) <= precise - whole_second <= timedelta(seconds=2)


def _leg_events(leg: _Leg, make: _Make) -> None:
    make(EventKind.agent_ring_started, leg.started_at, CEL,
         agent=leg.agent, channel=leg.channame, leg=leg.uniqueid)
    if leg.answered_at is not None:
        make(EventKind.agent_answered, leg.answered_at, CEL, agent=leg.agent,
             hold_seconds=leg.hold_seconds, ring_seconds=leg.ring_seconds, leg=leg.uniqueid)
    elif leg.ring_no_answer_ms is not None or leg.cause == CAUSE_BUSY:
        result = cause_result(leg.cause)
        rang = 0.0 if result is RingResult.busy else (leg.ring_no_answer_ms or 0.0) / 1000
        make(EventKind.agent_ring_ended, leg.ended_at or leg.started_at, CEL,
             agent=leg.agent, result=result.value, ring_seconds=rang, leg=leg.uniqueid,
             cause=leg.cause or None)

