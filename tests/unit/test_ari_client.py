"""The ARI client's connections: the event websocket never waits behind commands.

An aiohttp server stands in for ARI's HTTP side only to hold commands unanswered, which
a real Asterisk does under load and cannot be made to do on cue."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from ivr.ari.client import POOL, AriClient


@pytest.fixture
async def slow_ari() -> AsyncIterator[tuple[TestServer, asyncio.Event, asyncio.Event]]:
    release = asyncio.Event()
    pool_taken = asyncio.Event()  # POOL commands have arrived: every connection is held
    arrived = 0

    async def channels(_: web.Request) -> web.Response:
        nonlocal arrived
        arrived += 1
        if arrived == POOL:
            pool_taken.set()
        await release.wait()
        return web.json_response([])

    async def events(request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        async for _ in ws:
            pass
        return ws

    app = web.Application()
    app.router.add_get("/ari/channels", channels)
    app.router.add_get("/ari/events", events)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    try:
        yield server, release, pool_taken
    finally:
        release.set()
        await server.close()


async def test_the_event_websocket_connects_while_every_command_connection_waits(
    slow_ari: tuple[TestServer, asyncio.Event, asyncio.Event],
) -> None:
    server, release, pool_taken = slow_ari
    client = AriClient(str(server.make_url("")), "hotline", "secret", "hotline")
    await client.open()
    commands = [asyncio.create_task(client.channels()) for _ in range(POOL + 2)]
    await asyncio.wait_for(pool_taken.wait(), 3)
    events = client.events()
    try:
        first = await asyncio.wait_for(anext(events), 3)
        assert first == {"type": "HotlineConnected"}
        assert not any(command.done() for command in commands)  # still held
        release.set()
        assert await asyncio.gather(*commands) == [[]] * (POOL + 2)
    finally:
        await events.aclose()
        await client.close()
