"""Request bodies are capped and anonymous ones never read (issue 12 item 3): the API
runs in the process that also drives calls, so a request must not eat its memory."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.api.server import HttpServer
from ivr.auth.roles import Role
from tests.integration.sipp import free_port
from tests.unit.test_api_support import Harness, harness

TOML = {"Content-Type": "application/toml"}
MiB = 1024 * 1024


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path) as h:
        yield h


async def test_no_token_is_401_before_the_body_is_read(api: Harness) -> None:
    pulled = 0

    async def body() -> AsyncIterator[bytes]:
        nonlocal pulled
        for _ in range(100):
            pulled += 1
            yield b"{"

    response = await api.client.post("/api/callbacks/x/dismiss", content=body())
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert pulled <= 1  # the app took nothing of it (the transport may prime one chunk)
    broken = await api.client.post("/api/callbacks/x/dismiss", content=b"{")
    assert broken.status_code == 401  # not a 422 about the JSON
    expired = await api.client.post(
        "/api/callbacks/x/dismiss", content=b"{", headers={"Authorization": "Bearer hl_nope"}
    )
    assert expired.status_code == 401


async def test_a_declared_length_over_the_limit_is_413_at_once(api: Harness) -> None:
    big = b"x" * (300 * 1024)
    response = await api.post("/api/config/validate", content=big, headers=TOML)
    assert response.status_code == 413
    assert response.json()["detail"] == "the request body is larger than 256 KiB"
    small_route = await api.post("/api/callbacks/x/dismiss", content=b" " * (65 * 1024),
                                 headers={"Content-Type": "application/json"})
    assert small_route.status_code == 413


async def test_a_streamed_body_is_cut_off_at_the_limit(api: Harness) -> None:
    pulled = 0

    async def body() -> AsyncIterator[bytes]:  # chunked: no Content-Length
        nonlocal pulled
        for _ in range(1000):
            pulled += 1
            yield b"#" * 65536

    response = await api.post("/api/config/validate", content=body(), headers=TOML)
    assert response.status_code == 413
    assert pulled <= 6  # 256 KiB is 4 chunks; the 5th crosses the limit
    as_viewer = await api.post("/api/callbacks/x/dismiss", Role.viewer, content=body(),
                               headers={"Content-Type": "application/json"})
    assert as_viewer.status_code == 413


async def post_chunked(port: int, path: str, total: int, token: str | None) -> bytes:
    """POST `total` bytes chunked on a raw socket, stopping once the server answers;
    returns the status line (b"" when the server closed without one)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    auth = f"Authorization: Bearer {token}\r\n" if token else ""
    writer.write(
        f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/toml\r\n{auth}"
        "Transfer-Encoding: chunked\r\n\r\n".encode()
    )
    answer = asyncio.ensure_future(reader.readline())
    chunk = b"%x\r\n" % MiB + b"#" * MiB + b"\r\n"
    sent = 0
    with contextlib.suppress(ConnectionError):
        while sent < total and not answer.done():
            writer.write(chunk)
            await writer.drain()
            sent += MiB
        if not answer.done():
            writer.write(b"0\r\n\r\n")
            await writer.drain()
    try:
        status = await asyncio.wait_for(answer, 60)
    except ConnectionError:
        status = b""
    writer.close()
    with contextlib.suppress(ConnectionError):
        await writer.wait_closed()
    return status


def _peak_rss_reset() -> None:
    Path("/proc/self/clear_refs").write_text("5")  # resets VmHWM (Linux)


def _peak_rss_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    raise AssertionError("no VmHWM")


async def test_a_64_mib_body_on_the_real_server_does_not_grow_the_process(
    api: Harness,
) -> None:
    port = free_port()
    server = HttpServer(api.app, "127.0.0.1", port)
    await server.start()
    try:
        _peak_rss_reset()
        before = _peak_rss_mib()
        anonymous = await post_chunked(port, "/api/config/validate", 64 * MiB, None)
        admin = await post_chunked(port, "/api/config/validate", 64 * MiB,
                                    api.tokens[Role.admin])
        grown = _peak_rss_mib() - before
    finally:
        await server.stop()
    assert anonymous in (b"", b"HTTP/1.1 401 Unauthorized\r\n")
    assert admin in (b"", b"HTTP/1.1 413 Request Entity Too Large\r\n")
    assert anonymous or admin  # at least one answer was seen, not only closed sockets
    assert grown < 32, f"the process grew by {grown:.0f} MiB"
