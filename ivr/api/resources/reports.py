"""Reports: a day, a month or a range of days, per line and in total: the numbers of
`hotline report` and the exporter, from the same journal queries."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query

from ivr.api.context import Ctx, Viewer
from ivr.api.params import DAY_PATTERN, MONTH_PATTERN
from ivr.api.params import day as checked_day
from ivr.api.schemas import AUTH, ReportOut, problem
from ivr.journal.queries import by_node, day_range, month_range, report

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
        targets=config.targets.values,
    )
    per_node = (
        await by_node(ctx.journal, start, end, line=line, targets=config.targets.values)
        if config.nodes else {}
    )
    return ReportOut.of(result, kind, label, config.person_name, per_node)


@router.get("/day", response_model=ReportOut, responses=problem(422))
async def day_report(
    ctx: Ctx,
    who: Viewer,
    day: Annotated[str, Query(pattern=DAY_PATTERN, description="a local day, YYYY-MM-DD")],
    line: LineName = None,
) -> ReportOut:
    """The calls that arrived on one local day."""
    the_day = checked_day(day, "day")
    return await _report(ctx, day_range(the_day, ctx.zone()), line, "day", the_day.isoformat())


@router.get("/month", response_model=ReportOut, responses=problem(422))
async def month_report(
    ctx: Ctx,
    who: Viewer,
    month: Annotated[
        str, Query(pattern=MONTH_PATTERN, description="a local month, YYYY-MM")
    ],
    line: LineName = None,
) -> ReportOut:
    """The calls that arrived in one local calendar month."""
    return await _report(ctx, month_range(month, ctx.zone()), line, "month", month)


@router.get("/range", response_model=ReportOut, responses=problem(422))
async def range_report(
    ctx: Ctx,
    who: Viewer,
    start: Annotated[str, Query(pattern=DAY_PATTERN, description="first local day, YYYY-MM-DD")],
    end: Annotated[str, Query(pattern=DAY_PATTERN, description="last local day, included")],
    line: LineName = None,
) -> ReportOut:
    """The calls that arrived from `start` to `end`, both local days included."""
    first_day, last_day = checked_day(start, "start"), checked_day(end, "end")
    if last_day < first_day:
        raise HTTPException(422, "end must not be before start")
    if (last_day - first_day).days >= MAX_RANGE_DAYS:
        raise HTTPException(422, f"a range is at most {MAX_RANGE_DAYS} days; ask for months")
    zone = ctx.zone()
    first, _ = day_range(first_day, zone)
    _, stop = day_range(last_day, zone)
    label = f"{first_day.isoformat()}..{last_day.isoformat()}"
    return await _report(ctx, (first, stop), line, "range", label)
