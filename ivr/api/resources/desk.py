"""The agent's desk: one page per agent, live over Server-Sent Events (like the
wallboard: HTML, CSS and JS from the service itself, no build step, no CDN).

When the agent's phone is answered (AMI AgentConnect) the page shows the caller, the
IVR's choice, the caller's earlier calls and open work orders, and a form that creates
or completes the call's work order. The agent is the token's holder: an `agent` token
named as the agent's endpoint (`hotline token create --role agent --name agent1`); the
page reads it from the address's fragment (`/desk#token=hl_...`).
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response, StreamingResponse
from pydantic import Field, StrictBool

from ivr.api.context import Agent, Ctx
from ivr.api.resources.orders import OrderOut, actor
from ivr.api.resources.wallboard import PAGE_HEADERS, page_asset
from ivr.api.schemas import AUTH, In, problem
from ivr.orders.desk import desk_view
from ivr.orders.domain import ADDRESS_MAX, TEXT_MAX, Urgency
from ivr.orders.service import Actor

router = APIRouter(tags=["orders"])

KEEPALIVE_EVERY = 15.0
ASSETS = {
    "desk.html": "text/html; charset=utf-8",
    "desk.js": "text/javascript; charset=utf-8",
    "desk.css": "text/css; charset=utf-8",
    "sse.js": "text/javascript; charset=utf-8",
}
DESK_HEADERS = {
    **PAGE_HEADERS,
    # the page posts its form with fetch (connect-src 'self'), never as an HTML form
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
}


def _asset(name: str) -> bytes:
    return page_asset("desk", name)


@router.get("/desk", include_in_schema=False)
async def page() -> Response:
    return Response(_asset("desk.html"), media_type=ASSETS["desk.html"], headers=DESK_HEADERS)


@router.get("/desk/{name}", include_in_schema=False)
async def asset(name: str) -> Response:
    if name not in ASSETS or name.endswith(".html"):
        raise HTTPException(404, "no such file")
    return Response(_asset(name), media_type=ASSETS[name], headers=DESK_HEADERS)


@router.get("/api/desk", responses=AUTH)
async def desk(ctx: Ctx, who: Agent) -> dict[str, Any]:
    """The token holder's desk now: their current (or last) call with its caller, IVR
    choice, the caller's earlier calls and open work orders, and the call's order."""
    return await desk_view(ctx.desk, who.name, ctx.orders.store, ctx.zone())


@router.get("/api/desk/stream", include_in_schema=False)
async def stream(ctx: Ctx, who: Agent, request: Request) -> StreamingResponse:
    async def events() -> AsyncIterator[str]:
        version = -1
        while not await request.is_disconnected():
            if version != ctx.desk.version:
                view = await desk_view(ctx.desk, who.name, ctx.orders.store, ctx.zone())
                version = view["version"]
                yield f"event: desk\ndata: {json.dumps(view, ensure_ascii=False)}\n\n"
            else:
                yield ": still here\n\n"
            await ctx.desk.wait(version, KEEPALIVE_EVERY)

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


class DeskOrderIn(In):
    linkedid: str = Field(min_length=1, max_length=64)
    service: Literal["emergency", "repair", "installation", "billing", "consultation",
                     "complaint", "person"]
    address: str = Field(default="", max_length=ADDRESS_MAX)
    problem: str = Field(default="", max_length=TEXT_MAX)
    urgency: Urgency | None = None
    paid: StrictBool = False


@router.post("/api/desk/order", response_model=OrderOut, responses=AUTH | problem(404)
             | problem(403, "not the agent's call") | problem(409, "the order is closed"))
async def save_order(ctx: Ctx, who: Agent, body: DeskOrderIn) -> OrderOut:
    """The desk form: the call's work order, created, or completed when the IVR's
    choice opened it already. Its hand-off goes out through the outbox."""
    holder = actor(who)
    if ctx.desk.on_call(who.name, body.linkedid):  # AMI saw them answer it: theirs
        holder = Actor(who.name, everyone=True)
    order = await ctx.orders.take_for_call(
        holder, body.linkedid, body.service, address=body.address, problem=body.problem,
        urgency=body.urgency, paid=body.paid,
    )
    return OrderOut.of(order)


__all__ = ["Annotated", "router"]
