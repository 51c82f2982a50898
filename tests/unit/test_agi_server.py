"""The FastAGI server over a real TCP socket, with the peer speaking Asterisk's side of
the protocol line by line: a journal step arrives with the channel's linkedid; an
unknown kind changes nothing and says why in HOTLINE_AGI_ERROR; a peer that closes
early, or says nothing, is dropped without holding the server."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from pathlib import Path

import pytest

from agi_scripts.server import FastAgiServer
from ivr.config import load_config
from ivr.domain.events import EventKind, JournalEvent
from tests.integration.sipp import free_port

EXAMPLE = Path(__file__).resolve().parents[2] / "hotline.example.toml"


class Sink:
    def __init__(self) -> None:
        self.events: list[JournalEvent] = []

    def emit(self, event: JournalEvent) -> None:
        self.events.append(event)


async def served(sink: Sink) -> FastAgiServer:
    config = load_config(EXAMPLE)
    server = FastAgiServer(
        config=lambda: config, now=lambda: datetime.now(UTC), journal=lambda: sink,
        prompts={}, bind="127.0.0.1", port=free_port(),
    )
    await server.start()
    return server


async def asterisk_side(
    port: int, script: str, answers: dict[str, str]
) -> list[str]:
    """Send the header block, answer each command by its first matching prefix; returns
    the commands received until the server closed the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"agi_network: yes\nagi_network_script: {script}\nagi_channel: PJSIP/c-1\n"
        "agi_uniqueid: 1700000000.7\nagi_callerid: 13800138000\n\n".encode()
    )
    commands = []
    while line := (await asyncio.wait_for(reader.readline(), 5)).decode().strip():
        commands.append(line)
        reply = next((r for p, r in answers.items() if p in line), "200 result=1")
        writer.write(reply.encode() + b"\n")
    writer.close()
    return commands


async def test_a_journal_step_is_journaled_with_the_channels_linkedid() -> None:
    sink = Sink()
    server = await served(sink)
    try:
        commands = await asterisk_side(server.port, "journal?kind=queue_left&Status=TIMEOUT", {
            "CHANNEL(linkedid)": "200 result=1 (1700000000.5)",
            "HOTLINE_LINE": "200 result=1 (main)",
        })
    finally:
        await server.stop()
    assert [c.split()[0] for c in commands] == ["GET", "GET"]
    [event] = sink.events
    assert (event.linkedid, event.kind, event.source) == (
        "1700000000.5", EventKind.queue_left, "agi"
    )
    assert event.data["status"] == "TIMEOUT" and event.data["line"] == "main"


async def test_an_unknown_kind_changes_nothing_and_says_why() -> None:
    sink = Sink()
    server = await served(sink)
    try:
        commands = await asterisk_side(server.port, "journal?kind=bogus", {})
    finally:
        await server.stop()
    assert sink.events == [] and server.failed == 1
    assert commands == ['SET VARIABLE HOTLINE_AGI_ERROR "no such journal kind: \'bogus\'"']


async def test_route_for_an_unknown_line_leaves_the_target_empty() -> None:
    sink = Sink()
    server = await served(sink)
    try:
        commands = await asterisk_side(server.port, "route?line=nope", {})
    finally:
        await server.stop()
    assert sink.events == []
    assert not any("HOTLINE_TARGET" in c for c in commands)
    assert commands[-1].startswith("SET VARIABLE HOTLINE_AGI_ERROR")


@pytest.mark.parametrize("send", [b"", b"agi_network: yes\n"])
async def test_a_peer_that_closes_early_is_dropped(send: bytes) -> None:
    server = await served(Sink())
    try:
        reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
        writer.write(send)
        writer.write_eof()
        assert await asyncio.wait_for(reader.read(), 5) == b""  # the server closed
        writer.close()
    finally:
        await server.stop()
    assert server.failed == 1
