"""The wallboard: one page for a wall screen, live over Server-Sent Events.

`GET /wallboard` serves the page (HTML, CSS and JS from the service itself, no build
step, no CDN; the page holds no data). Its script reads a viewer token from the address's
fragment (`/wallboard#token=hl_...`: a fragment is never sent to the server, so it stays
out of access logs), keeps it in the tab's sessionStorage, and reads
`GET /api/wallboard/stream` with it: a `text/event-stream` that sends a snapshot at once
and then each time it changes (checked every second), with a comment every 15 s to keep
proxies from closing it. `GET /api/wallboard` is the same snapshot once, as JSON.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response, StreamingResponse

from ivr.api.context import Ctx, Viewer
from ivr.api.schemas import AUTH
from ivr.api.wallboard import snapshot

router = APIRouter(tags=["live"])

PUSH_EVERY = 1.0  # seconds between checks for a change
KEEPALIVE_EVERY = 15.0
ASSETS = {
    "wallboard.html": "text/html; charset=utf-8",
    "wallboard.js": "text/javascript; charset=utf-8",
    "wallboard.css": "text/css; charset=utf-8",
    "sse.js": "text/javascript; charset=utf-8",
}
COMMON = frozenset({"sse.js"})  # one file the built-in pages share (static/common)
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def page_asset(page: str, name: str) -> bytes:
    """A built-in page's file: its own, or one the pages share."""
    folder = "common" if name in COMMON else page
    return resources.files("ivr.api").joinpath("static", folder, name).read_bytes()


def _asset(name: str) -> bytes:
    return page_asset("wallboard", name)


@router.get("/wallboard", include_in_schema=False)
async def page() -> Response:
    return Response(_asset("wallboard.html"), media_type=ASSETS["wallboard.html"],
                    headers=PAGE_HEADERS)


@router.get("/wallboard/{name}", include_in_schema=False)
async def asset(name: str) -> Response:
    if name not in ASSETS or name.endswith(".html"):
        raise HTTPException(404, "no such file")
    return Response(_asset(name), media_type=ASSETS[name], headers=PAGE_HEADERS)


@router.get("/api/wallboard", responses=AUTH)
async def board(ctx: Ctx, who: Viewer) -> dict[str, Any]:
    """What the wallboard shows now: waiting calls and the longest wait, agents by name
    and state, today's rates against their targets, abandoned calls, callbacks owed."""
    return await snapshot(ctx, ctx.clock.now())


@router.get("/api/wallboard/stream", include_in_schema=False)
async def stream(ctx: Ctx, who: Viewer, request: Request) -> StreamingResponse:
    async def events() -> AsyncIterator[str]:
        last: str | None = None
        quiet = 0.0
        while not await request.is_disconnected():
            current = json.dumps(await snapshot(ctx, ctx.clock.now()), ensure_ascii=False)
            if current != last:
                yield f"event: board\ndata: {current}\n\n"
                last, quiet = current, 0.0
            elif quiet >= KEEPALIVE_EVERY:
                yield ": still here\n\n"
                quiet = 0.0
            await asyncio.sleep(PUSH_EVERY)
            quiet += PUSH_EVERY

    return StreamingResponse(
        events(),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )
