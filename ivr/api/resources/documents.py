"""Report documents: a week or a month as JSON, CSV, HTML or PDF, the same document as
`hotline report --week/--month --format ...`. Charts and the PDF are drawn in a worker
thread: the event loop that drives the calls never waits on them."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query
from fastapi.responses import Response

from ivr.api.context import Ctx, Supervisor
from ivr.api.params import MONTH_PATTERN
from ivr.api.schemas import AUTH, problem
from ivr.reporting.document import Kind, build_document
from ivr.reporting.render import MEDIA_TYPES, render

router = APIRouter(prefix="/api/reports", tags=["reports"], responses=AUTH)

WEEK_PATTERN = r"^(19[7-9][0-9]|2[0-9]{3})-W(0[1-9]|[1-4][0-9]|5[0-3])$"
DOCUMENT: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {media: {} for media in MEDIA_TYPES.values()},
        "description": "the document in the format asked for",
    }
}


@router.get("/document", responses=DOCUMENT | problem(422), response_class=Response)
async def document(
    ctx: Ctx,
    who: Supervisor,
    week: Annotated[
        str | None, Query(pattern=WEEK_PATTERN, description="an ISO week, YYYY-Www")
    ] = None,
    month: Annotated[
        str | None, Query(pattern=MONTH_PATTERN, description="a local month, YYYY-MM")
    ] = None,
    format: Annotated[
        Literal["json", "csv", "html", "pdf", "text"], Query(description="the document's format")
    ] = "json",
    line: Annotated[str | None, Query(max_length=64, description="only this line")] = None,
) -> Response:
    """The weekly or monthly report document (give `week` or `month`): the SPEC §3
    rates against targets, weekday x hour heatmaps of offered and lost calls, rings and
    answer-time distributions, abandon places, voicemails and callbacks, and the staffing
    forecast against what happened."""
    if (week is None) == (month is None):
        raise HTTPException(422, "give exactly one of week (YYYY-Www) or month (YYYY-MM)")
    kind: Kind = "week" if week is not None else "month"
    label = week if week is not None else month
    assert label is not None
    try:
        built = await build_document(
            ctx.journal, ctx.config(), kind, label, line=line, now=ctx.clock.now()
        )
    except ValueError as exc:  # e.g. 2026-W53 in a year of 52 weeks
        raise HTTPException(422, str(exc)) from exc
    data = await asyncio.to_thread(render, built, format)
    headers = {}
    if format in ("csv", "pdf", "html"):
        headers["Content-Disposition"] = f'attachment; filename="report-{label}.{format}"'
    return Response(data, media_type=MEDIA_TYPES[format], headers=headers)
