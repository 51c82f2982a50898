"""Calls: search, one call with its timeline, CSV export."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, HTTPException, Path, Query
from fastapi.responses import StreamingResponse

from ivr.api.call_search import CallFilter
from ivr.api.context import Ctx, Viewer
from ivr.api.params import CALLER_PATTERN, Since, Until, in_order, instant
from ivr.api.schemas import AUTH, CSV, CallDetail, CallOut, CallPage, EventOut, problem
from ivr.auth.roles import Role, shown_number
from ivr.domain.record import CallRecord, Outcome

router = APIRouter(prefix="/api", tags=["calls"], responses=AUTH)

LinkedId = Annotated[str, Path(min_length=1, max_length=64, description="the call's linkedid")]
LineName = Annotated[str | None, Query(max_length=64, description="line name")]
Caller = Annotated[
    str | None,
    Query(pattern=CALLER_PATTERN, description="calls whose number contains these digits "
          "(not for viewers)"),
]
ServiceName = Annotated[str | None, Query(max_length=64, description="e.g. emergency, repair")]
NodeName = Annotated[
    str | None,
    Query(pattern=r"^[a-z][a-z0-9_]{0,12}$", description="the Asterisk node (several nodes)"),
]

CSV_COLUMNS = (
    "linkedid", "arrived_local", "arrived_utc", "line", "mode", "caller", "service", "outcome",
    "answered_by", "wait_seconds", "rings", "within_three_rings", "abandon_place",
    "abandon_wait_seconds", "voicemail_seconds", "voicemail_urgent", "oncall_result",
    "ended_utc", "end_cause", "callback_needed", "survey_score",
)


def _wanted(
    ctx: Ctx,
    who: Viewer,
    since: Since = None,
    until: Until = None,
    line: LineName = None,
    outcome: Outcome | None = None,
    caller: Caller = None,
    service: ServiceName = None,
    callback_needed: bool | None = None,
    node: NodeName = None,
) -> CallFilter:
    """The search both the page and the CSV take (a dependency: one parameter list)."""
    if caller and not who.role.sees_numbers:
        raise HTTPException(403, "searching by caller number needs the supervisor role")
    zone = ctx.zone()
    start, end = instant(since, zone, "since"), instant(until, zone, "until")
    in_order(start, end)
    return CallFilter(
        since=start,
        until=end,
        line=line,
        outcome=outcome,
        caller=caller,
        service=service,
        callback_needed=callback_needed,
        node=node,
    )


Wanted = Annotated[CallFilter, Depends(_wanted)]


@router.get("/calls", response_model=CallPage, responses=problem(422))
async def search_calls(
    ctx: Ctx,
    who: Viewer,
    wanted: Wanted,
    in_progress: bool | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    cursor: Annotated[str | None, Query(max_length=200)] = None,
) -> CallPage:
    """Calls by arrival, newest first, a page at a time."""
    page = await ctx.search.page(replace(wanted, in_progress=in_progress), limit, cursor)
    config = ctx.config()
    return CallPage(
        zone=str(ctx.zone()),
        calls=[
            CallOut.of(record, who.role, config.person_name, config.node_names)
            for record in page.calls
        ],
        next_cursor=page.next_cursor,
    )


@router.get(
    "/calls.csv",
    response_class=StreamingResponse,
    responses=CSV | problem(422),
)
async def export_calls(
    ctx: Ctx,
    who: Viewer,
    wanted: Wanted,
    limit: Annotated[int, Query(ge=1, le=1_000_000)] = 100_000,
) -> StreamingResponse:
    """The same search as CSV, finished calls only (UTF-8 with a BOM, so spreadsheets
    read Chinese names right)."""
    zone = ctx.zone()
    finished = replace(wanted, in_progress=False)
    rows = _csv_rows(ctx.search.each(finished, limit), zone, who.role)
    return StreamingResponse(
        rows,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="calls.csv"'},
    )


async def _csv_rows(
    records: AsyncIterator[CallRecord], zone: ZoneInfo, role: Role
) -> AsyncIterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    yield "\ufeff" + _take(buffer)
    async for r in records:
        writer.writerow(
            (
                r.linkedid,
                _local(r.arrived_at, zone),
                r.arrived_at.isoformat(),
                r.line,
                r.mode.value,
                shown_number(r.caller, role),
                r.service or "",
                r.outcome.value if r.outcome else "",
                _cell(r.answered_by or ""),
                _number(r.wait_seconds),
                r.rings if r.rings is not None else "",
                "" if r.within_three_rings is None else int(r.within_three_rings),
                r.abandon_place.value if r.abandon_place else "",
                _number(r.abandon_wait_seconds),
                _number(r.voicemail_seconds),
                int(r.voicemail_urgent),
                r.oncall_result.value if r.oncall_result else "",
                r.ended_at.isoformat() if r.ended_at else "",
                r.end_cause or "",
                int(r.callback_needed),
                r.survey_score if r.survey_score is not None else "",
            )
        )
        yield _take(buffer)


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def _local(at: datetime, zone: ZoneInfo) -> str:
    return at.astimezone(zone).replace(tzinfo=None).isoformat(sep=" ", timespec="seconds")


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.3f}"


def _cell(text: str) -> str:
    """A name that a spreadsheet would run as a formula is quoted."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


@router.get(
    "/calls/{linkedid}",
    response_model=CallDetail,
    responses=problem(404),
)
async def one_call(ctx: Ctx, who: Viewer, linkedid: LinkedId) -> CallDetail:
    """One call with its whole timeline (its journal events)."""
    record = await ctx.journal.call(linkedid)
    if record is None:
        raise HTTPException(404, f"no call {linkedid!r} in the journal")
    events = await ctx.journal.events_of(linkedid)
    return CallDetail(
        zone=str(ctx.zone()),
        call=CallOut.of(record, who.role, ctx.config().person_name, ctx.config().node_names),
        timeline=[EventOut.of(event, record.caller, who.role) for event in events],
    )
