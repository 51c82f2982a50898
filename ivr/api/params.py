"""Query parameters the API reads the same way everywhere: local dates and times.

Their OpenAPI patterns say what they look like (years 1970-2999, ISO 8601); what a
pattern cannot say (30 February, `until` before `since`) is a 422 with a sentence.
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import HTTPException, Query
from pydantic import AwareDatetime, BeforeValidator

EARLIEST, LATEST = 1970, 2999
_DAY = r"(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])-(0[1-9]|[12][0-9]|3[01])"
_CLOCK = r"([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]{1,6})?)?"
_OFFSET = r"(Z|[+-]([01][0-9]|2[0-3]):[0-5][0-9])"
DAY_PATTERN = rf"^{_DAY}$"
INSTANT_PATTERN = rf"^{_DAY}([T ]{_CLOCK}{_OFFSET}?)?$"
MONTH_PATTERN = r"^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])$"

CALLER_PATTERN = r"^\+?[0-9]{3,32}$"
ENDPOINT_PATTERN = r"^[A-Za-z][A-Za-z0-9_-]{0,39}$"

# what a value that does not match a pattern should have looked like, for the 422
PATTERN_HINTS = {
    DAY_PATTERN: "a day like 2026-11-03 (years 1970-2999)",
    INSTANT_PATTERN: "a date or time like 2026-11-03 or 2026-11-03T08:00, optionally with "
    "an offset like +08:00 or Z (years 1970-2999)",
    MONTH_PATTERN: "a month like 2026-11 (years 1970-2999)",
    CALLER_PATTERN: "3 to 32 digits, optionally after a +",
    ENDPOINT_PATTERN: "an endpoint name like agent1",
}

Since = Annotated[
    str | None,
    Query(
        pattern=INSTANT_PATTERN,
        description="arrived at or after: 2026-11-03, 2026-11-03T08:00 (local time in the "
        "hotline's zone) or with an offset (2026-11-03T00:00:00Z)",
    ),
]
Until = Annotated[
    str | None, Query(pattern=INSTANT_PATTERN, description="arrived before (as since)")
]


def instant(value: str | None, zone: ZoneInfo, name: str) -> datetime | None:
    """'2026-11-03', '2026-11-03T08:00' (local, the hotline's zone) or with an offset
    ('2026-11-03T00:00:00Z') -> an aware datetime; 422 for anything else."""
    if value is None or value == "":
        return None
    text = value.strip()
    try:
        if len(text) == 10:
            at = datetime.combine(date.fromisoformat(text), time(), tzinfo=zone)
        else:
            at = datetime.fromisoformat(text)
            if at.tzinfo is None:
                at = at.replace(tzinfo=zone)
    except ValueError as exc:
        raise HTTPException(
            422, f"{name}: {value[:40]!r} is not a date or time like 2026-11-03T08:00"
        ) from exc
    return bounded(at, name)


def bounded(at: datetime, name: str) -> datetime:
    if not EARLIEST <= at.year <= LATEST:
        raise HTTPException(422, f"{name}: the year must be {EARLIEST}-{LATEST}")
    return at


def in_order(since: datetime | None, until: datetime | None) -> None:
    if since is not None and until is not None and until <= since:
        raise HTTPException(422, "until must be after since")


def day(value: str, name: str) -> date:
    """'2026-11-03' -> a date; 422 for 30 February and the like."""
    try:
        parsed = date.fromisoformat(value)
    except ValueError as exc:
        raise HTTPException(422, f"{name}: {value[:40]!r} is not a day like 2026-11-03") from exc
    if not EARLIEST <= parsed.year <= LATEST:
        raise HTTPException(422, f"{name}: the year must be {EARLIEST}-{LATEST}")
    return parsed


def _iso_text(value: object) -> object:
    """A body's time is ISO 8601 text: a bare number is no time (pydantic would take it
    as seconds since 1970)."""
    if not isinstance(value, str | datetime):
        raise ValueError("a time is ISO 8601 text with an offset, e.g. 2026-12-01T09:00+08:00")
    return value


# A time in a request body: ISO 8601 text with its offset.
BodyTime = Annotated[AwareDatetime, BeforeValidator(_iso_text)]
