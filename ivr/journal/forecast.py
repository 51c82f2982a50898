"""The staffing forecast (R9) from the journal's history: the one implementation behind
`hotline forecast`, the API and the report documents.

The history is read from the 15-minute rollup (`Store.stats`), so a forecast costs the
same for any number of calls; the arithmetic is `ivr.domain.forecast`.
"""

from __future__ import annotations

import asyncio
import csv
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from ivr.config import HotlineConfig
from ivr.domain.forecast import (
    SLOTS,
    History,
    MonthForecast,
    forecast_days,
    history_days,
    month_days,
    open_slots,
    slot_label,
)
from ivr.domain.roster import (
    RosterError,
    Shift,
    Shortfall,
    coverage,
    next_month,
    parse_roster,
    roster_notice,
    shortfalls,
)
from ivr.domain.tally import Tally
from ivr.domain.vocabulary import Service
from ivr.journal.queries import day_range
from ivr.journal.store import Store

DEFAULT_WEEKS = 8


async def read_history(store: Store, config: HotlineConfig, days: list[date]) -> History:
    """Calls by local day and half hour over `days` (consecutive local days)."""
    zone, schedule = config.hotline.zone, config.schedule
    kinds = {day: schedule.day_kind(day) for day in days}
    if not days:
        return History(kinds)
    start, _ = day_range(days[0], zone)
    _, end = day_range(days[-1], zone)
    agent_calls: dict[tuple[date, int], int] = defaultdict(int)
    offered: dict[tuple[date, int], int] = defaultdict(int)
    total = Tally()
    for row in await store.stats(start, end):
        tally = row.tally
        local = row.bucket_start.astimezone(zone)
        key = (local.date(), (local.hour * 60 + local.minute) // 30)
        agent_calls[key] += tally.human_requested - tally.oncall_requested
        offered[key] += tally.offered
        total = total + tally
    return History(
        days=kinds,
        agent_calls=dict(agent_calls),
        offered=dict(offered),
        handled=total.handled,
        handling_ms_sum=total.handling_ms_sum,
        abandoned_in_queue=total.abandoned_queue,
        abandon_queue_ms_sum=total.abandon_ms_queue,
    )


async def month_forecast(
    store: Store, config: HotlineConfig, month: str, today: date, weeks: int = DEFAULT_WEEKS
) -> MonthForecast:
    """The forecast of `month` from the `weeks` whole weeks before it (or before today,
    when the month has begun or is the next one)."""
    try:
        days = month_days(month)
    except ValueError as exc:
        raise ValueError(f"{month!r} is not a month like 2026-12") from exc
    return await days_forecast(store, config, month, days, min(days[0], today), weeks)


async def days_forecast(
    store: Store,
    config: HotlineConfig,
    label: str,
    days: list[date],
    history_end: date,
    weeks: int = DEFAULT_WEEKS,
) -> MonthForecast:
    """The forecast of consecutive local `days` from the `weeks` whole weeks of history
    before `history_end`."""
    history = await read_history(store, config, history_days(history_end, weeks))
    targets = config.targets
    # Erlang C is arithmetic in Python (and pyworkforce's first import takes a second):
    # in a worker thread, so the event loop that drives the calls never waits on it
    assumptions, slots = await asyncio.to_thread(
        forecast_days,
        days,
        config.schedule.day_kind,
        open_check(config),
        history,
        service_level=targets.service_level,
        service_level_seconds=targets.service_level_seconds,
        answer_target=targets.transfer_answer,
        max_wait_seconds=config.queue.max_wait_seconds,
    )
    return MonthForecast(label, assumptions, slots)


def open_check(config: HotlineConfig) -> Callable[[date, int], bool]:
    """Whether a service other than emergency is open in (part of) a local half hour."""
    schedule = config.schedule
    services = [s for s in Service if s is not Service.emergency]
    opened: dict[date, frozenset[int]] = {}

    def is_open(day: date, slot: int) -> bool:
        if day not in opened:
            spans = [span for s in services for span in schedule.open_minutes(s, day)]
            opened[day] = open_slots(spans)
        return slot in opened[day]

    return is_open


# -- rosters ------------------------------------------------------------------------------


def roster_path(config: HotlineConfig, month: str) -> Path:
    """Where the roster of a month is kept: data_dir/rosters/YYYY-MM.csv."""
    return config.service.data_dir / "rosters" / f"{month}.csv"


def read_roster(path: Path) -> list[Shift]:
    return parse_roster(path.read_text(encoding="utf-8"))


def save_roster(config: HotlineConfig, month: str, text: str) -> list[Shift]:
    """Check a month's roster and keep it as data_dir/rosters/YYYY-MM.csv (written whole
    or not at all). RosterError when it cannot be read or has a day of another month."""
    shifts = parse_roster(text)
    for shift in shifts:
        if f"{shift.day:%Y-%m}" != month:
            raise RosterError(f"the shift of {shift.agent} on {shift.day.isoformat()} is not "
                              f"in {month}")
    path = roster_path(config, month)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text, encoding="utf-8")
    partial.replace(path)
    return shifts


