"""When the hotline serves what: weekly hours, public holidays, adjusted working days,
and who is on call. Pure: no I/O, and "now" is always passed in.

The rule, for every service but emergency (which is open at every minute):

* Hours are weekly periods in the hotline's time zone (`[hours]`). A period whose end
  is before its start runs past midnight; the part after midnight belongs to the day
  the period started on (its *service day*), so a Friday 20:00-02:00 period is open on
  Saturday 00:00-02:00 even when Saturday itself is closed.
* A service day is closed all day when it is a holiday: a date in `[holidays].closed`,
  or, with `public_holidays`, a public holiday of `[holidays].country` (the `holidays`
  package). For China the whole official holiday block is closed: the weekend days
  inside it (e.g. Sunday 2026-10-04 in the National Day week) are holidays as well.
* A service day is an adjusted working day when China makes a weekend day a working
  day (调休, `holidays.China.weekend_workdays`, e.g. Saturday 2026-10-10), or when a
  weekend or holiday date is listed in `[holidays].open`. It has the hours of a normal
  working day: Monday's periods (the first weekday that has any, if Monday has none).
* The on-call roster (`[[oncall]].covers`) follows the weekly periods only: holidays
  do not change who is on call.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo
from typing import Generic, Literal, Protocol, TypeVar

import holidays

from ivr.domain.vocabulary import DAY_NAMES, Service

DayKind = Literal["workday", "weekend", "holiday", "adjusted_workday"]
Span = tuple[int, int]  # minutes after the service day's midnight, [start, end); end may pass 1440

DAY = 24 * 60
WEEK = 7 * DAY
# Countries that publish holidays as blocks of days off with swapped working days.
BLOCK_COUNTRIES = frozenset({"CN"})
CHINESE_DAY_NAMES = ("周一", "周二", "周三", "周四", "周五", "周六", "周日")


class Period(Protocol):
    """A weekly period: these weekdays (Monday = 0), from a minute of the day to another;
    an end before the start runs past midnight."""

    @property
    def weekdays(self) -> frozenset[int]: ...
    @property
    def start_minute(self) -> int: ...
    @property
    def end_minute(self) -> int: ...


class OnDuty(Protocol):
    """Someone on the on-call roster: rung when one of their periods covers the call."""

    @property
    def covers(self) -> Sequence[Period]: ...


Person = TypeVar("Person", bound=OnDuty)


@dataclass(frozen=True)
class _AllWeek:
    weekdays: frozenset[int] = frozenset(range(7))
    start_minute: int = 0
    end_minute: int = DAY


_ALL_WEEK = _AllWeek()


@dataclass(frozen=True)
class Calendar(Generic[Person]):
    """What the schedule is made of (the config hands these over as plain values)."""

    zone: tzinfo
    hours: Mapping[Service, Sequence[Period]]  # every service but emergency
    roster: Sequence[Person] = ()
    closed: frozenset[date] = frozenset()
    open: frozenset[date] = frozenset()
    public_holidays_of: str | None = None  # a country code, when its holidays close


class Schedule(Generic[Person]):
    """Answers "is this service open at this instant" and "who is on call"."""

    def __init__(self, calendar: Calendar[Person]) -> None:
        self.calendar = calendar
        self.zone = calendar.zone
        self._closed = calendar.closed
        self._open = calendar.open
        self._country = (calendar.public_holidays_of or "").upper()
        self._public: holidays.HolidayBase | None = None
        if calendar.public_holidays_of:
            self._public = holidays.country_holidays(calendar.public_holidays_of, years=())
        self._kinds: dict[date, DayKind] = {}

    # -- days ---------------------------------------------------------------------------

    def day_kind(self, day: date) -> DayKind:
        kind = self._kinds.get(day)
        if kind is None:
            kind = self._kinds[day] = self._classify(day)
        return kind

    def is_holiday(self, day: date) -> bool:
        return self.day_kind(day) == "holiday"

    def closed_dates(self, start: date, days: int) -> list[date]:
        """Holidays (public and `[holidays].closed`) among `days` dates from `start`."""
        return [d for d in _dates(start, days) if self.day_kind(d) == "holiday"]

    def open_dates(self, start: date, days: int) -> list[date]:
        """Adjusted working days (China's and `[holidays].open`) among the coming dates.

        A date listed as open that is an ordinary working day anyway is not in the list:
        its own weekday's hours already apply.
        """
        return [d for d in _dates(start, days) if self.day_kind(d) == "adjusted_workday"]

    def _classify(self, day: date) -> DayKind:
        if day in self._closed:
            return "holiday"
        if day in self._open:
            ordinary = self._is_weekday(day) and not self._is_public_rest_day(day)
            return "workday" if ordinary else "adjusted_workday"
        if self._is_public_rest_day(day):
            return "holiday"
        if self._is_public_workday(day):
            return "adjusted_workday"
        return "workday" if self._is_weekday(day) else "weekend"

    def _is_weekday(self, day: date) -> bool:
        weekend = self._public.weekend if self._public is not None else {5, 6}
        return day.weekday() not in weekend

    def _is_listed_holiday(self, day: date) -> bool:
        return self._public is not None and day in self._public

    def _is_public_workday(self, day: date) -> bool:
        if self._public is None or self._is_weekday(day):
            return False
        # the package fills weekend_workdays when a year is first looked up, by `in`
        _ = day in self._public
        return day in self._public.weekend_workdays

    def _is_public_rest_day(self, day: date) -> bool:
        """A listed holiday, or a weekend day inside a block of days off around one."""
        if self._is_listed_holiday(day):
            return True
        if self._public is None or self._country not in BLOCK_COUNTRIES:
            return False
        if not self._is_plain_weekend(day):
            return False
        for step in (timedelta(days=-1), timedelta(days=1)):
            other = day + step
            while self._is_plain_weekend(other):
                other += step
            if self._is_listed_holiday(other):
                return True
        return False

    def _is_plain_weekend(self, day: date) -> bool:
        return not self._is_weekday(day) and not self._is_public_workday(day)

    # -- service hours ------------------------------------------------------------------

    def is_open(self, service: Service, at: datetime) -> bool:
        """Whether `service` is served at the instant `at` (timezone-aware)."""
        local = _local(at, self.zone)
        minute = local.hour * 60 + local.minute
        return any(s <= minute < e for s, e in self.open_minutes(service, local.date()))

    def open_minutes(self, service: Service, day: date) -> list[Span]:
        """The open minutes of calendar date `day`, merged, within [0, 1440)."""
        if service is Service.emergency:
            return [(0, DAY)]
        today = self._service_day(service, day)
        return _calendar_minutes(today, self._service_day(service, day - timedelta(days=1)))

    def _service_day(self, service: Service, day: date) -> list[Span]:
        kind = self.day_kind(day)
        if kind == "holiday":
            return []
        weekday = self._workday_template(service) if kind == "adjusted_workday" else day.weekday()
        return _spans_on(self._periods(service), weekday)

    def _workday_template(self, service: Service) -> int:
        periods = self._periods(service)
        return next((wd for wd in range(5) if _spans_on(periods, wd)), 0)

    def _periods(self, service: Service) -> Sequence[Period]:
        if service is Service.emergency:
            return (_ALL_WEEK,)  # R3: emergency is served around the clock
        return self.calendar.hours.get(service, ())

    def continuous_daily_hours(self, service: Service = Service.consultation) -> dict[int, float]:
        """Weekday -> the longest continuous open span that starts on that day, in hours.

        A span open at midnight counts from midnight for the new day; a span that runs on
        past midnight counts whole for the day it started on. At most 24 hours.
        """
        week = _week_mask(self._periods(service))
        return {wd: _longest_run_from(week, wd) / 60 for wd in range(7)}

    def daily_hours(self, service: Service = Service.consultation) -> dict[int, float]:
        """Weekday -> total open hours of that service day (at most 24)."""
        periods = self._periods(service)
        return {wd: min(DAY, _total(_merge(_spans_on(periods, wd)))) / 60 for wd in range(7)}

    # -- on call ------------------------------------------------------------------------

    def oncall_chain(self, at: datetime) -> list[Person]:
        """The on-call people rostered at `at`, in roster order (the order to ring them)."""
        local = _local(at, self.zone)
        return [person for person in self.calendar.roster if _covers(person.covers, local)]

    def oncall_gaps(self) -> list[Span]:
        """Minutes of the week (Monday 00:00 = 0) with nobody on call, as [start, end).

        A gap that runs over Sunday midnight ends after minute 10080.
        """
        covered = _week_mask(p for person in self.calendar.roster for p in person.covers)
        return _runs(covered, value=False)

    # -- text for the off-hours prompt --------------------------------------------------

    def describe_hours(self, service: Service = Service.consultation) -> str:
        """The weekly hours as Chinese text for the prompt: "周一至周五8点至17点30分，…"."""
        if service is Service.emergency:
            return "全天24小时"
        periods = self._periods(service)
        by_hours: dict[tuple[Span, ...], list[int]] = {}
        for wd in range(7):
            spans = tuple(_merge(_spans_on(periods, wd)))
            if spans:
                by_hours.setdefault(spans, []).append(wd)
        if not by_hours:
            return "暂无服务时间"
        parts = [_chinese_days(days) + _chinese_spans(spans) for spans, days in by_hours.items()]
        text = "，".join(parts)
        if self._public is not None:
            text += "，法定节假日除外"
        return text

    # -- Asterisk fallback dialplan -----------------------------------------------------

    def asterisk_time_conditions(self, service: Service = Service.consultation) -> list[str]:
        """`times,weekdays,mdays,months` for GotoIfTime/IFTIME: open in the weekly pattern.

        Asterisk (main/pbx_timing.c, get_timerange) includes the end minute of a range, so
        08:00-20:00 becomes 08:00-19:59; it has no 24:00; and a range like 20:00-08:00
        wraps within the same weekday, so a period past midnight is split in two, the
        second part on the following weekdays. The dialplan appends the time zone.
        """
        if service is Service.emergency:
            return ["*,*,*,*"]
        conditions: list[str] = []
        for period in self._periods(service):
            start, end = period.start_minute, period.end_minute
            if end > start:
                conditions.append(_condition(start, end, period.weekdays))
                continue
            conditions.append(_condition(start, DAY, period.weekdays))
            if end > 0:
                following = frozenset((wd + 1) % 7 for wd in period.weekdays)
                conditions.append(_condition(0, end, following))
        return list(dict.fromkeys(conditions))

    def asterisk_workday_conditions(self, service: Service = Service.consultation) -> list[str]:
        """Conditions for an adjusted working day (any weekday): a normal working day's
        hours, with the night part of the day before as on a working day too."""
        if service is Service.emergency:
            return ["*,*,*,*"]
        spans = _spans_on(self._periods(service), self._workday_template(service))
        return [_condition(s, e, None) for s, e in _calendar_minutes(spans, spans)]


def _local(at: datetime, zone: tzinfo) -> datetime:
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError(f"{at.isoformat()} has no time zone: the schedule needs an exact instant")
    return at.astimezone(zone)


def _dates(start: date, days: int) -> Iterable[date]:
    return (start + timedelta(days=n) for n in range(days))


def _span(period: Period) -> Span:
    start, end = period.start_minute, period.end_minute
    return (start, end if end > start else end + DAY)


def _spans_on(periods: Iterable[Period], weekday: int) -> list[Span]:
    return [_span(p) for p in periods if weekday in p.weekdays]


def _merge(spans: Iterable[Span]) -> list[Span]:
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


def _total(spans: Iterable[Span]) -> int:
    return sum(end - start for start, end in spans)


def _calendar_minutes(today: Sequence[Span], yesterday: Sequence[Span]) -> list[Span]:
    """A calendar day's open minutes: its own service day, plus the night of the day before."""
    own = [(s, min(e, DAY)) for s, e in today]
    carried = [(max(s - DAY, 0), e - DAY) for s, e in yesterday if e > DAY]
    return _merge(own + carried)


def _covers(periods: Sequence[Period], local: datetime) -> bool:
    weekday, minute = local.weekday(), local.hour * 60 + local.minute
    spans = _calendar_minutes(_spans_on(periods, weekday), _spans_on(periods, (weekday - 1) % 7))
    return any(s <= minute < e for s, e in spans)


def _week_mask(periods: Iterable[Period]) -> list[bool]:
    """One flag per minute of the week, Monday 00:00 first; nights wrap into Monday."""
    mask = [False] * WEEK
    for period in periods:
        start, end = _span(period)
        for wd in period.weekdays:
            for minute in range(wd * DAY + start, wd * DAY + end):
                mask[minute % WEEK] = True
    return mask


def _runs(mask: Sequence[bool], value: bool) -> list[Span]:
    """Maximal runs of `value` in the circular week; a run over Sunday midnight ends > WEEK."""
    if all(flag == value for flag in mask):
        return [(0, WEEK)]
    # start scanning just after a minute that breaks the run, so no run is cut in two
    origin = next(m for m in range(WEEK) if mask[m] != value) + 1
    runs: list[Span] = []
    start: int | None = None
    for offset in range(WEEK):
        minute = origin + offset
        if mask[minute % WEEK] == value:
            start = minute if start is None else start
        elif start is not None:
            runs.append((start, minute))
            start = None
    if start is not None:
        runs.append((start, origin + WEEK))
    return sorted((s % WEEK, s % WEEK + (e - s)) for s, e in runs)


def _longest_run_from(week: Sequence[bool], weekday: int) -> int:
    """Longest open run starting on the weekday (or open at its midnight), capped at a day."""
    best = 0
    day_start = weekday * DAY
    for minute in range(day_start, day_start + DAY):
        starts_here = week[minute % WEEK] and (minute == day_start or not week[(minute - 1) % WEEK])
        if starts_here:
            length = 0
            while length < DAY and week[(minute + length) % WEEK]:
                length += 1
            best = max(best, length)
    return best


def _condition(start: int, end: int, weekdays: frozenset[int] | None) -> str:
    days = "*" if weekdays is None else _asterisk_days(weekdays)
    return f"{_clock(start)}-{_clock(end - 1)},{days},*,*"


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def _asterisk_days(weekdays: frozenset[int]) -> str:
    if len(weekdays) == 7:
        return "mon-sun"
    return "&".join(
        DAY_NAMES[a] if a == b else f"{DAY_NAMES[a]}-{DAY_NAMES[b]}" for a, b in _day_runs(weekdays)
    )


def _day_runs(weekdays: Iterable[int]) -> list[tuple[int, int]]:
    """Consecutive weekdays as (first, last) pairs, Monday first; no wrap over Sunday."""
    runs: list[tuple[int, int]] = []
    for wd in sorted(weekdays):
        if runs and wd == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], wd)
        else:
            runs.append((wd, wd))
    return runs


def _chinese_days(weekdays: list[int]) -> str:
    if len(weekdays) == 7:
        return "每天"
    names = []
    for a, b in _day_runs(weekdays):
        if b - a >= 2:
            names.append(f"{CHINESE_DAY_NAMES[a]}至{CHINESE_DAY_NAMES[b]}")
        else:
            names.extend(CHINESE_DAY_NAMES[a : b + 1])
    return "、".join(names)


def _chinese_spans(spans: Sequence[Span]) -> str:
    if spans == ((0, DAY),):
        return "全天24小时"
    return "、".join(_chinese_span(start, end) for start, end in spans)


def _chinese_span(start: int, end: int) -> str:
    if end > DAY:
        return f"{_chinese_clock(start)}至次日{_chinese_clock(end - DAY)}"
    return f"{_chinese_clock(start)}至{_chinese_clock(end)}"


def _chinese_clock(minute: int) -> str:
    hours, minutes = divmod(minute, 60)
    if minutes == 0:
        return f"{hours}点"
    return f"{hours}点{'零' if minutes < 10 else ''}{minutes}分"
