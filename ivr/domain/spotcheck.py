"""Spot checks (抽查, SPEC R8): the connection part of the group's score, 20 points. Pure.

A checker dials the hotline at a random time. The seed's rule (检查考核, 接通情况):

- connected on the 1st dial: 20;
- connected on the 2nd dial (the 1st was a busy tone, redialled at least 3 minutes
  later), or one no-answer: 16;
- connected on the 3rd dial, or two no-answers: 8;
- connected on the 4th dial or later, or three or more no-answers: 0.

"No-answer" (无人应答) is the seed's: nobody answered and the call was not put through to
an automatic attendant or a voicemail box; an IVR, a person and a voicemail box are all
"connected". A check follows the rule to its end: it redials (no sooner than the
interval after a busy tone or a no-answer) until it connects or has dialled four times;
one that never connected scores 0. Both counts judge the check and the lower wins (a
no-answer, then a busy, then a connection is the 3rd dial: 8).

Each quarter three or more checkers (三个以上) check; the quarter's score is their
average (each checker's own checks averaged first). Fewer than three: no score yet.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from enum import StrEnum
from itertools import pairwise

MAX_DIALS = 4  # the 4th dial scores 0 whatever it gives: no point dialling a 5th
REDIAL_INTERVAL = timedelta(minutes=3)  # the seed's "间隔3分钟以后"
MIN_CHECKERS = 3
FULL = 20

_BY_DIAL = {1: 20, 2: 16, 3: 8}  # connected on this dial; later: 0
_BY_NO_ANSWERS = {0: 20, 1: 16, 2: 8}  # this many no-answers; more: 0


class DialResult(StrEnum):
    ivr = "ivr"  # the automatic attendant answered
    person = "person"  # a person answered
    voicemail = "voicemail"  # a voicemail box answered
    busy = "busy"  # busy tone (the line was full)
    no_answer = "no_answer"  # rang out: no person, no IVR, no voicemail

    @property
    def connected(self) -> bool:
        return self in (DialResult.ivr, DialResult.person, DialResult.voicemail)


class SpotCheckInvalid(ValueError):
    """A check that does not follow the rule; the message says why."""


@dataclass(frozen=True, slots=True)
class Dial:
    at: datetime
    result: DialResult


def connection_score(results: Sequence[DialResult]) -> int:
    """The connection points (0-20) of one check's dials, in order."""
    if not results:
        raise SpotCheckInvalid("a check has at least one dial")
    connected_on = next((n for n, r in enumerate(results, 1) if r.connected), None)
    if connected_on is not None and connected_on < len(results):
        raise SpotCheckInvalid("a check ends with the dial that connected")
    if connected_on is None:
        return 0
    no_answers = sum(1 for r in results if r is DialResult.no_answer)
    return min(_BY_DIAL.get(connected_on, 0), _BY_NO_ANSWERS.get(no_answers, 0))


def check_intervals(dials: Sequence[Dial], interval: timedelta = REDIAL_INTERVAL) -> None:
    """A redial sooner than `interval` after the dial before it does not count as the
    rule's next dial: refused."""
    for before, after in pairwise(dials):
        if after.at - before.at < interval:
            gap = (after.at - before.at).total_seconds()
            raise SpotCheckInvalid(
                f"dial at {after.at.isoformat()} came {gap:.0f} s after the one before; the "
                f"rule redials no sooner than {interval.total_seconds():.0f} s"
            )


def score_dials(dials: Sequence[Dial], interval: timedelta = REDIAL_INTERVAL) -> int:
    check_intervals(dials, interval)
    return connection_score([d.result for d in dials])


def redial_due(results: Sequence[DialResult]) -> bool:
    """Whether a check goes on: not connected yet, and fewer than four dials."""
    return (
        not any(r.connected for r in results) and 0 < len(results) < MAX_DIALS
    )


def quarter_of(at: datetime, zone: tzinfo) -> str:
    local = at.astimezone(zone)
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


@dataclass(frozen=True, slots=True)
class CheckerScore:
    checker: str
    checks: int
    score: float  # average of the checker's checks (connection part)


@dataclass(frozen=True, slots=True)
class QuarterScore:
    quarter: str
    checkers: tuple[CheckerScore, ...]
    score: float | None  # None until three or more checkers have checked


def quarter_score(quarter: str, checks: Iterable[tuple[str, int]]) -> QuarterScore:
    """`checks` are (checker, connection points) of one quarter."""
    by_checker: dict[str, list[int]] = defaultdict(list)
    for checker, points in checks:
        by_checker[checker].append(points)
    checkers = tuple(
        CheckerScore(name, len(points), round(sum(points) / len(points), 2))
        for name, points in sorted(by_checker.items())
    )
    score = None
    if len(checkers) >= MIN_CHECKERS:
        score = round(sum(c.score for c in checkers) / len(checkers), 2)
    return QuarterScore(quarter, checkers, score)
