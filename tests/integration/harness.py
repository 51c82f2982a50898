"""The hotline under test: a real Asterisk with its own config and ports, the service as
`hotline run` builds it, and a tap on the journal so tests can wait for what happened."""

from __future__ import annotations

import asyncio
import uuid
import wave
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from ivr.app import AsteriskStack, Controller
from ivr.asterisk.sandbox import AsteriskInstall
from ivr.clock import OffsetClock, SystemClock
from ivr.config import HotlineConfig, parse_config
from ivr.domain.events import EventKind, EventSink, JournalEvent
from ivr.hotline import Hotline, HotlineOptions
from ivr.journal.service import Journal

from .sipp import free_port

HERE = Path(__file__).parent


class JournalTap:
    """Sees every journal event (then hands it on to the real journal, if any)."""

    def __init__(self, downstream: EventSink | None = None) -> None:
        self.events: list[JournalEvent] = []
        self.downstream = downstream
        self._changed = asyncio.Condition()

    def emit(self, event: JournalEvent) -> None:
        self.events.append(event)
        if self.downstream is not None:
            self.downstream.emit(event)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    def of_call(self, linkedid: str) -> list[JournalEvent]:
        return [e for e in self.events if e.linkedid == linkedid]

    def find(self, kind: EventKind, **data: Any) -> list[JournalEvent]:
        return [
            e for e in self.events
            if e.kind is kind and all(str(e.data.get(k)) == str(v) for k, v in data.items())
        ]

    async def wait_for(
        self,
        kind: EventKind,
        timeout: float = 20.0,
        since: int = 0,
        linkedid: str | None = None,
        **data: Any,
    ) -> JournalEvent:
        def match() -> JournalEvent | None:
            found = [
                e for e in self.events[since:]
                if e.kind is kind
                and (linkedid is None or e.linkedid == linkedid)
                and all(str(e.data.get(k)) == str(v) for k, v in data.items())
            ]
            return found[0] if found else None

        async def wait() -> JournalEvent:
            async with self._changed:
                while (event := match()) is None:
                    await self._changed.wait()
                return event

        try:
            return await asyncio.wait_for(wait(), timeout)
        except TimeoutError:
            kinds = [f"{e.kind.value}{dict(e.data)}" for e in self.events[since:]][-30:]
            raise AssertionError(f"no {kind.value} {data} in {timeout} s; saw {kinds}") from None

    def mark(self) -> int:
        return len(self.events)


@dataclass
class Ports:
    sip: int = field(default_factory=free_port)
    http: int = field(default_factory=lambda: free_port())
    ami: int = field(default_factory=lambda: free_port())
    service: int = field(default_factory=lambda: free_port())
    fastagi: int = field(default_factory=lambda: free_port())
    agent1: int = field(default_factory=free_port)
    agent2: int = field(default_factory=free_port)
    oncall1: int = field(default_factory=free_port)
    oncall2: int = field(default_factory=free_port)
    carrier: int = field(default_factory=free_port)  # a SIPp UAS playing the carrier
    rtp_start: int = 0
    rtp_width: int = 100  # RTP ports: two per channel

    def __post_init__(self) -> None:
        # a block of RTP ports between the tests' own band and the kernel's ephemeral range
        self.rtp_start = 20000 + (self.sip % 127) * 100


def nodes_toml(ports: Ports, nodes: int, probe_interval: int) -> str:
    """`[proxy]` on the callers' port and `nodes` Asterisk nodes on free ports."""
    text = (f"\n[proxy]\nsip_port = {ports.sip}\nprobe_interval_seconds = {probe_interval}\n"
            "reply_timeout_ms = 1000\n")
    blocks: set[int] = {ports.rtp_start}
    for i in range(nodes):
        sip = free_port()
        # each node its own RTP block of the band the harness uses (as Ports does): 50
        # calls, more than a node carrying the failover test's 10 calls/s alone needs
        block = sip % 127
        while 20000 + block * 100 in blocks:
            block = (block + 1) % 127
        rtp = 20000 + block * 100
        blocks.add(rtp)
        text += (f'\n[[nodes]]\nname = "{"abcdefgh"[i]}"\nsip_port = {sip}\n'
                 f"http_port = {free_port()}\nami_port = {free_port()}\n"
                 f"rtp_start = {rtp}\nrtp_end = {rtp + 99}\n")
    return text


