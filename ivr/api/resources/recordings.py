"""Recorded calls (R10: supervisors and admins only; each listen goes to the audit log,
which admins read) and their quality scores on the seed's form."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query, Request
from fastapi.responses import FileResponse
from pydantic import BaseModel, Field, StrictInt

from ivr.api.context import Admin, Ctx, Supervisor
from ivr.api.schemas import AUTH, In, Responses, problem
from ivr.domain.quality import BANDS, ITEM_MAX, MAX_REMARKS, QualityInvalid, Scores, band_of
from ivr.journal.queries import month_range
from ivr.recording.service import LINKEDID, Recording, RecordingNotFound
from ivr.recording.store import StoredScore

router = APIRouter(prefix="/api/recordings", tags=["recordings"], responses=AUTH)
quality_router = APIRouter(prefix="/api/quality", tags=["recordings"], responses=AUTH)

LinkedId = Annotated[
    str, Path(min_length=1, max_length=64, pattern=f"^{LINKEDID.pattern}$",
              description="the call's linkedid")
]  # fmt: skip
NOT_FOUND = problem(404)
AUDIO: Responses = {200: {"content": {"audio/wav": {}}}}
Points = Annotated[StrictInt, Field(ge=0, le=ITEM_MAX)]
Month = Annotated[str, Query(pattern=r"^\d{4}-\d{2}$", description="YYYY-MM, local")]


class RecordingOut(BaseModel):
    linkedid: str
    bytes: int
    recorded_at: datetime
    line: str | None
    answered_by: str | None
    arrived_at: datetime | None
    audio_url: str

    @classmethod
    def of(cls, r: Recording) -> RecordingOut:
        return cls(
            linkedid=r.linkedid, bytes=r.bytes, recorded_at=r.recorded_at, line=r.line,
            answered_by=r.answered_by, arrived_at=r.arrived_at,
            audio_url=f"/api/recordings/{r.linkedid}/audio",
        )  # fmt: skip


class RecordingList(BaseModel):
    recordings: list[RecordingOut]
    files: int
    bytes: int


class ListenOut(BaseModel):
    linkedid: str
    at: datetime
    by: str
    role: str
    byte_range: str


class ListenList(BaseModel):
    listens: list[ListenOut]


class ScoreIn(In):
    """The seed's four listened items, 0-20 points each, with remarks."""

    service_phrases: Points
    attitude: Points
    responsibility: Points
    professionalism: Points
    remarks: str = Field("", max_length=MAX_REMARKS)


class ScoreOut(BaseModel):
    id: int
    linkedid: str
    agent: str
    call_at: datetime
    scored_at: datetime
    scored_by: str
    items: dict[str, int]
    bands: dict[str, str]  # the seed's band each item falls in
    total: int  # of 80
    remarks: str

    @classmethod
    def of(cls, s: StoredScore) -> ScoreOut:
        scores = s.call.scores
        items = {item.value: scores.of(item) for item in BANDS}
        return cls(
            id=s.id, linkedid=s.call.linkedid, agent=s.call.agent, call_at=s.call.call_at,
            scored_at=s.scored_at, scored_by=s.scored_by, items=items,
            bands={item.value: band_of(item, scores.of(item)).meaning for item in BANDS},
            total=scores.total, remarks=s.remarks,
        )  # fmt: skip


class AgentAveragesOut(BaseModel):
    agent: str
    name: str | None
    calls: int
    items: dict[str, float]
    total: float


class QualityMonth(BaseModel):
    month: str
    agents: list[AgentAveragesOut]
    items: dict[str, float]  # every agent together
    scores: list[ScoreOut]


@router.get("", response_model=RecordingList)
async def list_recordings(
    ctx: Ctx, who: Supervisor, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> RecordingList:
    """Recorded calls, newest first, with the disk they use."""
    use = ctx.recordings.disk_use()
    found = await ctx.recordings.find(limit)
    return RecordingList(
        recordings=[RecordingOut.of(r) for r in found], files=use.files, bytes=use.bytes
    )


@router.get("/listens", response_model=ListenList)
async def listens(
    ctx: Ctx, who: Admin, linkedid: Annotated[str | None, Query(max_length=64)] = None,
    limit: Annotated[int, Query(ge=1, le=10_000)] = 100,
) -> ListenList:
    """The audit log: who listened to which call, when (newest first)."""
    found = await ctx.recordings.listens(linkedid, limit)
    return ListenList(listens=[
        ListenOut(linkedid=x.linkedid, at=x.at, by=x.by, role=x.role, byte_range=x.byte_range)
        for x in found
    ])  # fmt: skip


@router.get("/{linkedid}/audio", response_class=FileResponse, responses=AUDIO | NOT_FOUND)
async def audio(ctx: Ctx, who: Supervisor, linkedid: LinkedId, request: Request) -> FileResponse:
    """The recording (byte ranges supported); the listen is written to the audit log."""
    try:
        path = await ctx.recordings.listen(
            linkedid, by=who.name, role=who.role.value,
            byte_range=request.headers.get("range", ""),
        )  # fmt: skip
    except RecordingNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    return FileResponse(
        path, media_type="audio/wav", filename=f"call-{linkedid}.wav",
        content_disposition_type="inline",
    )  # fmt: skip


@router.post("/{linkedid}/score", response_model=ScoreOut, status_code=201,
             responses=NOT_FOUND)
async def score(ctx: Ctx, who: Supervisor, linkedid: LinkedId, body: ScoreIn) -> ScoreOut:
    """Score a call a person answered on the seed's form (scoring again adds a newer
    score; averages use the latest)."""
    try:
        scores = Scores(body.service_phrases, body.attitude, body.responsibility,
                        body.professionalism)  # fmt: skip
        stored = await ctx.recordings.score(linkedid, scores, by=who.name, remarks=body.remarks)
    except QualityInvalid as exc:
        raise HTTPException(422, str(exc)) from exc
    except RecordingNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    return ScoreOut.of(stored)


@quality_router.get("", response_model=QualityMonth)
async def quality_month(ctx: Ctx, who: Supervisor, month: Month) -> QualityMonth:
    """A month's quality scores (by the call's local month): averages per agent and per
    item, and every score."""
    config = ctx.config()
    try:
        start, end = month_range(month, config.hotline.timezone)
    except ValueError as exc:
        raise HTTPException(422, f"month: {exc}") from exc
    averages = await ctx.recordings.averages(start, end)
    scores = await ctx.recordings.scores(start, end)
    calls = sum(a.calls for a in averages)
    overall = {
        item: round(sum(a.items[item] * a.calls for a in averages) / calls, 2)
        for item in (i.value for i in BANDS)
    } if calls else {}
    return QualityMonth(
        month=month,
        agents=[
            AgentAveragesOut(agent=a.agent, name=config.person_name(a.agent), calls=a.calls,
                             items=a.items, total=a.total)
            for a in averages
        ],
        items=overall,
        scores=[ScoreOut.of(s) for s in scores],
    )  # fmt: skip
