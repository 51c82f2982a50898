"""Spot checks (抽查, SPEC R8): checkers' results entered by supervisors, the prober's
on demand (admin), and the quarter's score (anyone with a token)."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, Field, StrictInt

from ivr.api.context import Admin, Ctx, Supervisor, Viewer
from ivr.api.params import BodyTime
from ivr.api.schemas import AUTH, In, problem
from ivr.domain.spotcheck import MAX_DIALS, Dial, DialResult, SpotCheckInvalid
from ivr.spotchecks.store import SpotCheck

router = APIRouter(prefix="/api/spotchecks", tags=["spotchecks"], responses=AUTH)
Quarter = Annotated[str | None, Query(pattern=r"^\d{4}Q[1-4]$", description="e.g. 2026Q4")]


class DialIn(In):
    at: BodyTime
    result: DialResult


class CheckIn(In):
    """One checker's check: their dials in order (a busy tone or a no-answer redialled no
    sooner than 3 minutes later, until one connected), and optionally the 80 points they
    gave by listening."""

    checker: str = Field(min_length=1, max_length=64)
    dials: list[DialIn] = Field(min_length=1, max_length=MAX_DIALS)
    listened_score: StrictInt | None = Field(None, ge=0, le=80)
    notes: str = Field("", max_length=2000)


class DialOut(BaseModel):
    at: datetime
    result: str


class CheckOut(BaseModel):
    id: int
    quarter: str
    checker: str
    kind: str
    checked_at: datetime
    dials: list[DialOut]
    connection_score: int
    listened_score: int | None
    total: int | None
    notes: str

    @classmethod
    def of(cls, c: SpotCheck) -> CheckOut:
        return cls(
            id=c.id, quarter=c.quarter, checker=c.checker, kind=c.kind,
            checked_at=c.checked_at,
            dials=[DialOut(at=d.at, result=d.result.value) for d in c.dials],
            connection_score=c.connection_score, listened_score=c.listened_score,
            total=c.total, notes=c.notes,
        )  # fmt: skip


class CheckerOut(BaseModel):
    checker: str
    checks: int
    score: float


class QuarterOut(BaseModel):
    quarter: str
    score: float | None  # None until three or more checkers checked
    checkers: list[CheckerOut]
    checks: list[CheckOut]


class ProbeStarted(BaseModel):
    started: bool
    detail: str


@router.get("", response_model=QuarterOut)
async def quarter(ctx: Ctx, who: Viewer, quarter: Quarter = None) -> QuarterOut:
    """A quarter's checks and its score (default: the current quarter)."""
    service = ctx.spotchecks
    q = quarter or service.current_quarter()
    score = await service.quarter(q)
    checks = await service.checks(q)
    return QuarterOut(
        quarter=q, score=score.score,
        checkers=[CheckerOut(checker=c.checker, checks=c.checks, score=c.score)
                  for c in score.checkers],
        checks=[CheckOut.of(c) for c in checks],
    )  # fmt: skip


@router.post("", response_model=CheckOut, status_code=201)
async def enter_check(ctx: Ctx, who: Supervisor, body: CheckIn) -> CheckOut:
    """Enter a checker's result; it is scored by the rule."""
    try:
        check = await ctx.spotchecks.record(
            body.checker, [Dial(d.at, d.result) for d in body.dials],
            listened_score=body.listened_score, notes=body.notes,
        )  # fmt: skip
    except SpotCheckInvalid as exc:
        raise HTTPException(422, str(exc)) from exc
    return CheckOut.of(check)


@router.post("/probe", response_model=ProbeStarted, status_code=202, responses=problem(409))
async def probe(ctx: Ctx, who: Admin) -> ProbeStarted:
    """Start a probe now; it may take minutes (the redial rule); its check appears in
    the quarter's list when done."""
    prober = ctx.prober
    if prober is None:
        raise HTTPException(409, "the prober is not running in this service")
    task = asyncio.create_task(prober.probe(), name="probe-api")
    ctx.background.add(task)
    task.add_done_callback(ctx.background.discard)
    return ProbeStarted(started=True, detail="probing; see GET /api/spotchecks")