def render_test_config(ports: Ports, data_dir: Path, **overrides: str) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE))
    return env.get_template("hotline.test.toml.j2").render(
        sip_port=ports.sip, http_port=ports.http, ami_port=ports.ami,
        rtp_start=ports.rtp_start, rtp_end=ports.rtp_start + ports.rtp_width - 1,
        service_port=ports.service, fastagi_port=ports.fastagi, data_dir=data_dir,
        agent1_port=ports.agent1, agent2_port=ports.agent2,
        oncall1_port=ports.oncall1, oncall2_port=ports.oncall2, carrier_port=ports.carrier,
        **overrides,
    )


class HotlineUnderTest:
    """The hotline built by the service's own composition root (`ivr.hotline.Hotline`),
    with a test instance name, the session's Asterisk, a settable clock and a tap on the
    journal's events."""

    def __init__(
        self,
        install: AsteriskInstall,
        workdir: Path,
        *,
        nodes: int = 1,
        database_url: str = "",
        probe_interval: int = 1,
        capacity: int = 20,
    ) -> None:
        self.install = install
        self.workdir = workdir
        self.ports = Ports()
        self.data_dir = workdir / "data"
        self.config_path = workdir / "hotline.toml"
        self.tap = JournalTap()
        # several nodes: Kamailio takes the callers' port (ports.sip), each node its own
        self.extra_toml = nodes_toml(self.ports, nodes, probe_interval) if nodes > 1 else ""
        self.database_url = database_url
        self.capacity = capacity
        self.hotline = Hotline(self.write_config(), self.config_path, HotlineOptions(
            instance=f"test-{uuid.uuid4().hex[:8]}", install=install, clock=SystemClock(),
            tap=self._tap, bench_line="19999", say=lambda _: None,
        ))

    def _tap(self, sink: EventSink) -> EventSink:
        """Every journal event passes the tap on its way to the real journal."""
        self.tap.downstream = sink
        return self.tap

    @property
    def config(self) -> HotlineConfig:
        return self.hotline.config

    @property
    def stack(self) -> AsteriskStack:
        return self.hotline.stack

    @property
    def controller(self) -> Controller | None:
        return self.hotline.controller

    @property
    def journal(self) -> Journal | None:
        return self.hotline.journal

    def write_config(self, **overrides: str) -> HotlineConfig:
        overrides.setdefault("capacity", str(self.capacity))
        text = render_test_config(self.ports, self.data_dir, **overrides) + self.extra_toml
        if self.database_url:
            text = text.replace(
                "[service]\n", f'[service]\ndatabase_url = "{self.database_url}"\n', 1
            )
        self.config_path.write_text(text)
        return parse_config(text, self.config_path)

    async def start(self) -> None:
        await self.hotline.start()

    async def start_controller(self) -> None:
        await self.hotline.start_controller()

    async def stop_controller(self) -> None:
        await self.hotline.stop_controller()

    def set_now(self, local: str) -> None:
        """Route new calls as if it were `local` (ISO time in the hotline's zone) now."""
        at = datetime.fromisoformat(local).replace(tzinfo=self.config.hotline.zone)
        self.hotline.set_clock(OffsetClock(at))

    def use_real_time(self) -> None:
        self.hotline.set_clock(SystemClock())

    async def reload(self, **overrides: str) -> None:
        await self.hotline.reload(self.write_config(**overrides))

    async def cli(self, command: str) -> str:
        return await self.stack.cli(command)

    async def stop(self) -> None:
        await self.hotline.stop()

    def prompt_ms(self, *names: str) -> int:
        """How long the rendered prompts play, so a scripted caller can time its moves."""
        total = 0.0
        for name in names:
            media = self.stack.media[name].removeprefix("sound:")
            path = self.install.host_path(Path(media + ".wav"))
            with wave.open(str(path)) as wav:
                total += wav.getnframes() / wav.getframerate()
        return int(total * 1000)

    def call_dir(self, name: str) -> Path:
        path = self.workdir / "sipp" / f"{name}-{uuid.uuid4().hex[:6]}"
        path.mkdir(parents=True)
        return path


async def eventually(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while not check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)


async def until(check: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Until an asynchronous check (e.g. a question to Asterisk) holds."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not await check():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("condition not met in time")
        await asyncio.sleep(0.1)
