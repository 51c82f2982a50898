"""Outage notices (停气公告): admins post and end them, anyone with a token lists them
with how many calls heard each and how many of those still asked for a person."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Path, Query
from pydantic import BaseModel, Field, StrictFloat

from ivr.api.context import Admin, Ctx, Viewer
from ivr.api.params import BodyTime
from ivr.api.schemas import AUTH, In, problem
from ivr.domain.notices import MAX_TEXT, Notice, NoticeInvalid
from ivr.notices.store import Hearing, NoticeNotFound

router = APIRouter(prefix="/api/notices", tags=["notices"], responses=AUTH)
NoticeId = Annotated[int, Path(ge=1, description="the notice's id")]


class NoticeIn(In):
    """A notice: a text (spoken by the prompts' voice) or a recorded file inside the data
    dir or the config's directory; from `starts_at` (default now) to `ends_at` or for
    `hours`; for everyone, or for the areas of some menu keys."""

    text: str | None = Field(None, max_length=MAX_TEXT)
    file: str | None = Field(None, max_length=1000)
    starts_at: BodyTime | None = None
    ends_at: BodyTime | None = None
    hours: StrictFloat | None = Field(None, gt=0, le=24 * 90)
    areas: list[str] = Field(default_factory=list, max_length=9)


class NoticeOut(BaseModel):
    id: int
    text: str | None
    file: str | None
    starts_at: datetime
    ends_at: datetime
    ended_at: datetime | None
    areas: list[str]
    created_by: str
    active: bool
    calls_heard: int
    calls_asked_for_person: int

    @classmethod
    def of(cls, notice: Notice, now: datetime, hearing: Hearing | None = None) -> NoticeOut:
        hearing = hearing or Hearing()
        return cls(
            id=notice.id, text=notice.text, file=notice.file, starts_at=notice.starts_at,
            ends_at=notice.ends_at, ended_at=notice.ended_at, areas=list(notice.areas),
            created_by=notice.created_by, active=notice.active_at(now),
            calls_heard=hearing.heard, calls_asked_for_person=hearing.asked_for_person,
        )  # fmt: skip


class NoticeList(BaseModel):
    notices: list[NoticeOut]


@router.get("", response_model=NoticeList)
async def list_notices(
    ctx: Ctx,
    who: Viewer,
    all_: Annotated[bool, Query(alias="all", description="expired and ended ones too")] = False,
) -> NoticeList:
    found = await ctx.notices.find(include_expired=all_)
    since = min((n.starts_at for n in found), default=ctx.notices.now())
    hearings = await ctx.notices.hearings(since)
    now = ctx.notices.now()
    return NoticeList(notices=[NoticeOut.of(n, now, hearings.get(n.id)) for n in found])


@router.post("", response_model=NoticeOut, status_code=201)
async def post_notice(ctx: Ctx, who: Admin, body: NoticeIn) -> NoticeOut:
    """Post a notice; it plays right after the greeting from its start, and in the
    dialplan's fallback too."""
    try:
        notice = await ctx.notices.add(
            text=body.text, file=body.file, starts_at=body.starts_at, ends_at=body.ends_at,
            hours=body.hours, areas=body.areas, by=who.name,
        )  # fmt: skip
    except NoticeInvalid as exc:
        raise HTTPException(422, str(exc)) from exc
    return NoticeOut.of(notice, ctx.notices.now())


@router.post("/{notice_id}/end", response_model=NoticeOut, responses=problem(404))
async def end_notice(ctx: Ctx, who: Admin, notice_id: NoticeId) -> NoticeOut:
    """End a notice now (ending it again keeps the first end)."""
    try:
        notice = await ctx.notices.end(notice_id)
    except NoticeNotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    return NoticeOut.of(notice, ctx.notices.now())
