"""Callbacks (回访): tasks by priority and age, attempts, dismissals, the monthly
callback rate, and calling a customer back from an agent's phone."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from fastapi.responses import PlainTextResponse

from ivr.api.context import Admin, Ctx, Supervisor, Viewer
from ivr.api.params import MONTH_PATTERN, bounded
from ivr.api.schemas import (
    AUTH,
    CSV,
    AttemptIn,
    CallBackIn,
    CallBackOut,
    DismissIn,
    MonthOut,
    SyncOut,
    TaskList,
    TaskOut,
    problem,
)
from ivr.auth.tokens import Principal
from ivr.callbacks.domain import CallbackTask, Priority, TaskStatus
from ivr.reporting.dissatisfied import DissatisfiedTable, dissatisfied_csv, dissatisfied_rows

router = APIRouter(prefix="/api/callbacks", tags=["callbacks"], responses=AUTH)

LinkedId = Annotated[str, Path(min_length=1, max_length=64, description="the call's linkedid")]
NOT_FOUND = problem(404)
CLOSED = problem(409, "the task is closed")
INVALID = problem(422)


def _out(ctx: Ctx, task: CallbackTask, who: Principal) -> TaskOut:
    return TaskOut.of(task, who.role, ctx.clock.now(), ctx.zone())


@router.get("", response_model=TaskList)
async def list_tasks(
    ctx: Ctx,
    who: Viewer,
    status_: Annotated[
        Literal["open", "done", "failed", "dismissed", "all"],
        Query(alias="status", description="open (the default), done, failed, dismissed, all"),
    ] = "open",
    priority: Annotated[
        str | None, Query(pattern="^(emergency|repair|normal)$", description="only this one")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> TaskList:
    """Tasks by priority (emergency first), then age (oldest call first)."""
    tasks = await ctx.callbacks.tasks(
        status=None if status_ == "all" else TaskStatus(status_),
        priority=Priority[priority] if priority else None,
        limit=limit,
        offset=offset,
    )
    return TaskList(zone=str(ctx.zone()), tasks=[_out(ctx, task, who) for task in tasks])


@router.get("/rate", response_model=MonthOut, responses=INVALID)
async def callback_rate(
    ctx: Ctx,
    who: Viewer,
    month: Annotated[
        str, Query(pattern=MONTH_PATTERN, description="a local month, YYYY-MM")
    ],
) -> MonthOut:
    """The month's callback rate (R7): tasks called back / tasks owed in the month."""
    year, number = (int(part) for part in month.split("-"))
    return MonthOut.of(await ctx.callbacks.month(year, number), str(ctx.zone()))


@router.get("/dissatisfied", response_model=DissatisfiedTable, responses=INVALID | CSV)
async def dissatisfied(
    ctx: Ctx,
    who: Supervisor,
    month: Annotated[str, Query(pattern=MONTH_PATTERN, description="a local month, YYYY-MM")],
    format_: Annotated[Literal["json", "csv"], Query(alias="format")] = "json",
) -> Any:
    """The month's 回访不满意情况表: every callback whose customer was dissatisfied, with
    the work order it was about (for management, R7)."""
    year, number = (int(part) for part in month.split("-"))
    rows = await dissatisfied_rows(ctx.callbacks, ctx.orders.store, year, number)
    if format_ == "csv":
        return PlainTextResponse(
            dissatisfied_csv(rows), media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="dissatisfied-{month}.csv"'},
        )
    return DissatisfiedTable(month=month, zone=str(ctx.zone()), rows=rows)


@router.post("/sync", response_model=SyncOut)
async def sync(ctx: Ctx, who: Admin) -> SyncOut:
    """Create the missing tasks from the journal now (the service also does it on its
    own every few seconds)."""
    result = await ctx.callbacks.sync()
    return SyncOut(created=result.created, dismissed=result.dismissed)


@router.get("/{linkedid}", response_model=TaskOut, responses=NOT_FOUND)
async def one_task(ctx: Ctx, who: Viewer, linkedid: LinkedId) -> TaskOut:
    return _out(ctx, await ctx.callbacks.task(linkedid), who)


@router.post(
    "/{linkedid}/attempts",
    response_model=TaskOut,
    status_code=status.HTTP_201_CREATED,
    responses=NOT_FOUND | CLOSED | INVALID,
)
async def record_attempt(
    ctx: Ctx, who: Admin, linkedid: LinkedId, attempt: AttemptIn
) -> TaskOut:
    """Record a callback attempt and its result. Reached: the task is done. Failed on
    two different local days: the task failed."""
    at = None
    if attempt.at is not None:
        at = attempt.at if attempt.at.tzinfo else attempt.at.replace(tzinfo=ctx.zone())
        bounded(at, "at")
    task = await ctx.callbacks.record_attempt(
        linkedid, attempt.result, at=at, by=who.name, note=attempt.note,
        satisfaction=attempt.satisfaction, satisfaction_note=attempt.satisfaction_note,
    )
    return _out(ctx, task, who)


@router.post(
    "/{linkedid}/dismiss", response_model=TaskOut, responses={**NOT_FOUND, **CLOSED, **INVALID}
)
async def dismiss(ctx: Ctx, who: Admin, linkedid: LinkedId, body: DismissIn) -> TaskOut:
    """Close a task without calling back (say why)."""
    return _out(ctx, await ctx.callbacks.dismiss(linkedid, body.note, by=who.name), who)


@router.post(
    "/{linkedid}/call",
    response_model=CallBackOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=NOT_FOUND
    | CLOSED
    | INVALID
    | problem(502, "Asterisk refused the call")
    | problem(503, "calling back is not available"),
)
async def call_back(ctx: Ctx, who: Admin, linkedid: LinkedId, body: CallBackIn) -> CallBackOut:
    """Ring the agent's phone; when the agent answers, the customer is dialled. The
    attempt's result is recorded afterwards (POST .../attempts)."""
    if ctx.originator is None:
        raise HTTPException(503, "calling back from the API is not available in this service")
    agents = {agent.endpoint: agent.name for agent in ctx.config().agents}
    channel = await ctx.callbacks.call_back(linkedid, body.agent, ctx.originator, agents)
    return CallBackOut(
        task=linkedid,
        agent=body.agent,
        channel_id=channel,
        detail=f"ringing {body.agent}; the customer is dialled when the agent answers",
    )
