"""The connection rates of SPEC §3 / R4-R5, from counted calls, each with its target.
Pure.

A rate whose denominator is zero has no value (None): "no calls" is neither 0% nor
100%, and a dashboard must not draw it as either. Whether a target is met is decided
in exact arithmetic, so 85 of 100 meets 0.85.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction

from ivr.config import Targets


class Direction(StrEnum):
    at_least = "at_least"
    at_most = "at_most"


@dataclass(frozen=True, slots=True)
class RateCounts:
    """The numerators and denominators, summed over some calls (finished calls only)."""

    offered: int = 0
    unanswered: int = 0
    human_requested: int = 0
    answered_by_person: int = 0
    answered_within_three_rings: int = 0
    ivr_line_offered: int = 0
    ivr_line_ivr_answered: int = 0
    ivr_line_human_requested: int = 0
    ivr_line_answered_by_person: int = 0
    manual_line_offered: int = 0
    manual_line_answered_by_person: int = 0


@dataclass(frozen=True, slots=True)
class Rate:
    name: str
    numerator: int
    denominator: int
    target: float
    direction: Direction = Direction.at_least

    @property
    def value(self) -> float | None:
        return self.numerator / self.denominator if self.denominator else None

    @property
    def met(self) -> bool | None:
        if not self.denominator:
            return None
        share = Fraction(self.numerator, self.denominator)
        target = Fraction(repr(self.target))  # 0.85 means 17/20, not its binary neighbour
        return share >= target if self.direction is Direction.at_least else share <= target


@dataclass(frozen=True, slots=True)
class Kpi:
    counts: RateCounts
    auto_answer_rate: Rate  # IVR lines: answered by the IVR / offered
    transfer_answer_rate: Rate  # IVR lines: answered by a person / human requested
    manual_answer_rate: Rate  # manual lines: answered by a person / offered
    no_answer_rate: Rate  # all lines: answered by nobody, no IVR, no voicemail / offered
    within_three_rings_rate: Rate  # answered within three rings / human requested
    # the answered-only variant of the last one (abandons left out), same target
    within_three_rings_of_answered: Rate

    @property
    def offered(self) -> int:
        return self.counts.offered

    @property
    def headline(self) -> tuple[Rate, ...]:
        """The five rates a supervisor is judged by, in the order of the rules."""
        return (
            self.auto_answer_rate,
            self.transfer_answer_rate,
            self.manual_answer_rate,
            self.no_answer_rate,
            self.within_three_rings_rate,
        )


def kpi(counts: RateCounts, targets: Targets | None = None) -> Kpi:
    targets = targets or Targets()
    c = counts
    return Kpi(
        counts=c,
        auto_answer_rate=Rate(
            "auto_answer", c.ivr_line_ivr_answered, c.ivr_line_offered, targets.auto_answer
        ),
        transfer_answer_rate=Rate(
            "transfer_answer",
            c.ivr_line_answered_by_person,
            c.ivr_line_human_requested,
            targets.transfer_answer,
        ),
        manual_answer_rate=Rate(
            "manual_answer",
            c.manual_line_answered_by_person,
            c.manual_line_offered,
            targets.manual_answer,
        ),
        no_answer_rate=Rate(
            "no_answer", c.unanswered, c.offered, targets.no_answer, Direction.at_most
        ),
        within_three_rings_rate=Rate(
            "within_three_rings",
            c.answered_within_three_rings,
            c.human_requested,
            targets.within_three_rings,
        ),
        within_three_rings_of_answered=Rate(
            "within_three_rings_of_answered",
            c.answered_within_three_rings,
            c.answered_by_person,
            targets.within_three_rings,
        ),
    )
