"""Voicemails: list, listen, mark handled."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query
from fastapi.responses import FileResponse

from ivr.api.context import Admin, Ctx, Supervisor, Viewer
from ivr.api.params import Since, Until, in_order, instant
from ivr.api.schemas import AUTH, Responses, VoicemailList, VoicemailOut, problem

router = APIRouter(prefix="/api/voicemails", tags=["voicemail"], responses=AUTH)

LinkedId = Annotated[str, Path(min_length=1, max_length=64, description="the call's linkedid")]
NOT_FOUND = problem(404)
AUDIO: Responses = {200: {"content": {"audio/wav": {}}}}


@router.get("", response_model=VoicemailList, responses=problem(422))
async def list_voicemails(
    ctx: Ctx,
    who: Viewer,
    since: Since = None,
    until: Until = None,
    handled: bool | None = None,
    line: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> VoicemailList:
    """Calls that left a message, newest first."""
    zone = ctx.zone()
    start, end = instant(since, zone, "since"), instant(until, zone, "until")
    in_order(start, end)
    found = await ctx.voicemail.list(
        since=start, until=end, handled=handled, line=line, limit=limit
    )
    return VoicemailList(
        zone=str(zone), voicemails=[VoicemailOut.of(v, who.role) for v in found]
    )


@router.get("/{linkedid}", response_model=VoicemailOut, responses=NOT_FOUND)
async def one_voicemail(ctx: Ctx, who: Viewer, linkedid: LinkedId) -> VoicemailOut:
    return VoicemailOut.of(await ctx.voicemail.get(linkedid), who.role)


@router.get(
    "/{linkedid}/audio",
    response_class=FileResponse,
    responses=AUDIO | NOT_FOUND,
)
async def audio(ctx: Ctx, who: Supervisor, linkedid: LinkedId) -> FileResponse:
    """The recording (byte ranges supported, so a player can seek)."""
    recording = await ctx.voicemail.recording(linkedid)
    return FileResponse(
        recording.path,
        media_type=recording.media_type,
        filename=f"voicemail-{linkedid}{recording.path.suffix}",
        content_disposition_type="inline",
    )


@router.post("/{linkedid}/handled", response_model=VoicemailOut, responses=NOT_FOUND)
async def mark_handled(ctx: Ctx, who: Admin, linkedid: LinkedId) -> VoicemailOut:
    """Mark the voicemail handled (marking it again keeps the first mark)."""
    return VoicemailOut.of(await ctx.voicemail.mark_handled(linkedid, who.name), who.role)
