"""ARI commands go over the events websocket while it is up (ARI's REST over
WebSocket), over HTTP while it is down; a command in flight when the socket drops
fails like an HTTP request to a vanished Asterisk, and the stream still delivers its
events while its consumer waits on a command."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest

from ivr.ari.client import AriClient, AriError

from .harness import HotlineUnderTest, eventually

pytestmark = pytest.mark.asterisk


async def connected_client(
    hotline: HotlineUnderTest, app: str, retry_seconds: float = 0.2
) -> tuple[AriClient, asyncio.Task[None], list[str]]:
    secrets = hotline.stack.secrets
    client = AriClient(hotline.stack.ari_url, secrets.ari_user, secrets.ari_password, app)
    seen: list[str] = []

    async def consume() -> None:
        async for event in client.events(retry_seconds=retry_seconds):
            seen.append(str(event["type"]))
            if event["type"] == "HotlineConnected":
                # the consumer itself waits on a command: the reader answers it
                info = await client.request("GET", "/asterisk/info")
                seen.append(f"info {info['system']['version']}")

    task = asyncio.create_task(consume())
    await eventually(lambda: any(s.startswith("info ") for s in seen), timeout=20)
    return client, task, seen


async def test_commands_travel_over_the_websocket_while_it_is_up(
    hotline: HotlineUnderTest,
) -> None:
    client, task, _ = await connected_client(hotline, "rest-ws-test")
    try:
        assert client.events_socket is not None

        def no_http(*args: object, **kwargs: object) -> None:
            raise AssertionError(f"a command went over HTTP: {args}")

        client.session.request = no_http  # type: ignore[method-assign,assignment]
        info = await client.request("GET", "/asterisk/info")
        assert info["system"]["version"]
        with pytest.raises(AriError) as refused:  # Asterisk's own status, as over HTTP
            await client.play("no-such-channel", ["sound:beep"], "p1")
        assert refused.value.status == 404
        assert "Channel not found" in str(refused.value)
        variables = {"variable": "X", "value": "1"}
        with pytest.raises(AriError, match="404"):
            await client.request("POST", "/channels/no-such-channel/variable", params=variables)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.close()


async def test_a_command_in_flight_fails_when_the_socket_drops_and_http_takes_over(
    hotline: HotlineUnderTest,
) -> None:
    # it waits 3 s before connecting again: the time to see HTTP carry a command
    client, task, seen = await connected_client(hotline, "rest-ws-drop", retry_seconds=3.0)
    try:
        socket = client.events_socket
        assert socket is not None
        # a request whose answer can never come back over this socket
        original = socket.send_str

        async def send_then_drop(data: str, compress: int | None = None) -> None:
            await original(data)
            await socket.close()

        socket.send_str = send_then_drop  # type: ignore[method-assign]
        with pytest.raises(aiohttp.ServerDisconnectedError):
            await client.request("GET", "/asterisk/info")
        await eventually(lambda: "HotlineDisconnected" in seen, timeout=10)
        # while the socket is down the same command goes over HTTP
        assert client.events_socket is None
        assert (await client.request("GET", "/asterisk/info"))["system"]["version"]
        # and the stream comes back by itself
        await eventually(lambda: seen.count("HotlineConnected") >= 2, timeout=20)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await client.close()
