"""The hotline under test: a real Asterisk with its own config and ports, the real
controller, and a tap on the journal so tests can wait for what happened."""

from __future__ import annotations

import asyncio
import uuid
import wave
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import jinja2

from ivr.app import AsteriskStack, Controller
from ivr.asterisk.sandbox import AsteriskInstall
from ivr.clock import Clock, OffsetClock, SystemClock
from ivr.config import HotlineConfig, parse_config
from ivr.domain.events import EventKind, EventSink, JournalEvent
from ivr.journal.service import Journal, open_journal

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
    rtp_start: int = 0

    def __post_init__(self) -> None:
        # a block of RTP ports away from the ephemeral range the kernel hands out
        self.rtp_start = 20000 + (self.sip % 200) * 100


def render_test_config(ports: Ports, data_dir: Path, **overrides: str) -> str:
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE))
    return env.get_template("hotline.test.toml.j2").render(
        sip_port=ports.sip, http_port=ports.http, ami_port=ports.ami,
        rtp_start=ports.rtp_start, rtp_end=ports.rtp_start + 99,
        service_port=ports.service, fastagi_port=ports.fastagi, data_dir=data_dir,
        agent1_port=ports.agent1, agent2_port=ports.agent2,
        oncall1_port=ports.oncall1, oncall2_port=ports.oncall2, **overrides,
    )


class HotlineUnderTest:
    def __init__(self, install: AsteriskInstall, workdir: Path) -> None:
        self.install = install
        self.workdir = workdir
        self.ports = Ports()
        self.data_dir = workdir / "data"
        self.config_path = workdir / "hotline.toml"
        self.config = self.write_config()
        self.tap = JournalTap()
        self.stack = AsteriskStack(
            self.config, self.config_path, name=f"test-{uuid.uuid4().hex[:8]}",
            install=install, bench_line="19999", say=lambda _: None,
        )
        self.controller: Controller | None = None
        self.journal: Journal | None = None
        self.clock: Clock = SystemClock()

    def write_config(self, **overrides: str) -> HotlineConfig:
        text = render_test_config(self.ports, self.data_dir, **overrides)
        self.config_path.write_text(text)
        return parse_config(text, self.config_path)

    async def start(self) -> None:
        self.journal = await open_journal(self.config)
        self.tap.downstream = self.journal.writer
        await self.stack.start()
        await self.start_controller()

    async def start_controller(self) -> None:
        self.controller = Controller(self.config, self.stack, self.tap, clock=self.clock)
        await self.controller.start()

    async def stop_controller(self) -> None:
        if self.controller is not None:
            await self.controller.stop()
            self.controller = None

    def set_now(self, local: str) -> None:
        """Route new calls as if it were `local` (ISO time in the hotline's zone) now."""
        at = datetime.fromisoformat(local).replace(tzinfo=self.config.hotline.zone)
        self.clock = OffsetClock(at)
        if self.controller is not None:
            self.controller.flow.clock = self.clock

    def use_real_time(self) -> None:
        self.clock = SystemClock()
        if self.controller is not None:
            self.controller.flow.clock = self.clock

    async def reload(self, **overrides: str) -> None:
        self.config = self.write_config(**overrides)
        await self.stack.reload(self.config)
        if self.controller is not None:
            self.controller.apply(self.config)
        if self.journal is not None:
            self.journal.apply(self.config)

    async def cli(self, command: str) -> str:
        assert self.stack.process is not None
        return await self.stack.process.cli(command)

    async def stop(self) -> None:
        await self.stop_controller()
        await self.stack.stop()
        if self.journal is not None:
            await self.journal.close()

    def prompt_ms(self, *names: str) -> int:
        """How long the rendered prompts play, so a scripted caller can time its moves."""
        total = 0.0
        for name in names:
            media = self.stack.media[name].removeprefix("sound:")
            path = self.stack.install.host_path(Path(media + ".wav"))  # type: ignore[union-attr]
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
