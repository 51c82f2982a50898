"""The ARI connection: events in over one websocket; commands out over that same
websocket while it is up (ARI's REST over WebSocket, Asterisk 22.3 and later), else
over one held aiohttp session (REST over HTTP keeps working while the websocket is
down, which is when calls most need to be handed to the dialplan). Nothing about calls
lives here.

A request over the websocket costs the call loop a JSON message each way instead of an
HTTP exchange: at 50 calls/s the service's CPU per call fell from ~10 to ~8 ms with it
(`bench/caller_hears.py`). A request in flight when the websocket drops fails with
`aiohttp.ServerDisconnectedError`, as an HTTP request to a vanished Asterisk does.

The event stream says when the websocket comes and goes, with two events of its own:
`HotlineConnected` and `HotlineDisconnected`. A reader task takes the socket's messages
apart (responses to their requests, events to the stream), so whoever consumes the
stream may itself wait on a request.

(Measured here: a held aiohttp session answers p50 4.2 ms at 200 calls/s; httpx
collapsed, so it stays off the call path.)
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
from collections.abc import AsyncIterator, Callable, Mapping
from typing import Any

import aiohttp
import structlog

from ivr.secrets import basic_auth

log = structlog.get_logger(__name__)

Json = dict[str, Any]
REQUEST_TIMEOUT = 10.0  # seconds, over either path


class AriError(RuntimeError):
    def __init__(self, status: int, method: str, path: str, body: str) -> None:
        self.status = status
        super().__init__(f"ARI {method} {path} -> {status}: {body[:200]}")


class AriClient:
    def __init__(self, base_url: str, user: str, password: str, app: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.app = app
        self._headers = {"Authorization": basic_auth(user, password)}
        self._session: aiohttp.ClientSession | None = None
        self.events_socket: aiohttp.ClientWebSocketResponse | None = None  # while connected
        self.connected = asyncio.Event()
        self.on_connect: list[Callable[[], None]] = []  # called on every (re)connection
        self.rest_over_websocket = True
        self._pending: dict[str, asyncio.Future[tuple[int, str]]] = {}
        self._request_ids = itertools.count(1)

    async def open(self) -> None:
        if self._session is None or self._session.closed:
            connector = aiohttp.TCPConnector(limit=200, keepalive_timeout=60)
            self._session = aiohttp.ClientSession(
                headers=self._headers,
                connector=connector,
                timeout=aiohttp.ClientTimeout(total=REQUEST_TIMEOUT),
            )

    async def close(self) -> None:
        self.connected.clear()
        if self._session is not None:
            await self._session.close()
            self._session = None

    @property
    def session(self) -> aiohttp.ClientSession:
        if self._session is None:
            raise RuntimeError("AriClient.open() first")
        return self._session

    async def events(self, retry_seconds: float = 1.0) -> AsyncIterator[Json]:
        """Yield ARI events forever, reconnecting when Asterisk goes away; each
        connection starts with `HotlineConnected` and ends with `HotlineDisconnected`."""
        await self.open()
        url = f"{self.base_url}/ari/events?app={self.app}&subscribeAll=false"
        while True:
            was_connected = False
            try:
                async with self.session.ws_connect(
                    url, heartbeat=20, timeout=aiohttp.ClientWSTimeout(ws_close=5)
                ) as ws:
                    was_connected = True
                    inbox: asyncio.Queue[Json | None] = asyncio.Queue()
                    reader = asyncio.create_task(self._read(ws, inbox), name="ari-read")
                    try:
                        self.events_socket = ws
                        self.connected.set()
                        log.info("ari.connected", app=self.app)
                        for listener in self.on_connect:
                            listener()
                        yield {"type": "HotlineConnected"}
                        while (event := await inbox.get()) is not None:
                            yield event
                    finally:
                        reader.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await reader
            except (TimeoutError, aiohttp.ClientError, OSError) as exc:
                log.warning("ari.unreachable", error=str(exc))
            finally:
                self._socket_gone()
                if self.connected.is_set():
                    log.warning("ari.disconnected")
                self.connected.clear()
            if was_connected:
                yield {"type": "HotlineDisconnected"}
            await asyncio.sleep(retry_seconds)

    async def _read(
        self, ws: aiohttp.ClientWebSocketResponse, inbox: asyncio.Queue[Json | None]
    ) -> None:
        """The socket's messages: a response to its request, an event to the stream;
        None to the stream when the socket closes."""
        try:
            async for message in ws:
                if message.type is aiohttp.WSMsgType.TEXT:
                    data = json.loads(message.data)
                    if data.get("type") == "RESTResponse":
                        self._answered(data)
                    else:
                        inbox.put_nowait(data)
                elif message.type in (aiohttp.WSMsgType.ERROR, aiohttp.WSMsgType.CLOSED):
                    break
        except (aiohttp.ClientError, OSError, ValueError) as exc:
            log.warning("ari.read_failed", error=str(exc))
        finally:
            self._socket_gone()  # no request goes out over a closing socket
            inbox.put_nowait(None)

    def _answered(self, response: Json) -> None:
        future = self._pending.pop(str(response.get("request_id", "")), None)
        if future is not None and not future.done():
            future.set_result(
                (int(response.get("status_code", 500)), str(response.get("message_body") or ""))
            )

    def _socket_gone(self) -> None:
        self.events_socket = None
        pending, self._pending = self._pending, {}
        for future in pending.values():
            if not future.done():
                future.set_exception(aiohttp.ServerDisconnectedError("ARI websocket closed"))
                future.add_done_callback(_retrieved)

    async def request(
        self,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None = None,
        body: Json | None = None,
    ) -> Any:
        ws = self.events_socket
        if self.rest_over_websocket and ws is not None and not ws.closed:
            status, text = await self._over_websocket(ws, method, path, params, body)
        else:
            async with self.session.request(
                method, f"{self.base_url}/ari{path}", params=params, json=body
            ) as response:
                status, text = response.status, await response.text()
        if status >= 300:
            raise AriError(status, method, path, text)
        return json.loads(text) if text else None

    async def _over_websocket(
        self,
        ws: aiohttp.ClientWebSocketResponse,
        method: str,
        path: str,
        params: Mapping[str, str | int] | None,
        body: Json | None,
    ) -> tuple[int, str]:
        request_id = f"h{next(self._request_ids)}"
        message: Json = {
            "type": "RESTRequest", "request_id": request_id, "method": method,
            "uri": path.lstrip("/"),
        }
        if params:
            message["query_strings"] = [
                {"name": name, "value": str(value)} for name, value in params.items()
            ]
        if body is not None:
            message["content_type"] = "application/json"
            message["message_body"] = json.dumps(body)
        future: asyncio.Future[tuple[int, str]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await ws.send_str(json.dumps(message))
            return await asyncio.wait_for(future, REQUEST_TIMEOUT)
        finally:
            self._pending.pop(request_id, None)

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


def _retrieved(future: asyncio.Future[tuple[int, str]]) -> None:
    """A request failed by a dropped socket whose caller had already given up on it: its
    exception is taken, so asyncio does not report it as never retrieved."""
    if not future.cancelled():
        future.exception()
