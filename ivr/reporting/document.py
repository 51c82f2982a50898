"""What a weekly or monthly report document holds (the seeds: "负责部门周、月报的审核及
上报"): the journal's report of the period (the numbers of `hotline report`), the weekday
x hour grids of offered and lost calls, the queue-time distribution, the callbacks owed and
made, and the staffing forecast against what happened. Rendering is `ivr.reporting.render`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Literal

from ivr.auth.roles import mask_number
from ivr.callbacks.store import CallbackStore, MonthCounts
from ivr.config import HotlineConfig
from ivr.domain.callback_cycle import callback_rate
from ivr.domain.forecast import SLOTS, MonthForecast
from ivr.domain.quality import AgentAverages
from ivr.domain.spotcheck import QuarterScore, quarter_of, quarter_score
from ivr.domain.staffing import staffing
from ivr.journal.forecast import DEFAULT_WEEKS, days_forecast, read_history
from ivr.journal.heatmap import weekday_hour
from ivr.journal.queries import Report, day_range, month_range, report
from ivr.journal.queue_times import QueueTimes, queue_times
from ivr.journal.store import Store
from ivr.orders.store import OrderStore
from ivr.recording.service import month_averages
from ivr.recording.store import RecordingStore
from ivr.reporting.dissatisfied import DissatisfiedRow, dissatisfied_between
from ivr.spotchecks.store import SpotCheckStore

Kind = Literal["week", "month"]
WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


@dataclass(frozen=True, slots=True)
class DayComparison:
    """One day: the forecast made from the weeks before the period, and what came."""

    day: date
    forecast_calls: float  # calls for an agent, expected
    actual_calls: int  # calls for an agent, that came
    forecast_peak_agents: int
    actual_peak_agents: int  # what Erlang C asks for the calls that came, at their pace


@dataclass(frozen=True, slots=True)
class Document:
    hotline: str
    kind: Kind
    label: str  # 2026-W45, 2026-11
    first_day: date
    last_day: date
    report: Report
    offered: tuple[tuple[int, ...], ...]  # [weekday][hour], Monday first
    lost: tuple[tuple[int, ...], ...]  # busy + abandoned + failed, [weekday][hour]
    queue_times: QueueTimes
    callbacks: MonthCounts
    orders_closed: int  # work orders closed in the period (结单量)
    # 回访不满意: callbacks the customer was not happy with; callers masked, since documents
    # are printed and passed on (the task id finds the rest)
    dissatisfied: tuple[DissatisfiedRow, ...]
    spot_checks: QuarterScore  # the quarter the period starts in (R8)
    quality: tuple[AgentAverages, ...]  # listened scores of the period's calls, per agent
    forecast: MonthForecast
    days: tuple[DayComparison, ...]
    generated_at: datetime

    @property
    def title(self) -> str:
        what = "weekly report" if self.kind == "week" else "monthly report"
        return f"{self.hotline} — {what} {self.label}"

    @property
    def callback_rate(self) -> float | None:
        """Of the callback tasks the period's calls owe, the share called back."""
        owed = self.callbacks.owed
        return self.callbacks.called_back / owed if owed else None

    @property
    def order_callback_rate(self) -> float | None:
        """回访率 (R7): order callbacks made / work orders closed in the period."""
        return callback_rate(self.callbacks.order_callbacks_made, self.orders_closed)


def week_range(week: str) -> tuple[date, date]:
    """'2026-W45' as its first (Monday) and last (Sunday) local day."""
    try:
        year_text, number_text = week.upper().split("-W")
        first = date.fromisocalendar(int(year_text), int(number_text), 1)
    except ValueError as exc:
        raise ValueError(f"{week!r} is not an ISO week like 2026-W45") from exc
    return first, first + timedelta(days=6)


def period_days(kind: Kind, label: str) -> tuple[date, date]:
    if kind == "week":
        return week_range(label)
    try:
        year, number = (int(part) for part in label.split("-"))
        first = date(year, number, 1)
        following = date(year + number // 12, number % 12 + 1, 1)
    except ValueError as exc:
        raise ValueError(f"{label!r} is not a month like 2026-11") from exc
    return first, following - timedelta(days=1)


async def build_document(
    store: Store,
    config: HotlineConfig,
    kind: Kind,
    label: str,
    *,
    line: str | None = None,
    now: datetime | None = None,
    weeks: int = DEFAULT_WEEKS,
) -> Document:
    zone = config.hotline.zone
    first_day, last_day = period_days(kind, label)
    if kind == "month":
        start, end = month_range(label, zone)
    else:
        start, _ = day_range(first_day, zone)
        _, end = day_range(last_day, zone)
    result = await report(store, start, end, line=line, zone=zone, targets=config.targets.values)
    grids = await weekday_hour(store, result.start, result.end, zone, line)
    days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    forecast = await days_forecast(store, config, label, days, first_day, weeks)
    actual = await read_history(store, config, days)
    came_handled = result.tally.handled  # what came is staffed at the period's own pace
    handling = (result.tally.handling_ms_sum / came_handled / 1000 if came_handled
                else forecast.assumptions.handling_seconds)
    callbacks, orders = CallbackStore(store.engine), OrderStore(store.engine)
    quarter = quarter_of(start, zone)
    comparisons = await asyncio.to_thread(
        compare, forecast, actual.agent_calls, days, handling, config
    )
    return Document(
        hotline=config.hotline.name,
        kind=kind,
        label=label,
        first_day=first_day,
        last_day=last_day,
        report=result,
        offered=grids.offered,
        lost=grids.lost,
        queue_times=await queue_times(store, result.start, result.end, line),
        callbacks=await callbacks.month_counts(start, end),
        orders_closed=await orders.closed_between(start, end),
        dissatisfied=tuple(
            row.model_copy(update={"caller": mask_number(row.caller)})
            for row in await dissatisfied_between(callbacks, orders, start, end, zone)
        ),
        spot_checks=quarter_score(quarter, [
            (check.checker, check.connection_score)
            for check in await SpotCheckStore(store.engine).of_quarter(quarter)
        ]),
        quality=tuple(await month_averages(RecordingStore(store.engine), start, end)),
        forecast=forecast,
        days=comparisons,
        generated_at=now or datetime.now(UTC),
    )


def compare(
    forecast: MonthForecast,
    came: Mapping[tuple[date, int], int],
    days: list[date],
    handling: float,
    config: HotlineConfig,
) -> tuple[DayComparison, ...]:
    """Each day's forecast against the calls that came (and the agents Erlang C asks for
    them, at the period's own handling time)."""
    targets = config.targets
    result = []
    for day in days:
        slots = forecast.of_day(day)
        counts = [came.get((day, slot), 0) for slot in range(SLOTS)]
        needed = [
            staffing(
                calls, handling,
                service_level=targets.service_level,
                service_level_seconds=targets.service_level_seconds,
                answer_target=targets.transfer_answer,
                patience_seconds=forecast.assumptions.patience_seconds,
            ).agents
            for calls in counts
        ]
        result.append(DayComparison(
            day=day,
            forecast_calls=sum(s.staffing.calls for s in slots),
            actual_calls=sum(counts),
            forecast_peak_agents=max((s.agents for s in slots), default=0),
            actual_peak_agents=max(needed, default=0),
        ))
    return tuple(result)
