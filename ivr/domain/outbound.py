"""The toll-fraud guard's rules (every outbound path): which numbers the hotline may
dial, and how often. Pure: the config gives the patterns, the caller the counts.

A number is dialled only when it is a whole domestic number by one of the configured
patterns (defaults: Chinese mobiles `1[3-9]` + 9 digits, landlines `0[1-9]` + 9-10
digits). International (`00`, `+`) and premium prefixes are refused by name first,
so the log and /metrics say why; and at most so many originates per task and per local
day, so one task (or a stream of planted ones) cannot be dialled again and again.

Patterns are a small, portable regex subset (digits, `[...]` classes, `\\d`, `{m}` /
`{m,n}`, `|` between alternatives): the same text is checked here with Python's `re`
and rendered into the dialplan's `REGEX()` (POSIX ERE, which has no `\\d`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

DEFAULT_DOMESTIC = (r"1[3-9]\d{9}", r"0[1-9]\d{9,10}")
DEFAULT_INTERNATIONAL = ("00", "+")
# China's premium-rate and information-service prefixes (声讯台 160/168, 1259x)
DEFAULT_PREMIUM = ("160", "168", "1259")
DEFAULT_PER_TASK = 4
DEFAULT_PER_DAY = 200
PATTERN_SYNTAX = re.compile(r"[0-9\[\]\-{},|d\\]+")
NUMBER_MAX = 32


class Refusal(StrEnum):
    """Why a number was not dialled (the label of hotline_outbound_refused_total)."""

    international = "international"
    premium = "premium"
    not_domestic = "not_domestic"  # matches no domestic pattern (or is not a number)
    task_limit = "task_limit"  # this task was originated its maximum number of times
    day_limit = "day_limit"  # the hotline's originates for the local day are used up
    dialplan = "dialplan"  # the dialplan's own check refused it (the guard was bypassed)


class PatternError(ValueError):
    pass


def check_pattern(pattern: str) -> str:
    """The pattern if it is in the portable subset and compiles; else PatternError."""
    if not pattern or not PATTERN_SYNTAX.fullmatch(pattern):
        raise PatternError(
            f"{pattern!r}: use digits, [0-9] classes, \\d, {{m,n}} and | only"
        )
    if "\\" in pattern.replace("\\d", ""):
        raise PatternError(f"{pattern!r}: the only escape allowed is \\d")
    try:
        re.compile(pattern)
    except re.error as exc:
        raise PatternError(f"{pattern!r} is not a valid pattern: {exc}") from exc
    return pattern


def posix(pattern: str) -> str:
    """The pattern in POSIX ERE (Asterisk's REGEX): `\\d` -> `[0-9]`."""
    return pattern.replace("\\d", "[0-9]")


@dataclass(frozen=True, slots=True)
class OutboundRules:
    domestic: Sequence[str] = DEFAULT_DOMESTIC
    international: Sequence[str] = DEFAULT_INTERNATIONAL
    premium: Sequence[str] = DEFAULT_PREMIUM
    per_task: int = DEFAULT_PER_TASK
    per_day: int = DEFAULT_PER_DAY

    def number_refusal(self, number: str) -> Refusal | None:
        """Why `number` may not be dialled, or None when it may (its counts apart)."""
        if any(number.startswith(prefix) for prefix in self.international):
            return Refusal.international
        if any(number.startswith(prefix) for prefix in self.premium):
            return Refusal.premium
        if len(number) > NUMBER_MAX or not number.isascii() or not number.isdigit():
            return Refusal.not_domestic
        if not any(re.fullmatch(pattern, number) for pattern in self.domestic):
            return Refusal.not_domestic
        return None

    def refusal(self, number: str, task_originates: int, day_originates: int) -> Refusal | None:
        """Why this originate may not happen: the number first, then the counts so far
        (originates already made for the task, and by the hotline this local day)."""
        by_number = self.number_refusal(number)
        if by_number is not None:
            return by_number
        if task_originates >= self.per_task:
            return Refusal.task_limit
        if day_originates >= self.per_day:
            return Refusal.day_limit
        return None

    @property
    def dialplan_regex(self) -> str:
        """One anchored POSIX ERE for the dialplan: any domestic pattern, whole."""
        return "^(" + "|".join(f"({posix(p)})" for p in self.domestic) + ")$"
