"""The measures of SPEC §3 / R4-R5, from counted calls, each with its target. Pure.

A measure is a share (numerator / denominator) or an average (a sum / a count), judged
against a lower bound, an upper bound, or a band (handling time). A measure whose
denominator is zero has no value (None): "no calls" is neither 0% nor 100%, and a
dashboard must not draw it as either. Whether a target is met is decided in exact
arithmetic, so 85 of 100 meets 0.85.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from fractions import Fraction
from typing import Literal

from ivr.domain.targets import Targets


class Direction(StrEnum):
    at_least = "at_least"
    at_most = "at_most"
    between = "between"


@dataclass(frozen=True, slots=True)
class RateCounts:
    """The numerators and denominators, summed over some calls (finished calls only).
    Durations are whole milliseconds."""

    offered: int = 0
    unanswered: int = 0
    busy: int = 0
    human_requested: int = 0
    answered_by_person: int = 0
    answered_within_three_rings: int = 0
    ring_attempts: int = 0
    ring_attempts_within_three_rings: int = 0
    rings_counted: int = 0
    rings_sum: int = 0
    queued: int = 0
    queue_ms_sum: int = 0
    answered_in_service_level: int = 0
    answered_with_wait: int = 0
    wait_ms_sum: int = 0
    handled: int = 0
    handling_ms_sum: int = 0
    ivr_line_offered: int = 0
    ivr_line_ivr_answered: int = 0
    ivr_line_human_requested: int = 0
    ivr_line_answered_by_person: int = 0
    manual_line_offered: int = 0
    manual_line_answered_by_person: int = 0


@dataclass(frozen=True, slots=True)
class Rate:
    """One measure: numerator / denominator / scale, against its target."""

    name: str
    numerator: int
    denominator: int
    target: float
    direction: Direction = Direction.at_least
    scale: int = 1  # 1000 for averages of milliseconds read in seconds
    upper: float | None = None  # the top of the band (Direction.between)
    unit: Literal["share", "seconds", "rings"] = "share"  # a share is 0-1

    @property
    def value(self) -> float | None:
        if not self.denominator:
            return None
        return self.numerator / self.denominator / self.scale

    @property
    def met(self) -> bool | None:
        if not self.denominator:
            return None
        value = Fraction(self.numerator, self.denominator * self.scale)
        low = Fraction(repr(self.target))  # 0.85 means 17/20, not its binary neighbour
        if self.direction is Direction.at_least:
            return value >= low
        if self.direction is Direction.at_most:
            return value <= low
        high = Fraction(repr(self.upper if self.upper is not None else self.target))
        return low <= value <= high


@dataclass(frozen=True, slots=True)
class Kpi:
    counts: RateCounts
    auto_answer_rate: Rate  # IVR lines: answered by the IVR / offered
    transfer_answer_rate: Rate  # IVR lines: answered by a person / human requested
    manual_answer_rate: Rate  # manual lines: answered by a person / offered
    no_answer_rate: Rate  # nobody, no IVR, no voicemail (busy apart) / offered
    within_three_rings_rate: Rate  # answered within three rings / answered by a person
    busy_rate: Rate  # line full / offered
    ring_attempts_within_three_rings: Rate  # of every ring attempt judged
    average_rings: Rate
    average_queue_seconds: Rate
    service_level: Rate  # answered within N s of queue time / queued
    average_speed_of_answer_seconds: Rate  # no target of its own: shown with SL's
    average_handling_seconds: Rate

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

    @property
    def all(self) -> tuple[Rate, ...]:
        """Every measure: the headline, then the rest."""
        return (
            *self.headline,
            self.busy_rate,
            self.ring_attempts_within_three_rings,
            self.average_rings,
            self.average_queue_seconds,
            self.service_level,
            self.average_speed_of_answer_seconds,
            self.average_handling_seconds,
        )


def kpi(counts: RateCounts, targets: Targets | None = None) -> Kpi:
    t = targets or Targets()
    c = counts
    at_most, between = Direction.at_most, Direction.between
    return Kpi(
        counts=c,
        auto_answer_rate=Rate(
            "auto_answer", c.ivr_line_ivr_answered, c.ivr_line_offered, t.auto_answer
        ),
        transfer_answer_rate=Rate(
            "transfer_answer",
            c.ivr_line_answered_by_person,
            c.ivr_line_human_requested,
            t.transfer_answer,
        ),
        manual_answer_rate=Rate(
            "manual_answer",
            c.manual_line_answered_by_person,
            c.manual_line_offered,
            t.manual_answer,
        ),
        no_answer_rate=Rate("no_answer", c.unanswered, c.offered, t.no_answer, at_most),
        within_three_rings_rate=Rate(
            "within_three_rings",
            c.answered_within_three_rings,
            c.answered_by_person,
            t.within_three_rings,
        ),
        busy_rate=Rate("busy", c.busy, c.offered, t.busy, at_most),
        ring_attempts_within_three_rings=Rate(
            "ring_attempts_within_three_rings",
            c.ring_attempts_within_three_rings,
            c.ring_attempts,
            t.within_three_rings,
        ),
        average_rings=Rate(
            "average_rings", c.rings_sum, c.rings_counted, t.average_rings, at_most, unit="rings"
        ),
        average_queue_seconds=Rate(
            "average_queue_seconds",
            c.queue_ms_sum,
            c.queued,
            t.average_queue_seconds,
            at_most,
            scale=1000,
            unit="seconds",
        ),
        service_level=Rate(
            "service_level", c.answered_in_service_level, c.queued, t.service_level
        ),
        average_speed_of_answer_seconds=Rate(
            "average_speed_of_answer_seconds",
            c.wait_ms_sum,
            c.answered_with_wait,
            t.service_level_seconds,
            at_most,
            scale=1000,
            unit="seconds",
        ),
        average_handling_seconds=Rate(
            "average_handling_seconds",
            c.handling_ms_sum,
            c.handled,
            t.handling_min_seconds,
            between,
            scale=1000,
            upper=t.handling_max_seconds,
            unit="seconds",
        ),
    )
