"""The agents' roster (排班, R9): who works which half hours, read from a CSV file, set
against the forecast. Pure: the CSV's text is handed in.

A roster is a CSV with a header and one shift per row, times local to the hotline:

    date,start,end,agent
    2026-12-01,08:00,12:00,王芳
    2026-12-01,12:00,20:00,李雷

`end` may be 24:00, or earlier than `start` for a shift past midnight (its hours after
midnight belong to the next date). An agent counts in a half hour their shift covers whole.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from ivr.domain.forecast import SLOTS, SlotForecast

HEADER = ("date", "start", "end", "agent")
DUE_DAY = 26  # R9: next month's roster is published by the 26th
NOTICE_FROM_DAY = 23  # and supervisors are reminded from the 23rd


class RosterError(ValueError):
    """The roster file cannot be read; the message names the row."""


@dataclass(frozen=True, slots=True)
class Shift:
    day: date
    start_minute: int
    end_minute: int  # may pass 1440 (past midnight)
    agent: str


@dataclass(frozen=True, slots=True)
class Shortfall:
    day: date
    slot: int
    needed: int
    rostered: int

    @property
    def missing(self) -> int:
        return self.needed - self.rostered


def parse_roster(text: str) -> list[Shift]:
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    rows = [row for row in reader if any(cell.strip() for cell in row)]
    if not rows:
        raise RosterError("the roster is empty: it needs the header date,start,end,agent")
    header = tuple(cell.strip().lower() for cell in rows[0])
    if header[:4] != HEADER:
        raise RosterError(f"row 1: the header must be {','.join(HEADER)}, not {','.join(header)}")
    shifts = []
    for number, row in enumerate(rows[1:], start=2):
        if len(row) < 4:
            raise RosterError(f"row {number}: needs date,start,end,agent")
        day_text, start_text, end_text, agent = (cell.strip() for cell in row[:4])
        try:
            day = date.fromisoformat(day_text)
        except ValueError as exc:
            raise RosterError(f"row {number}: {day_text!r} is not a date like 2026-12-01") from exc
        start, end = _minute(start_text, number), _minute(end_text, number)
        if not agent:
            raise RosterError(f"row {number}: the agent's name is empty")
        if start == end:
            raise RosterError(f"row {number}: the shift {start_text}-{end_text} is empty")
        if end < start:
            end += 24 * 60
        shifts.append(Shift(day, start, end, agent))
    return shifts


def _minute(text: str, row: int) -> int:
    try:
        hours, minutes = (int(part) for part in text.split(":"))
    except ValueError as exc:
        raise RosterError(f"row {row}: {text!r} is not a time like 08:30") from exc
    if not (0 <= hours <= 24 and 0 <= minutes < 60) or (hours == 24 and minutes):
        raise RosterError(f"row {row}: {text!r} is not a time of day")
    return hours * 60 + minutes


def coverage(shifts: Iterable[Shift]) -> dict[tuple[date, int], set[str]]:
    """Who is on duty in each (local day, half hour)."""
    on_duty: dict[tuple[date, int], set[str]] = defaultdict(set)
    for shift in shifts:
        first = -(-shift.start_minute // 30)  # the first half hour it covers whole
        last = shift.end_minute // 30  # exclusive
        for n in range(first, last):
            day = shift.day + timedelta(days=n // SLOTS)
            on_duty[(day, n % SLOTS)].add(shift.agent)
    return on_duty


def shortfalls(forecast: Iterable[SlotForecast], shifts: Iterable[Shift]) -> list[Shortfall]:
    """The half hours where fewer agents are rostered than the forecast needs."""
    on_duty = coverage(shifts)
    result = []
    for slot in forecast:
        rostered = len(on_duty.get((slot.day, slot.slot), ()))
        if rostered < slot.agents:
            result.append(Shortfall(slot.day, slot.slot, slot.agents, rostered))
    return result


def next_month(today: date) -> str:
    following = date(today.year + today.month // 12, today.month % 12 + 1, 1)
    return f"{following:%Y-%m}"


def roster_notice(today: date, next_month_roster_exists: bool) -> str | None:
    """What to tell supervisors about next month's roster from the 23rd of the month on
    (R9: it is published by the 26th); None earlier in the month."""
    if today.day < NOTICE_FROM_DAY:
        return None
    month = next_month(today)
    if next_month_roster_exists:
        return f"the roster for {month} exists"
    if today.day < DUE_DAY:
        left = DUE_DAY - today.day
        return f"the roster for {month} does not exist yet: it is due by the {DUE_DAY}th " \
               f"({left} day{'s' if left != 1 else ''} left)"
    if today.day == DUE_DAY:
        return f"the roster for {month} does not exist: it is due today, the {DUE_DAY}th"
    return f"the roster for {month} does not exist: it was due on the {DUE_DAY}th (R9)"
