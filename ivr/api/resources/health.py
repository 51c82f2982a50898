"""Health, without a token: alive, and ready (ARI and AMI connected, database writable)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Response

from ivr.api.context import Ctx, Viewer
from ivr.api.schemas import LiveHealth, MeOut, ReadyOut

router = APIRouter(tags=["health"])

DATABASE_TIMEOUT = 3.0


@router.get("/health/live", response_model=LiveHealth)
async def alive() -> LiveHealth:
    """The service answers."""
    return LiveHealth(status="ok")


@router.get("/health/ready", response_model=ReadyOut, responses={503: {"model": ReadyOut}})
async def ready(ctx: Ctx, response: Response) -> ReadyOut:
    """Ready to take calls: ARI and AMI connected and the database takes writes."""
    problems = []
    ari, ami = ctx.live.ari_connected(), ctx.live.ami_connected()
    if not ari:
        problems.append("ARI is not connected: calls go through the dialplan fallback")
    if not ami:
        problems.append("AMI is not connected: queue events are not journaled")
    database = True
    try:
        await asyncio.wait_for(ctx.tokens.check_writable(), DATABASE_TIMEOUT)
    except Exception as exc:  # any failure here is the answer, not an error
        database = False
        problems.append(f"the database does not take writes: {type(exc).__name__}")
    ok = not problems
    if not ok:
        response.status_code = 503
    return ReadyOut(ready=ok, checks={"ari": ari, "ami": ami, "database": database},
                    problems=problems)


@router.get("/api/me", response_model=MeOut, tags=["identity"])
async def me(who: Viewer) -> MeOut:
    """Whose token this is, and its role."""
    return MeOut(name=who.name, role=who.role)
