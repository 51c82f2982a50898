"""Journal events of one call -> its call record and its one outcome (SPEC §3). Pure.

Events come from three sources (ARI controller, AMI, dialplan UserEvents over AMI) and
may arrive late, out of order or twice: `fold` dedupes them by key and walks them in
time order, so folding any arrangement of the same events gives the same record.

The outcome, decided once the call has ended (`call_ended`), first match wins:

1. `busy`: the line was full (`call_rejected_busy`).
2. `answered_by_agent` / `answered_by_oncall`: a person answered.
3. `voicemail`: the caller reached the beep (`voicemail_recording`), even if they then
   said nothing (an empty message: no `voicemail_speech` from Asterisk's talk detection);
   before the beep they are `abandoned` at `voicemail_prompt`.
4. `ivr_completed`: the caller heard an announcement that answers the call
   (`announcement_completed`) and nothing came after; or heard an outage notice
   (`notice_heard`, played right after the greeting) and left from the IVR or its menu
   without asking for a person: the notice answered the call, like an announcement.
5. `abandoned`: the caller hung up: explicitly (`caller_hung_up`, `queue_abandoned`), or
   the call ended while the caller still had somewhere to go (menu, queue, on-call
   ringing, voicemail prompt).
6. `failed`: the caller's channel ended with a network or routing cause, or the path ran
   out (the queue gave up or the on-call chain failed, and no voicemail followed).

Counting (see `CallRecord.counts_as`): a night emergency transfer (`human_requested`
with target "oncall") asks for a person while the on-call staff are on duty, so it is
"human requested" exactly like a queue request, and an on-call answer is "answered by a
person". The transfer-answer and within-three-rings rates therefore include night
transfers; the store keeps on-call requests and answers as separate parts too, so an
agents-only variant can be derived.

Abandon wait: from the request for a person when there was one (the caller was waiting
for a person), otherwise from arrival, to the moment the caller left.

A call whose end was never reported is closed by the store after a while with a
`call_ended` marked `lost` (end cause "lost"); a real `call_ended` always wins over it.

The times of SPEC §3 (rings on the answering phone, queue time, service level, speed
of answer, handling time) are measured here once: see `ivr.domain.record`.

A channel that never reached a hotline line (no line in any event: a refused INVITE)
folds to a record with `line == ""`; it is no call, the store keeps no row of it, and
it counts in no rate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from ivr.domain.causes import is_failure_cause, ring_result
from ivr.domain.events import EventKind, JournalEvent, RingResult, Scalar
from ivr.domain.record import (
    PATH_MAX,
    AbandonPlace,
    CallRecord,
    CountingRules,
    MenuChoice,
    OncallResult,
    Outcome,
    RingAttempt,
    normalise_caller,
    short,
)
from ivr.domain.rings import answered_within_three_rings, rings_to_answer, within_seconds
from ivr.domain.vocabulary import LineMode

# Order of events reported at the very same instant: the call's natural course.
_PHASE = {
    kind: rank
    for rank, kinds in enumerate(
        [
            (EventKind.call_arrived, EventKind.call_refused),
            (EventKind.call_rejected_busy,),
            (EventKind.ivr_answered,),
            (EventKind.controller_absent, EventKind.off_hours),
            (EventKind.prompt_played,),
            (EventKind.notice_heard,),
            (EventKind.menu_invalid, EventKind.menu_timeout),
            (EventKind.menu_choice,),
            (EventKind.announcement_completed,),
            (EventKind.human_requested,),
            (EventKind.queue_joined,),
            (EventKind.agent_ring_started, EventKind.oncall_ring_started),
            (EventKind.agent_ring_ended, EventKind.oncall_ring_ended),
            (EventKind.agent_answered, EventKind.oncall_answered),
            (EventKind.queue_abandoned, EventKind.queue_left, EventKind.oncall_chain_failed),
            (EventKind.voicemail_started,),
            (EventKind.voicemail_recording,),
            (EventKind.voicemail_speech,),
            (EventKind.voicemail_recorded,),
            (EventKind.survey_offered,),
            (EventKind.survey_answered,),
            (EventKind.caller_hung_up,),
            (EventKind.call_ended,),
        ]
    )
    for kind in kinds
}

# Where a caller is, as far as abandonment goes; "done" once the IVR path has ended.
_DONE = "done"

# The version of these counting rules. Stored records folded by another version are
# folded again from their events (the journal does it when it opens the store).
# 2: rings on the answering phone, queue time, service level, handling time, busy apart
#    from no-answer, voicemail from the beep, refused INVITEs are no calls.
FOLD_VERSION = 2


def in_time_order(events: Iterable[JournalEvent]) -> list[JournalEvent]:
    """Each event once (by key), in time order; same-instant events in call order."""
    unique = {event.key: event for event in events}
    return sorted(unique.values(), key=lambda e: (e.at, _PHASE.get(e.kind, 99), e.key))


def fold(
    events: Iterable[JournalEvent],
    line_modes: Mapping[str, str] | None = None,
    rules: CountingRules | None = None,
) -> CallRecord:
    """The record of one call from its events (any order, duplicates allowed).

    `line_modes` (line name -> "ivr" | "manual", from the config) is used when the
    events do not say the line's mode themselves.
    """
    ordered = in_time_order(events)
    if not ordered:
        raise ValueError("a call record needs at least one event")
    linkedids = {event.linkedid for event in ordered}
    if len(linkedids) > 1:
        raise ValueError(f"events of several calls folded together: {sorted(linkedids)}")
    trail = _Trail(ordered[0])
    for event in ordered:
        trail.see(event)
    return trail.record(line_modes or {}, rules or CountingRules())


@dataclass
class _Attempt:
    who: str
    role: str
    started_at: datetime
    leg: str = ""
    ended_at: datetime | None = None
    result: str | None = None

    @property
    def open(self) -> bool:
        return self.result is None

    def close(self, at: datetime, result: str) -> None:
        if self.open:
            self.ended_at, self.result = at, result

    def frozen(self, cadence: float) -> RingAttempt:
        in_time = None
        if self.ended_at is not None:
            rang = _seconds(self.started_at, self.ended_at)
            in_time = answered_within_three_rings(rang, cadence)
        return RingAttempt(
            self.who, self.role, self.started_at, self.ended_at, self.result, in_time
        )


@dataclass
class _Trail:
    """What the events of one call have said so far, walked in time order."""

    first: JournalEvent
    line: str = ""
    mode: str = ""
    caller: str = ""
    arrived_at: datetime | None = None
    ivr_answered_at: datetime | None = None
    controller_absent: bool = False
    off_hours: bool = False
    notice_heard: bool = False
    busy: bool = False
    choices: list[MenuChoice] = field(default_factory=list)
    service: str | None = None
    requested_at: datetime | None = None
    target: str | None = None
    attempts: list[_Attempt] = field(default_factory=list)
    answered_by: str | None = None
    answered_at: datetime | None = None
    answered_role: str | None = None
    hold_seconds: float | None = None
    place: str = AbandonPlace.ivr.value
    queue_entered_at: datetime | None = None
    gave_up_at: datetime | None = None  # the queue or the on-call chain gave up
    path_ran_out: bool = False
    left_at: datetime | None = None  # the caller hung up (explicitly reported)
    left_place: str | None = None
    voicemail_file: str | None = None
    voicemail_seconds: float | None = None
    voicemail_urgent: bool = False
    voicemail_reached: bool = False  # the beep: recording started
    voicemail_spoken: bool | None = None  # None: no talk detection on this call
    oncall_failed: bool = False
    ended_at: datetime | None = None
    end_cause: str | None = None
    lost_at: datetime | None = None
    survey_offered_at: datetime | None = None  # the agent hung up: the talk ended
    survey_score: int | None = None
    event_count: int = 0

    def see(self, event: JournalEvent) -> None:
        self.event_count += 1
        if not self.line and event.data.get("line"):
            self.line = short(event.data["line"])
        handler = getattr(self, f"_on_{event.kind.value}", None)
        if handler is not None:
            handler(event, event.data)

    # -- arrival and the IVR ----------------------------------------------------------

    def _on_call_arrived(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        if self.arrived_at is None:
            self.arrived_at = event.at
            self.caller = normalise_caller(data.get("caller"))
            self.mode = str(data.get("mode") or "")

    def _on_call_rejected_busy(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        self.busy = True

    def _on_ivr_answered(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        if self.ivr_answered_at is None:
            self.ivr_answered_at = event.at

    def _on_controller_absent(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        self.controller_absent = True

    def _on_off_hours(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        self.off_hours = True
        self._move_to(AbandonPlace.ivr.value)

    def _on_prompt_played(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        if "menu" in str(data.get("prompt", "")).split(","):
            self._move_to(AbandonPlace.menu.value)

    def _on_menu_invalid(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        self._move_to(AbandonPlace.menu.value)

    _on_menu_timeout = _on_menu_invalid

    def _on_menu_choice(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        service = short(data.get("service", ""))
        self.choices.append(MenuChoice(short(data.get("key", ""), 8), service, event.at))
        if service and service != "voicemail":
            self.service = service

    def _on_announcement_completed(
        self, event: JournalEvent, data: Mapping[str, Scalar]
    ) -> None:
        self._move_to(_DONE)

    def _on_notice_heard(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        self.notice_heard = True

    # -- wanting a person -------------------------------------------------------------

    def _on_human_requested(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        target = "oncall" if data.get("target") == "oncall" else "queue"
        if self.requested_at is None:
            self.requested_at, self.target = event.at, target
        if data.get("service"):
            self.service = short(data["service"])
        self._move_to(target)
        self.path_ran_out = False

    def _on_queue_joined(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        self._requested_by_evidence(event.at, "queue")
        self._entered_queue(event.at)

    def _on_agent_ring_started(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        self._requested_by_evidence(event.at, "queue")
        self._entered_queue(event.at)  # QueueCallerJoin was lost: ringing proves the entry
        self.attempts.append(
            _Attempt(short(data.get("agent", "")), "agent", event.at, str(data.get("leg") or ""))
        )

    def _on_agent_ring_ended(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        result = ring_result(data.get("result")).value
        attempt = self._attempt_of(event, "agent", short(data.get("agent", "")), data)
        attempt.close(event.at, result)

    def _on_agent_answered(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        who = short(data.get("agent", ""))
        self._attempt_of(event, "agent", who, data).close(event.at, RingResult.answered.value)
        self._answered(event.at, who, "agent")
        self.hold_seconds = _number(data.get("hold_seconds"))

    def _on_queue_abandoned(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        self._caller_left(event.at, AbandonPlace.queue.value)

    def _on_queue_left(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        self._gave_up(event.at)

    # -- night emergency transfer -----------------------------------------------------

    def _on_oncall_ring_started(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        self._requested_by_evidence(event.at, "oncall")
        self._entered_queue(event.at)  # the chain's first dial starts the wait
        who = short(data.get("person", ""))
        self.attempts.append(_Attempt(who, "oncall", event.at, str(data.get("order") or "")))

    def _on_oncall_ring_ended(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        who = short(data.get("person", ""))
        result = ring_result(data.get("result")).value
        if result == RingResult.answered.value:
            # Dial reports an answer only once the conversation is over; the ring ended
            # at `oncall_answered`, which is the answer time (when it was reported).
            if self.answered_role != "oncall":
                self._on_oncall_answered(event, data)
            return
        attempt = self._attempt_of(event, "oncall", who, {"leg": data.get("order")})
        attempt.close(event.at, result)

    def _on_oncall_answered(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        who = short(data.get("person", ""))
        attempt = self._attempt_of(event, "oncall", who, {})
        attempt.close(event.at, RingResult.answered.value)
        self._answered(event.at, who, "oncall")

    def _on_oncall_chain_failed(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        self.oncall_failed = True
        self._gave_up(event.at)

    # -- voicemail and the end --------------------------------------------------------

    def _on_voicemail_started(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        self.voicemail_urgent = self.voicemail_urgent or _flag(data.get("urgent"))
        self.path_ran_out = False
        self._move_to(AbandonPlace.voicemail_prompt.value)

    def _on_voicemail_recording(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        self.voicemail_reached = True
        self.voicemail_seconds = self.voicemail_seconds or 0.0
        if _flag(data.get("talkdetect")) and self.voicemail_spoken is None:
            self.voicemail_spoken = False

    def _on_voicemail_speech(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        self.voicemail_spoken = True

    def _on_voicemail_recorded(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        seconds = _number(data.get("seconds"))
        if seconds is not None and seconds > 0:
            self.voicemail_file = short(data.get("file", ""), PATH_MAX) or None
            self.voicemail_seconds = seconds
            self.voicemail_reached = True  # a message proves the beep
        self.voicemail_urgent = self.voicemail_urgent or _flag(data.get("urgent"))

    def _on_survey_offered(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        self.survey_offered_at = self.survey_offered_at or event.at

    def _on_survey_answered(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        score = _number(data.get("score"))
        if score is not None and score in (1, 2, 3):
            self.survey_score = int(score)

    def _on_caller_hung_up(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        place = str(data.get("place") or "")
        self._caller_left(event.at, place if place in _PLACES else self.place)

    def _on_call_ended(self, event: JournalEvent, data: Mapping[str, Scalar]) -> None:
        if _flag(data.get("lost")):  # the journal gave up waiting for the real end
            self.lost_at = self.lost_at or event.at
        elif self.ended_at is None:
            self.ended_at = event.at
            cause = data.get("cause")
            self.end_cause = short(cause, 16) if cause not in (None, "") else None

    # -- helpers ----------------------------------------------------------------------

    def _move_to(self, place: str) -> None:
        # once a person answered, later events do not move the caller back
        if self.answered_at is None:
            self.place = place

    def _requested_by_evidence(self, at: datetime, target: str) -> None:
        """Queue or on-call events without the request itself: the request was lost."""
        if self.requested_at is None:
            self.requested_at, self.target = at, target
            self._move_to(target)

    def _entered_queue(self, at: datetime) -> None:
        if self.queue_entered_at is None:
            self.queue_entered_at = at

    def _gave_up(self, at: datetime) -> None:
        self.path_ran_out = True
        if self.gave_up_at is None and self.answered_at is None:
            self.gave_up_at = at

    def _answered(self, at: datetime, who: str, role: str) -> None:
        if self.answered_at is None:
            self.answered_at, self.answered_by, self.answered_role = at, who, role

    def _caller_left(self, at: datetime, place: str) -> None:
        if self.left_at is None and self.answered_at is None:
            self.left_at, self.left_place = at, place

    def _attempt_of(
        self, event: JournalEvent, role: str, who: str, data: Mapping[str, Scalar]
    ) -> _Attempt:
        """The open attempt this end belongs to (by leg, else the person's oldest)."""
        leg = str(data.get("leg") or "")
        candidates = [a for a in self.attempts if a.role == role and a.open]
        match = next((a for a in candidates if leg and a.leg == leg), None)
        match = match or next((a for a in candidates if a.who == who), None)
        if match is None:  # the start was never reported: reconstruct it
            rang = _number(data.get("ring_seconds")) or 0.0
            match = _Attempt(who, role, event.at - timedelta(seconds=rang), leg)
            self.attempts.append(match)
        return match

    # -- the record -------------------------------------------------------------------

    def record(self, line_modes: Mapping[str, str], rules: CountingRules) -> CallRecord:
        if self.ended_at is None and self.lost_at is not None:
            self.ended_at, self.end_cause = self.lost_at, "lost"
        arrived_at = self.arrived_at or self.first.at
        requested_at = self.requested_at
        if requested_at is None and self.answered_at is not None:
            # a person answered a call whose request was never reported: use the queue's
            # own hold time, else count the wait as nil
            requested_at = self.answered_at - timedelta(seconds=self.hold_seconds or 0.0)
        wait = None
        if self.answered_at is not None and requested_at is not None:
            wait = _seconds(requested_at, self.answered_at)
        outcome = self._outcome()
        place, abandon_wait = None, None
        if outcome is Outcome.abandoned:
            place = AbandonPlace(self.left_place or self._place_at_end())
            left_at = self.left_at or self.ended_at or arrived_at
            abandon_wait = max((left_at - (requested_at or arrived_at)).total_seconds(), 0.0)
        self._close_open_attempts()
        oncall_result = self._oncall_result(outcome)
        requested = requested_at is not None
        rang = self._answering_ring_seconds()
        rings = within = None
        if rang is not None:
            rings = rings_to_answer(rang, rules.cadence_seconds)
            within = answered_within_three_rings(rang, rules.cadence_seconds)
        queue_seconds = in_level = None
        if self.queue_entered_at is not None and outcome is not None:
            queue_end = self.answered_at or self.gave_up_at or self.left_at or self.ended_at
            queue_seconds = _seconds(self.queue_entered_at, queue_end or self.queue_entered_at)
            answered = self.answered_at is not None
            in_level = answered and within_seconds(queue_seconds, rules.service_level_seconds)
        talk = handling = None
        talk_end = self.survey_offered_at or self.ended_at  # the survey is not talk
        if self.answered_at is not None and talk_end is not None and self.ended_at is not None:
            talk = _seconds(self.answered_at, talk_end)
            wrapup = rules.wrapup_seconds if self.answered_role == "agent" else 0.0
            handling = talk + wrapup
        return CallRecord(
            linkedid=self.first.linkedid,
            arrived_at=arrived_at,
            line=self.line,
            mode=_mode(self.mode or line_modes.get(self.line, "")),
            caller=self.caller,
            ivr_answered_at=self.ivr_answered_at,
            controller_absent=self.controller_absent,
            off_hours=self.off_hours,
            menu_choices=tuple(self.choices),
            service=self.service,
            human_requested_at=requested_at,
            human_target=self.target or _TARGET_OF_ROLE.get(self.answered_role or ""),
            attempts=tuple(attempt.frozen(rules.cadence_seconds) for attempt in self.attempts),
            answered_by=self.answered_by,
            answered_at=self.answered_at,
            wait_seconds=wait,
            ring_seconds=rang,
            rings=rings,
            within_three_rings=within,
            queue_entered_at=self.queue_entered_at,
            queue_seconds=queue_seconds,
            within_service_level=in_level,
            talk_seconds=talk,
            handling_seconds=handling,
            abandon_place=place,
            abandon_wait_seconds=abandon_wait,
            voicemail_file=self.voicemail_file,
            voicemail_seconds=self.voicemail_seconds,
            voicemail_urgent=self.voicemail_urgent,
            voicemail_spoken=self.voicemail_spoken,
            oncall_result=oncall_result,
            ended_at=self.ended_at,
            end_cause=self.end_cause,
            outcome=outcome,
            callback_needed=self._callback_needed(outcome, requested, oncall_result),
            event_count=self.event_count,
            survey_score=self.survey_score,
        )

    def _outcome(self) -> Outcome | None:
        if self.ended_at is None:
            return None
        if self.busy:
            return Outcome.busy
        if self.answered_role == "agent":
            return Outcome.answered_by_agent
        if self.answered_role == "oncall":
            return Outcome.answered_by_oncall
        if self.voicemail_reached:
            return Outcome.voicemail
        if self.place == _DONE or (self.notice_heard and self.place in _IVR_PLACES):
            return Outcome.ivr_completed
        if self.left_at is not None:
            return Outcome.abandoned
        if is_failure_cause(self.end_cause) or self.path_ran_out:
            return Outcome.failed
        return Outcome.abandoned

    def _answering_ring_seconds(self) -> float | None:
        """How long the phone that was answered rang."""
        if self.answered_at is None:
            return None
        for attempt in self.attempts:
            if (
                attempt.role == self.answered_role
                and attempt.who == self.answered_by
                and attempt.result == RingResult.answered.value
                and attempt.ended_at is not None
            ):
                return _seconds(attempt.started_at, attempt.ended_at)
        return None

    def _place_at_end(self) -> str:
        return AbandonPlace.ivr.value if self.place == _DONE else self.place

    def _close_open_attempts(self) -> None:
        end = self.answered_at or self.left_at or self.ended_at
        if end is None:
            return  # in progress: still ringing
        for attempt in self.attempts:
            attempt.close(max(end, attempt.started_at), RingResult.cancelled.value)

    def _oncall_result(self, outcome: Outcome | None) -> OncallResult | None:
        if self.target != "oncall" and not any(a.role == "oncall" for a in self.attempts):
            return None
        if self.answered_role == "oncall":
            return OncallResult.answered
        if self.oncall_failed:
            return OncallResult.failed
        if outcome is None:
            return None  # still ringing
        return OncallResult.abandoned

    @staticmethod
    def _callback_needed(
        outcome: Outcome | None, requested: bool, oncall: OncallResult | None
    ) -> bool:
        """SPEC R7: every voicemail, every abandoned call that asked for a person, and
        every failed emergency transfer."""
        return (
            outcome is Outcome.voicemail
            or (outcome is Outcome.abandoned and requested)
            or oncall is OncallResult.failed
        )


_TARGET_OF_ROLE = {"agent": "queue", "oncall": "oncall"}
_PLACES = frozenset(place.value for place in AbandonPlace)
# where a caller who heard a notice still is when they have asked nothing more of it
_IVR_PLACES = frozenset({AbandonPlace.ivr.value, AbandonPlace.menu.value})


def _seconds(start: datetime, end: datetime) -> float:
    # a negative span is clock skew between sources: nothing elapsed
    return max((end - start).total_seconds(), 0.0)


def _mode(raw: str) -> LineMode:
    return LineMode.manual if raw == LineMode.manual.value else LineMode.ivr


def _number(raw: Scalar) -> float | None:
    if raw is None or isinstance(raw, bool):
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if value == value and abs(value) != float("inf") else None


def _flag(raw: Scalar) -> bool:
    return str(raw).strip().lower() in {"1", "true", "yes"}

