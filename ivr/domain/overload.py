"""When the call controller is behind: the decision to send a new call straight to the
dialplan's own menu (the same greeting, menu, schedule and routes) instead of taking it.

A controller that has fallen behind would make callers wait in silence; the dialplan
alone never waits on Python. So a new call is shed when any of these is over its bound:

- the age of its StasisStart when the controller reads it (events queue up behind a
  busy loop or a slow websocket: the caller has been in silence that long already);
- the calls in the controller's hands (each one's prompts, digits and timers);
- the event loop's lag (how late a timer fires: everything on the loop is that late).

Pure: the numbers are measured by the controller (`ivr.callflow.overload`).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ShedReason(StrEnum):
    start_age = "start_age"
    in_flight = "in_flight"
    loop_lag = "loop_lag"


@dataclass(frozen=True, slots=True)
class OverloadBounds:
    enabled: bool = True
    start_age_seconds: float = 0.5
    calls_in_flight: int = 1500
    loop_lag_seconds: float = 0.25


@dataclass(frozen=True, slots=True)
class Load:
    start_age_seconds: float | None  # None: the event carried no usable time
    calls_in_flight: int
    loop_lag_seconds: float


def shed_reason(load: Load, bounds: OverloadBounds) -> ShedReason | None:
    """Why a new call should go to the dialplan's menu now, or None to take it."""
    if not bounds.enabled:
        return None
    if load.calls_in_flight >= bounds.calls_in_flight:
        return ShedReason.in_flight
    if load.start_age_seconds is not None and load.start_age_seconds > bounds.start_age_seconds:
        return ShedReason.start_age
    if load.loop_lag_seconds > bounds.loop_lag_seconds:
        return ShedReason.loop_lag
    return None
