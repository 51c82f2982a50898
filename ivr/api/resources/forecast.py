"""The staffing forecast (R9): agents needed per half hour of a month, the roster's
shortfall, and whether next month's roster exists; the numbers of `hotline forecast`,
from the same journal queries."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse, Response
from pydantic import BaseModel, ConfigDict

from ivr.api.context import Admin, Ctx, Supervisor
from ivr.api.params import MONTH_PATTERN
from ivr.api.schemas import AUTH, CSV, problem
from ivr.domain.forecast import MonthForecast, slot_label
from ivr.domain.roster import RosterError, Shift, coverage, roster_notice, shortfalls
from ivr.journal.forecast import (
    DEFAULT_WEEKS,
    forecast_csv,
    month_forecast,
    next_month_roster_exists,
    read_roster,
    roster_path,
    save_roster,
    today_of,
)

router = APIRouter(prefix="/api/forecast", tags=["reports"], responses=AUTH)

Month = Annotated[str, Query(pattern=MONTH_PATTERN, description="a local month, YYYY-MM")]
ROSTER_BODY = {
    "required": True,
    "description": "date,start,end,agent (a header, then one shift a row; local times)",
    "content": {
        "text/csv": {"schema": {"type": "string"}},
        "text/plain": {"schema": {"type": "string"}},
    },
}


class _Out(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AssumptionsOut(_Out):
    service_level: float
    service_level_seconds: float
    answer_target: float
    handling_seconds: float
    handling_from_history: bool
    patience_seconds: float
    patience_from_history: bool
    history_start: date
    history_days: int


class HalfHourOut(_Out):
    date: date
    half_hour: str
    day_kind: str
    profile: str
    open: bool
    offered: float
    agent_calls: float
    erlangs: float
    agents: int
    service_level: float | None
    answered: float | None
    occupancy: float | None
    rostered: int | None


class ShortfallOut(_Out):
    date: date
    half_hour: str
    needed: int
    rostered: int


class ForecastOut(_Out):
    month: str
    zone: str
    assumptions: AssumptionsOut
    expected_agent_calls: float
    agent_hours: float
    peak_agents: int
    roster: str | None  # where the month's roster was read from
    shortfalls: list[ShortfallOut]
    next_month_roster_exists: bool
    roster_notice: str | None  # from the 23rd of the month (R9: due by the 26th)
    half_hours: list[HalfHourOut]

    @classmethod
    def of(
        cls,
        forecast: MonthForecast,
        zone: str,
        shifts: list[Shift] | None,
        roster: str | None,
        exists: bool,
        notice: str | None,
    ) -> ForecastOut:
        on_duty = coverage(shifts) if shifts is not None else None
        peak = forecast.peak
        return cls(
            month=forecast.month,
            zone=zone,
            assumptions=AssumptionsOut(**{
                name: getattr(forecast.assumptions, name) for name in AssumptionsOut.model_fields
            }),
            expected_agent_calls=forecast.expected_calls,
            agent_hours=forecast.agent_hours,
            peak_agents=peak.agents if peak else 0,
            roster=roster,
            shortfalls=[
                ShortfallOut(date=s.day, half_hour=slot_label(s.slot), needed=s.needed,
                             rostered=s.rostered)
                for s in (shortfalls(forecast.slots, shifts) if shifts is not None else [])
            ],
            next_month_roster_exists=exists,
            roster_notice=notice,
            half_hours=[
                HalfHourOut(
                    date=s.day, half_hour=s.label, day_kind=s.kind, profile=s.profile,
                    open=s.open, offered=s.offered, agent_calls=s.staffing.calls,
                    erlangs=s.staffing.erlangs, agents=s.agents,
                    service_level=s.staffing.service_level, answered=s.staffing.answered,
                    occupancy=s.staffing.occupancy,
                    rostered=len(on_duty.get((s.day, s.slot), ())) if on_duty is not None
                    else None,
                )
                for s in forecast.slots
            ],
        )


@router.get(
    "",
    response_model=ForecastOut,
    responses=problem(422) | CSV,
)
async def forecast(
    ctx: Ctx,
    who: Supervisor,
    month: Annotated[str, Query(pattern=MONTH_PATTERN, description="a local month, YYYY-MM")],
    weeks: Annotated[int, Query(ge=1, le=104, description="weeks of history")] = DEFAULT_WEEKS,
    format: Annotated[Literal["json", "csv"], Query(description="json or csv")] = "json",
) -> Response | ForecastOut:
    """Agents needed per half hour of a local month (Erlang C over the journal's
    history), with the shortfall of the month's roster (data_dir/rosters/YYYY-MM.csv)
    when there is one."""
    config = ctx.config()
    today = today_of(config, ctx.clock.now())
    result = await month_forecast(ctx.journal, config, month, today, weeks)
    path = roster_path(config, month)
    shifts: list[Shift] | None = None
    if path.is_file():
        try:
            shifts = read_roster(path)
        except (RosterError, OSError, UnicodeDecodeError) as exc:
            raise HTTPException(422, f"the roster {path.name} cannot be read: {exc}") from exc
    if format == "csv":
        return PlainTextResponse(
            forecast_csv(result, shifts),
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="forecast-{month}.csv"'},
        )
    exists = next_month_roster_exists(config, today)
    return ForecastOut.of(
        result, str(config.hotline.zone), shifts, str(path) if shifts is not None else None,
        exists, roster_notice(today, exists),
    )


class RosterOut(_Out):
    month: str
    shifts: int
    agents: list[str]
    path: str


@router.put(
    "/roster",
    response_model=RosterOut,
    openapi_extra={"requestBody": ROSTER_BODY},
    responses=problem(422, "not a roster of that month: nothing was saved"),
)
async def put_roster(ctx: Ctx, who: Admin, request: Request, month: Month) -> RosterOut:
    """Publish a month's roster (R9: by the 26th of the month before): the forecast then
    shows where it falls short, and the reminder about next month's roster is answered.
    It replaces the month's roster, if any."""
    config = ctx.config()
    try:
        text = (await request.body()).decode("utf-8")
        shifts = save_roster(config, month, text)
    except UnicodeDecodeError as exc:
        raise HTTPException(422, "the roster is not UTF-8 text") from exc
    except RosterError as exc:
        raise HTTPException(422, f"not saved: {exc}") from exc
    except OSError as exc:
        raise HTTPException(422, f"the roster is valid but was not saved: {exc}") from exc
    return RosterOut(month=month, shifts=len(shifts),
                     agents=sorted({s.agent for s in shifts}),
                     path=str(roster_path(config, month)))


@router.get(
    "/roster",
    response_class=Response,
    responses=problem(404, "no roster for that month") | CSV,
)
async def get_roster(ctx: Ctx, who: Supervisor, month: Month) -> Response:
    """A month's roster as it was published."""
    path = roster_path(ctx.config(), month)
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise HTTPException(404, f"no roster for {month}") from exc
    return Response(data, media_type="text/csv; charset=utf-8")
