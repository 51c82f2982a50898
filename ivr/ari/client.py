"""The ARI connection: events in over one websocket, commands out over one held aiohttp
session (REST over HTTP: it keeps working while the websocket is down, which is when
calls most need to be handed to the dialplan). Nothing about calls lives here.

The event stream says when the websocket comes and goes, with two events of its own:
`HotlineConnected` and `HotlineDisconnected`.

(Measured here: a held aiohttp session answers p50 4.2 ms at 200 calls/s; httpx
collapsed, so it stays off the call path.)
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import aiohttp
import structlog

from ivr.secrets import basic_auth

log = structlog.get_logger(__name__)

Json = dict[str, Any]
POOL = 8  # HTTP connections to ARI


class AriError(RuntimeError):
    def __init__(self, status: int, method: str, path: str, body: str) -> None:
        self.status = status
        super().__init__(f"ARI {method} {path} -> {status}: {body[:200]}")


class AriClient:
    def __init__(self, base_url: str, user: str, password: str, app: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.app = app
        self._headers = {"Authorization": basic_auth(user, password)}
        self._session: aiohttp.ClientSession | None = None  # commands
        self._events_session: aiohttp.ClientSession | None = None  # the websocket
        self.events_socket: aiohttp.ClientWebSocketResponse | None = None  # while connected
        self.connected = asyncio.Event()
        self.on_connect: list[Callable[[], None]] = []  # called on every (re)connection

    async def open(self) -> None:
        if self._session is None or self._session.closed:
            # Few connections, kept open: a burst of commands (calls arriving after a
            # stall) then waits a few ms for one of them instead of opening dozens at once,
            # which overflowed the accept queue of Asterisk's HTTP server and cost the
            # dropped ones a 1 s SYN retransmission (measured: silence p99 1.04 s at 50
            # calls/s with limit=200). Idle ones are let go before Asterisk's own 15 s
            # keep-alive closes them under us.
            connector = aiohttp.TCPConnector(limit=POOL, keepalive_timeout=10)
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=10),
            )
        if self._events_session is None or self._events_session.closed:
            # The websocket has a connection of its own: through the commands' pool it
            # waited for a free slot behind commands Asterisk was slow to answer, and
            # timed out, so a reconnect took up to 50 s exactly when calls were piling
            # up (seen in the fault mix on a loaded machine).
            self._events_session = aiohttp.ClientSession(
                headers=self._headers,
                connector=aiohttp.TCPConnector(limit=1),
                timeout=aiohttp.ClientTimeout(total=10),  # the handshake; events then flow
            )

    async def close(self) -> None:
        self.connected.clear()
        for session in (self._session, self._events_session):
            if session is not None:
                await session.close()
        self._session = self._events_session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("AriClient.open() first")
        return self._session

    @property
    def events_session(self) -> aiohttp.ClientSession:
        if self._events_session is None:
            raise RuntimeError("AriClient.open() first")
        return self._events_session

    async def events(self, retry_seconds: float = 1.0) -> AsyncIterator[Json]:
        """Yield ARI events forever, reconnecting when Asterisk goes away; each
        connection starts with `HotlineConnected` and ends with `HotlineDisconnected`."""
        await self.open()
        url = f"{self.base_url}/ari/events?app={self.app}&subscribeAll=false"
        while True:
            was_connected = False
            try:
                async with self.events_session.ws_connect(
                    url, heartbeat=20, timeout=aiohttp.ClientWSTimeout(ws_close=5)
                ) as ws:
                    self.events_socket = ws
                    was_connected = True
                    self.connected.set()
                    log.info("ari.connected", app=self.app)
                    for listener in self.on_connect:
                        listener()
                    yield {"type": "HotlineConnected"}
                    async for message in ws:
                        if message.type is aiohttp.WSMsgType.TEXT:
                            yield json.loads(message.data)
                        elif message.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                            break
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                log.warning("ari.unreachable", error=str(exc))
            finally:
                self.events_socket = None
                if self.connected.is_set():
                    log.warning("ari.disconnected")
                self.connected.clear()
            if was_connected:
                yield {"type": "HotlineDisconnected"}
            await asyncio.sleep(retry_seconds)

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None = None,
        body: Json | None = None,
    ) -> Any:
        async with self.session.request(
            method, f"{self.base_url}/ari{path}", params=params, json=body
        ) as response:
            text = await response.text()
            if response.status >= 300:
                raise AriError(response.status, method, path, text)
            return json.loads(text) if text else None

    # Channel commands the call flow uses.

    async def answer(self, channel: str) -> None:
        await self.request("POST", f"/channels/{channel}/answer")

    async def play(self, channel: str, media: list[str], playback_id: str) -> None:
        await self.request(
            "POST",
            f"/channels/{channel}/play/{playback_id}",
            params={"media": ",".join(media)},
        )

    async def stop_playback(self, playback_id: str) -> None:
        with contextlib.suppress(AriError):
            await self.request("DELETE", f"/playbacks/{playback_id}")

    async def set_variable(self, channel: str, name: str, value: str) -> None:
        await self.request(
            "POST", f"/channels/{channel}/variable", params={"variable": name, "value": value}
        )

    async def continue_in_dialplan(self, channel: str, context: str, extension: str = "s") -> None:
        await self.request(
            "POST",
            f"/channels/{channel}/continue",
            params={"context": context, "extension": extension, "priority": 1},
        )

    async def hangup(self, channel: str) -> None:
        with contextlib.suppress(AriError):
            await self.request("DELETE", f"/channels/{channel}")

    async def channels(self) -> list[Json]:
        result: list[Json] = await self.request("GET", "/channels")
        return result
