"""The call record: everything the journal knows about one call (one `linkedid`),
folded from its events by `ivr.domain.outcomes.fold`. Pure data, no I/O.

`counts_as` says which numerators and denominators of SPEC §3 the call counts in; the
store's rollup and the report add these up, so both derive from this one place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from ivr.config import LineMode

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
class RingAttempt:
    """One phone rung for this call: an agent by the queue, or an on-call person."""

    who: str
    role: str  # "agent" | "oncall"
    started_at: datetime
    ended_at: datetime | None
    result: str | None  # a RingResult value; None while still ringing

    @property
    def ring_seconds(self) -> float | None:
        if self.ended_at is None:
            return None
        return max((self.ended_at - self.started_at).total_seconds(), 0.0)


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
    unanswered: bool = False  # answered neither by a person, nor the IVR, nor voicemail


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
    wait_seconds: float | None = None  # request for a person -> answer
    rings: int | None = None
    within_three_rings: bool | None = None
    abandon_place: AbandonPlace | None = None
    abandon_wait_seconds: float | None = None
    voicemail_file: str | None = None
    voicemail_seconds: float | None = None
    voicemail_urgent: bool = False
    oncall_result: OncallResult | None = None
    ended_at: datetime | None = None
    end_cause: str | None = None
    outcome: Outcome | None = None  # None: in progress
    callback_needed: bool = False
    event_count: int = 0

    @property
    def in_progress(self) -> bool:
        return self.outcome is None

    @property
    def answered_by_person(self) -> bool:
        return self.outcome in PERSON_OUTCOMES

    @property
    def counts_as(self) -> Counts:
        if self.outcome is None:
            return Counts()
        by_person = self.answered_by_person
        ivr_answered = self.ivr_answered_at is not None
        return Counts(
            offered=True,
            ivr_answered=ivr_answered,
            # a person answered: the call asked for one, even if that event was lost
            human_requested=self.human_requested_at is not None or by_person,
            answered_by_person=by_person,
            answered_within_three_rings=by_person and bool(self.within_three_rings),
            unanswered=not (by_person or ivr_answered or self.outcome is Outcome.voicemail),
        )


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