def next_month_roster_exists(config: HotlineConfig, today: date) -> bool:
    return roster_path(config, next_month(today)).is_file()


# -- rendering ----------------------------------------------------------------------------

WEEKDAY_MARKS = "一二三四五六日"  # Monday first, as date.weekday()
CSV_COLUMNS = (
    "date", "half_hour", "day_kind", "profile", "open", "offered", "agent_calls", "erlangs",
    "agents", "service_level", "answered", "occupancy", "rostered", "short",
)


def _number(value: float | None, digits: int = 3) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def forecast_csv(forecast: MonthForecast, shifts: list[Shift] | None = None) -> str:
    on_duty = coverage(shifts) if shifts is not None else None
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    for s in forecast.slots:
        staffing = s.staffing
        rostered = len(on_duty.get((s.day, s.slot), ())) if on_duty is not None else None
        writer.writerow([
            s.day.isoformat(), s.label, s.kind, s.profile, int(s.open),
            _number(s.offered), _number(staffing.calls), _number(staffing.erlangs),
            staffing.agents, _number(staffing.service_level, 4), _number(staffing.answered, 4),
            _number(staffing.occupancy, 4),
            "" if rostered is None else rostered,
            "" if rostered is None else max(0, staffing.agents - rostered),
        ])
    return out.getvalue()


@dataclass(frozen=True, slots=True)
class ForecastText:
    table: str
    shortfalls: list[Shortfall]


def render_forecast(
    forecast: MonthForecast,
    title: str,
    shifts: list[Shift] | None = None,
    notice: str | None = None,
) -> ForecastText:
    a = forecast.assumptions
    days = forecast.days()
    lines = [
        f"{title}: staffing forecast for {forecast.month} (Erlang C, agents per half hour)",
        f"history: {a.history_days} days from {a.history_start.isoformat()}; "
        f"handling time {a.handling_seconds:.0f} s "
        f"({'history: talk + wrap-up' if a.handling_from_history else 'default: none answered'})",
        f"targets: service level {a.service_level:.0%} within {a.service_level_seconds:.0f} s; "
        f"answered {a.answer_target:.0%} within a patience of {a.patience_seconds:.0f} s "
        f"({'mean wait of queue abandons' if a.patience_from_history else 'the queue max wait'})",
        f"expected calls for an agent: {forecast.expected_calls:.1f}; "
        f"agent-hours needed: {forecast.agent_hours:.1f}",
        "",
    ]
    needed = sorted({s.slot for s in forecast.slots if s.agents})
    by_key = {(s.day, s.slot): s for s in forecast.slots}
    header = "half hour    " + "".join(f"{d.day:>3}" for d in days)
    lines.append(header)
    lines.append("             " + "".join(f"{WEEKDAY_MARKS[d.weekday()]:>2}" for d in days))
    for slot in needed:
        cells = "".join(f"{by_key[(d, slot)].agents or '.':>3}" for d in days)
        lines.append(f"{slot_label(slot)}  {cells}")
    if not needed:
        lines.append("(no half hour needs an agent: no calls for a person in the history)")
    lines.append("peak agents  " + "".join(
        f"{max(by_key[(d, s)].agents for s in range(SLOTS)):>3}" for d in days))
    missing: list[Shortfall] = []
    if shifts is not None:
        missing = shortfalls(forecast.slots, shifts)
        lines.append("")
        if missing:
            lines.append(f"roster short in {len(missing)} half hour(s) "
                         f"({sum(m.missing for m in missing)} agent half-hours):")
            for m in missing[:60]:
                lines.append(f"  {m.day.isoformat()} {slot_label(m.slot)}: needs {m.needed}, "
                             f"rostered {m.rostered}")
            if len(missing) > 60:
                lines.append(f"  ... and {len(missing) - 60} more (see the CSV)")
        else:
            lines.append("the roster covers every half hour of the forecast")
    if notice:
        lines += ["", notice]
    return ForecastText("\n".join(lines), missing)


def today_of(config: HotlineConfig, now: datetime) -> date:
    return now.astimezone(config.hotline.zone).date()


# -- the command ---------------------------------------------------------------------------


async def forecast_command(
    config: HotlineConfig,
    month: str,
    now: datetime,
    *,
    weeks: int = DEFAULT_WEEKS,
    roster: Path | None = None,
    csv_out: Path | None = None,
) -> ForecastText:
    """What `hotline forecast` prints (and writes as CSV); the roster defaults to
    data_dir/rosters/<month>.csv when that file exists."""
    from ivr.journal.commands import open_journal

    today = today_of(config, now)
    roster = roster or (roster_path(config, month) if roster_path(config, month).is_file()
                        else None)
    shifts = read_roster(roster) if roster is not None else None
    async with open_journal(config) as store:
        forecast = await month_forecast(store, config, month, today, weeks)
    notice = roster_notice(today, next_month_roster_exists(config, today))
    if csv_out is not None:
        csv_out.write_text(forecast_csv(forecast, shifts), encoding="utf-8")
    return render_forecast(forecast, config.hotline.name, shifts, notice)
