"""The staffing forecast of a month (R9: rosters are built from forecasts of calls, and
published by the 26th for the next month). Pure: the history and the schedule are
handed in.

1. **Arrivals per half hour by kind of day.** Each day of the history is one *profile*:
   its weekday (`mon` .. `sun`), `holiday` (a public holiday or a `[holidays].closed`
   date, weekend days inside a holiday block too), or `adjusted_workday` (调休, a weekend
   day made a working day). A profile's rate for a half hour is the mean over the
   history's days of that profile, days without calls included. A day of the month is
   forecast by its own profile; a profile the history has no day of falls back to a
   pool (adjusted working days and weekdays to all working days, holidays to Sundays,
   then to every day).
2. **Handling time** = talk + wrap-up per call answered by a person (SPEC §3), the
   history's mean.
3. **Agents** per half hour by Erlang C (`ivr.domain.staffing`) for the calls that want
   an agent (calls that asked for a person, less those sent to the night on-call chain),
   in the half hours the hotline's services are open; closed half hours need none.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, time, timedelta

from ivr.domain.schedule import DayKind
from ivr.domain.staffing import Staffing, staffing
from ivr.domain.vocabulary import DAY_NAMES

SLOTS = 48  # half hours in a day
WORKDAYS = DAY_NAMES[:5]
WEEKEND = DAY_NAMES[5:]
HOLIDAY, ADJUSTED = "holiday", "adjusted_workday"
PROFILES = (*DAY_NAMES, HOLIDAY, ADJUSTED)
DEFAULT_HANDLING_SECONDS = 270.0  # the middle of the industry's 210-330 s band


def profile_of(day: date, kind: DayKind) -> str:
    if kind == "holiday":
        return HOLIDAY
    if kind == "adjusted_workday":
        return ADJUSTED
    return DAY_NAMES[day.weekday()]


def slot_start(slot: int) -> time:
    return time(slot // 2, 30 * (slot % 2))


def slot_label(slot: int) -> str:
    end = (slot + 1) * 30
    return f"{slot_start(slot):%H:%M}-{end // 60:02d}:{end % 60:02d}"


@dataclass
class History:
    """Calls that arrived in a run of whole local days, by (local day, half hour)."""

    days: Mapping[date, DayKind]  # every day of the history, with or without calls
    agent_calls: Mapping[tuple[date, int], int] = field(default_factory=dict)
    offered: Mapping[tuple[date, int], int] = field(default_factory=dict)
    handled: int = 0  # calls answered by a person with a handling time
    handling_ms_sum: int = 0
    abandoned_in_queue: int = 0
    abandon_queue_ms_sum: int = 0

    @property
    def handling_seconds(self) -> float | None:
        return self.handling_ms_sum / self.handled / 1000 if self.handled else None

    @property
    def queue_patience_seconds(self) -> float | None:
        """The mean wait of the callers who gave up in the queue."""
        if not self.abandoned_in_queue:
            return None
        return self.abandon_queue_ms_sum / self.abandoned_in_queue / 1000


def profiles(
    days: Mapping[date, DayKind], counts: Mapping[tuple[date, int], int]
) -> dict[str, tuple[float, ...]]:
    """The mean calls per half hour of each profile the history has days of, and of the
    pools (`workday`, `weekend`, `all`)."""
    members: dict[str, list[date]] = defaultdict(list)
    for day, kind in days.items():
        profile = profile_of(day, kind)
        members[profile].append(day)
        members["all"].append(day)
        if profile in WORKDAYS or profile == ADJUSTED:
            members["workday"].append(day)
        elif profile in WEEKEND:
            members["weekend"].append(day)
    sums: dict[date, list[int]] = defaultdict(lambda: [0] * SLOTS)
    for (day, slot), count in counts.items():
        if day in days:
            sums[day][slot] += count
    result: dict[str, tuple[float, ...]] = {}
    for profile, chosen in members.items():
        totals = [0] * SLOTS
        for day in chosen:
            for slot, count in enumerate(sums.get(day, ())):
                totals[slot] += count
        result[profile] = tuple(total / len(chosen) for total in totals)
    return result


FALLBACKS: dict[str, tuple[str, ...]] = {
    **{name: (name, "workday", "all") for name in WORKDAYS},
    **{name: (name, "weekend", "all") for name in WEEKEND},
    HOLIDAY: (HOLIDAY, "sun", "weekend", "all"),
    ADJUSTED: (ADJUSTED, "workday", "all"),
}


def rates_for(
    profile: str, known: Mapping[str, tuple[float, ...]]
) -> tuple[str, tuple[float, ...]]:
    """The profile the history can answer for `profile`, and its rates (zeros when the
    history is empty)."""
    for candidate in FALLBACKS[profile]:
        if candidate in known:
            return candidate, known[candidate]
    return "none", (0.0,) * SLOTS


@dataclass(frozen=True, slots=True)
class SlotForecast:
    day: date
    slot: int  # half hour of the local day, 0 = 00:00-00:30
    kind: DayKind
    profile: str  # the history profile the rates came from
    open: bool  # a service other than emergency is open in (part of) this half hour
    offered: float  # expected calls of every kind
    staffing: Staffing  # from the expected calls for an agent

    @property
    def agents(self) -> int:
        return self.staffing.agents

    @property
    def label(self) -> str:
        return slot_label(self.slot)


@dataclass(frozen=True, slots=True)
class Assumptions:
    service_level: float
    service_level_seconds: float
    answer_target: float
    handling_seconds: float
    handling_from_history: bool  # False: DEFAULT_HANDLING_SECONDS, no answered call yet
    patience_seconds: float
    patience_from_history: bool  # False: the queue's max wait
    history_start: date
    history_days: int


@dataclass(frozen=True, slots=True)
class MonthForecast:
    month: str  # YYYY-MM
    assumptions: Assumptions
    slots: tuple[SlotForecast, ...]

    def days(self) -> list[date]:
        return sorted({s.day for s in self.slots})

    def of_day(self, day: date) -> list[SlotForecast]:
        return [s for s in self.slots if s.day == day]

    @property
    def peak(self) -> SlotForecast | None:
        return max(self.slots, key=lambda s: s.agents, default=None)

    @property
    def agent_hours(self) -> float:
        """Agent-hours the month needs (half hours x agents / 2)."""
        return sum(s.agents for s in self.slots) / 2

    @property
    def expected_calls(self) -> float:
        return sum(s.staffing.calls for s in self.slots)


OpenCheck = Callable[[date, int], bool]


def month_days(month: str) -> list[date]:
    year, number = (int(part) for part in month.split("-"))
    return [date(year, number, d) for d in range(1, calendar.monthrange(year, number)[1] + 1)]


def forecast_days(
    days: Iterable[date],
    day_kind: Callable[[date], DayKind],
    is_open: OpenCheck,
    history: History,
    *,
    service_level: float = 0.80,
    service_level_seconds: float = 20.0,
    answer_target: float = 0.85,
    max_wait_seconds: float = 300.0,
) -> tuple[Assumptions, tuple[SlotForecast, ...]]:
    """Half-hour forecasts of the given local days from the history."""
    handling = history.handling_seconds
    patience = history.queue_patience_seconds
    assumptions = Assumptions(
        service_level=service_level,
        service_level_seconds=service_level_seconds,
        answer_target=answer_target,
        handling_seconds=handling if handling else DEFAULT_HANDLING_SECONDS,
        handling_from_history=bool(handling),
        patience_seconds=min(patience, max_wait_seconds) if patience else max_wait_seconds,
        patience_from_history=patience is not None,
        history_start=min(history.days, default=date.min),
        history_days=len(history.days),
    )
    agent_rates = profiles(history.days, history.agent_calls)
    offered_rates = profiles(history.days, history.offered)
    result: list[SlotForecast] = []
    for day in days:
        kind = day_kind(day)
        profile, rates = rates_for(profile_of(day, kind), agent_rates)
        _, offered = rates_for(profile_of(day, kind), offered_rates)
        for slot in range(SLOTS):
            open_ = is_open(day, slot)
            if open_:
                need = staffing(
                    rates[slot],
                    assumptions.handling_seconds,
                    service_level=service_level,
                    service_level_seconds=service_level_seconds,
                    answer_target=answer_target,
                    patience_seconds=assumptions.patience_seconds,
                )
            else:  # the calls are shown, but no agent is on duty to answer them
                need = Staffing(rates[slot], 0.0, 0, None, None, None)
            result.append(SlotForecast(day, slot, kind, profile, open_, offered[slot], need))
    return assumptions, tuple(result)


def open_slots(spans: Sequence[tuple[int, int]]) -> frozenset[int]:
    """The half hours of a day that an open span (minutes) touches."""
    slots: set[int] = set()
    for start, end in spans:
        first, last = start // 30, (min(end, 24 * 60) - 1) // 30
        slots.update(range(first, last + 1))
    return frozenset(s for s in slots if 0 <= s < SLOTS)


def history_days(end: date, weeks: int) -> list[date]:
    """The `weeks` whole weeks of days before `end` (whole weeks: each weekday as often)."""
    return [end - timedelta(days=n) for n in range(weeks * 7, 0, -1)]
