"""The one place the service takes "now" from, so tests can set the time of day.

Routing asks a `Clock`; journal timestamps stay real. `HOTLINE_NOW` starts the
service at a chosen instant (e.g. a Saturday night) and lets time run from there.
"""

from __future__ import annotations

import os
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol

NOW_VARIABLE = "HOTLINE_NOW"


class Clock(Protocol):
    def now(self) -> datetime:
        """The current instant, timezone-aware, in UTC."""
        ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class FixedClock:
    """Always the same instant."""

    def __init__(self, at: datetime) -> None:
        self.at = _aware_utc(at)

    def now(self) -> datetime:
        return self.at


class OffsetClock:
    """Starts at `start_at` and runs at real speed from there."""

    def __init__(self, start_at: datetime) -> None:
        self.start_at = _aware_utc(start_at)
        # monotonic: a system clock step must not move the pretend time
        self._started = time.monotonic()

    def now(self) -> datetime:
        return self.start_at + timedelta(seconds=time.monotonic() - self._started)


class SettableClock:
    """One clock object the whole service holds, whose source can be swapped while it
    runs (tests move the time of day; every part sees the same "now")."""

    def __init__(self, source: Clock) -> None:
        self.source = source

    def now(self) -> datetime:
        return self.source.now()


def clock_from_env(environ: dict[str, str] | None = None) -> Clock:
    """An `OffsetClock` from `HOTLINE_NOW` (ISO time with offset), else the system clock."""
    value = (os.environ if environ is None else environ).get(NOW_VARIABLE, "").strip()
    if not value:
        return SystemClock()
    try:
        start_at = datetime.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(
            f"{NOW_VARIABLE}={value!r} is not an ISO time like 2026-10-03T22:00:00+08:00"
        ) from exc
    if start_at.tzinfo is None:
        raise ValueError(
            f"{NOW_VARIABLE}={value!r} has no UTC offset; write it like 2026-10-03T22:00:00+08:00"
        )
    return OffsetClock(start_at)


def _aware_utc(at: datetime) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} has no time zone: a clock needs an exact instant")
    return at.astimezone(UTC)
