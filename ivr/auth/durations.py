"""Token lifetimes as people write them: `90d`, `12w`, `36h`, `30m`."""

from __future__ import annotations

import re
from datetime import timedelta

DURATION = re.compile(r"([1-9][0-9]{0,5})([mhdw])")
UNITS = {"m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
LONGEST = timedelta(days=3660)


def parse_duration(text: str) -> timedelta:
    """`90d` -> 90 days; ValueError with a hint for anything else."""
    match = DURATION.fullmatch(text.strip().lower())
    if match is None:
        raise ValueError(
            f"{text[:30]!r} is not a duration; use a number and m, h, d or w, e.g. 90d"
        )
    span = timedelta(**{UNITS[match[2]]: int(match[1])})
    if span > LONGEST:
        raise ValueError(f"{text!r} is longer than 10 years; leave --expires out for no expiry")
    return span
