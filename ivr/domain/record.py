"""The call record: everything the journal knows about one call (one `linkedid`),
folded from its events by `ivr.domain.outcomes.fold`. Pure data, no I/O.

`counts_as` says which numerators and denominators of SPEC §3 the call counts in; the
store's rollup and the report add these up, so both derive from this one place.

The times of SPEC §3, each measured once here:

- `ring_seconds`: how long the answering person's own phone rang (its AgentCalled or
  on-call Dial to the answer); `rings` and `within_three_rings` follow from it.
- `queue_seconds`: queue time, from the queue entry (after the "please hold"
  announcement) or the on-call chain's first dial, to the answer, the caller's hang-up,
  or the moment the queue or chain gave up.
- `wait_seconds`: speed of answer, from the request for a person (menu key, timeout
  default, manual line) to the answer: the caller's whole wait.
- `talk_seconds` and `handling_seconds` (talk + the queue's wrap-up for agents).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ivr.domain.rings import DEFAULT_CADENCE_SECONDS
from ivr.domain.vocabulary import LineMode

CALLER_MAX = 32  # the dialplan cuts caller IDs here too
NAME_MAX = 64  # agent and on-call names, services, causes
PATH_MAX = 255


class Outcome(StrEnum):
    answered_by_agent = "answered_by_agent"
    answered_by_oncall = "answered_by_oncall"
    voicemail = "voicemail"
    ivr_completed = "ivr_completed"
    abandoned = "abandoned"
    busy = "busy"
    failed = "failed"


PERSON_OUTCOMES = frozenset({Outcome.answered_by_agent, Outcome.answered_by_oncall})


class AbandonPlace(StrEnum):
    """Where the caller was when they hung up without being served."""

    ivr = "ivr"  # answered, before or outside the menu (greeting, off-hours prompt)
    menu = "menu"
    queue = "queue"
    oncall = "oncall"  # the night on-call chain was ringing
    voicemail_prompt = "voicemail_prompt"  # before leaving a message


class OncallResult(StrEnum):
    """How a night emergency transfer ended."""

    answered = "answered"
    failed = "failed"  # everyone in the chain rang out, was busy or unreachable
    abandoned = "abandoned"  # the caller hung up while the chain was ringing


@dataclass(frozen=True, slots=True)
class CountingRules:
    """The settings the SPEC §3 measures depend on (from the config; history is folded
    again when they change: `hotline journal refold`)."""

    cadence_seconds: float = DEFAULT_CADENCE_SECONDS  # one ring
    service_level_seconds: float = 20.0  # "answered within 20 s" of queue time
    wrapup_seconds: float = 0.0  # an agent's wrap-up after each call (queue setting)


@dataclass(frozen=True, slots=True)
class RingAttempt:
    """One phone rung for this call: an agent by the queue, or an on-call person."""

    who: str
    role: str  # "agent" | "oncall"
    started_at: datetime
    ended_at: datetime | None
    result: str | None  # a RingResult value; None while still ringing
    # it rang less than three rings (None while ringing); with result "answered", the
    # phone was answered within three rings
    within_three_rings: bool | None = None

    @property
    def ring_seconds(self) -> float | None:
        if self.ended_at is None:
            return None
        return max((self.ended_at - self.started_at).total_seconds(), 0.0)

    @property
    def rang(self) -> bool:
        """The phone rang (busy and unreachable phones never did)."""
        return self.result in _RANG


@dataclass(frozen=True, slots=True)
class MenuChoice:
    key: str
    service: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Counts:
    """The SPEC §3 numerators and denominators this call counts in (all False while the
    call is in progress: a call counts once it has ended)."""

    offered: bool = False
    ivr_answered: bool = False
    human_requested: bool = False
    answered_by_person: bool = False
    answered_within_three_rings: bool = False
    # 无人应答: nobody answered, and neither the IVR nor voicemail took it; a busy call
    # (line full) is judged apart, never here
    unanswered: bool = False
    busy: bool = False
    queued: bool = False  # entered the queue or the on-call chain
    answered_in_service_level: bool = False


@dataclass(frozen=True, slots=True)
class CallRecord:
    linkedid: str
    arrived_at: datetime
    line: str = ""
    mode: LineMode = LineMode.ivr
    caller: str = ""
    ivr_answered_at: datetime | None = None
    controller_absent: bool = False  # the dialplan routed the call alone (fallback)
    off_hours: bool = False
    menu_choices: tuple[MenuChoice, ...] = ()
    service: str | None = None
    human_requested_at: datetime | None = None
    human_target: str | None = None  # "queue" | "oncall"
    attempts: tuple[RingAttempt, ...] = ()
    answered_by: str | None = None
    answered_at: datetime | None = None
    wait_seconds: float | None = None  # speed of answer: request for a person -> answer
    ring_seconds: float | None = None  # the answering phone rang this long
    rings: int | None = None  # rings of the answering phone
    within_three_rings: bool | None = None
    queue_entered_at: datetime | None = None
    queue_seconds: float | None = None  # queue time: entry -> answer, hang-up or give-up
    within_service_level: bool | None = None  # queued and answered within the level
    talk_seconds: float | None = None
    handling_seconds: float | None = None  # talk + wrap-up
    abandon_place: AbandonPlace | None = None
    abandon_wait_seconds: float | None = None
    voicemail_file: str | None = None
    voicemail_seconds: float | None = None  # 0: the caller reached the beep, said nothing
    voicemail_urgent: bool = False
    voicemail_spoken: bool | None = None  # Asterisk heard talk after the beep (None: unknown)
    oncall_result: OncallResult | None = None
    ended_at: datetime | None = None
    end_cause: str | None = None
    outcome: Outcome | None = None  # None: in progress
    callback_needed: bool = False
    event_count: int = 0
    survey_score: int | None = None  # the post-call survey's key (1-3), if pressed

    @property
    def in_progress(self) -> bool:
        return self.outcome is None

    @property
    def answered_by_person(self) -> bool:
        return self.outcome in PERSON_OUTCOMES

    @property
    def voicemail_empty(self) -> bool:
        """The caller reached the beep and said nothing (by Asterisk's talk detection;
        without it, nothing was recorded at all)."""
        if self.outcome is not Outcome.voicemail:
            return False
        if self.voicemail_spoken is not None:
            return not self.voicemail_spoken
        return not self.voicemail_seconds

    def ring_attempts(self) -> tuple[int, int]:
        """(ring attempts judged, those answered within three rings). A phone that rang
        out, or rang past three rings before anyone answered it, broke the rule; one
        stopped early (the caller left, another phone answered) is not judged."""
        judged = within = 0
        for attempt in self.attempts:
            if not attempt.rang or attempt.within_three_rings is None:
                continue
            in_time = attempt.within_three_rings
            if attempt.result == "cancelled" and in_time:
                continue
            judged += 1
            within += int(attempt.result == "answered" and in_time)
        return judged, within

    @property
    def counts_as(self) -> Counts:
        if self.outcome is None:
            return Counts()
        by_person = self.answered_by_person
        ivr_answered = self.ivr_answered_at is not None
        busy = self.outcome is Outcome.busy
        return Counts(
            offered=True,
            ivr_answered=ivr_answered,
            # a person answered: the call asked for one, even if that event was lost
            human_requested=self.human_requested_at is not None or by_person,
            answered_by_person=by_person,
            answered_within_three_rings=by_person and bool(self.within_three_rings),
            unanswered=not (
                busy or by_person or ivr_answered or self.outcome is Outcome.voicemail
            ),
            busy=busy,
            queued=self.queue_entered_at is not None,
            answered_in_service_level=by_person and bool(self.within_service_level),
        )


_RANG = frozenset({"answered", "noanswer", "cancelled"})
_NOT_DIALLABLE = re.compile(r"[^0-9]")


def normalise_caller(raw: object) -> str:
    """Digits only (a leading + kept), at most CALLER_MAX characters; '' if anonymous."""
    text = str(raw or "").strip()
    plus = "+" if text.startswith("+") else ""
    digits = _NOT_DIALLABLE.sub("", text)
    return (plus + digits)[:CALLER_MAX] if digits else ""


def short(raw: object, limit: int = NAME_MAX) -> str:
    """A text field from an event, printable and length-limited."""
    text = "".join(ch for ch in str(raw) if ch.isprintable())
    return text[:limit]
