"""Query parameters the API reads the same way everywhere: local times and dates."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from fastapi import HTTPException

EARLIEST, LATEST = 1970, 2999


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
            at = datetime.fromisoformat(text.replace("z", "Z"))
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


def day(value: date, name: str) -> date:
    if not EARLIEST <= value.year <= LATEST:
        raise HTTPException(422, f"{name}: the year must be {EARLIEST}-{LATEST}")
    return value
