"""Reports: a day, a month or a range of days, per line and in total: the numbers of
`hotline report` and the exporter, from the same journal queries."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query

from ivr.api.context import Ctx, Viewer
from ivr.api.params import day as checked_day
from ivr.api.schemas import AUTH, ReportOut, problem
from ivr.journal.queries import day_range, month_range, report

router = APIRouter(prefix="/api/reports", tags=["reports"], responses=AUTH)

MAX_RANGE_DAYS = 400
LineName = Annotated[str | None, Query(max_length=64, description="only this line (its name)")]


async def _report(
    ctx: Ctx,
    bounds: tuple[datetime, datetime],
    line: str | None,
    kind: Literal["day", "month", "range"],
    label: str,
) -> ReportOut:
    config = ctx.config()
    start, end = bounds
    result = await report(
        ctx.journal,
        start,
        end,
        line=line,
        zone=config.hotline.zone,
        targets=config.targets,
    )
    return ReportOut.of(result, kind, label)


@router.get("/day", response_model=ReportOut, responses=problem(422))
async def day_report(
    ctx: Ctx,
    who: Viewer,
    day: Annotated[date, Query(description="a local day, YYYY-MM-DD")],
    line: LineName = None,
) -> ReportOut:
    """The calls that arrived on one local day."""
    checked_day(day, "day")
    return await _report(ctx, day_range(day, ctx.zone()), line, "day", day.isoformat())


@router.get("/month", response_model=ReportOut, responses=problem(422))
async def month_report(
    ctx: Ctx,
    who: Viewer,
    month: Annotated[
        str, Query(pattern=r"^(19[7-9][0-9]|2[0-9]{3})-(0[1-9]|1[0-2])$",
                   description="a local month, YYYY-MM")
    ],
    line: LineName = None,
) -> ReportOut:
    """The calls that arrived in one local calendar month."""
    return await _report(ctx, month_range(month, ctx.zone()), line, "month", month)


@router.get("/range", response_model=ReportOut, responses=problem(422))
async def range_report(
    ctx: Ctx,
    who: Viewer,
    start: Annotated[date, Query(description="first local day, YYYY-MM-DD")],
    end: Annotated[date, Query(description="last local day, included")],
    line: LineName = None,
) -> ReportOut:
    """The calls that arrived from `start` to `end`, both local days included."""
    checked_day(start, "start")
    checked_day(end, "end")
    if end < start:
        raise HTTPException(422, "end must not be before start")
    if (end - start).days >= MAX_RANGE_DAYS:
        raise HTTPException(422, f"a range is at most {MAX_RANGE_DAYS} days; ask for months")
    zone = ctx.zone()
    first, _ = day_range(start, zone)
    _, stop = day_range(end, zone)
    label = f"{start.isoformat()}..{end.isoformat()}"
    return await _report(ctx, (first, stop), line, "range", label)
