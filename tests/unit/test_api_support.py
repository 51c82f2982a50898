"""What the API tests share (no tests here): a real SQLite journal in tmp_path with
calls ingested through the journal store, tokens of each role, a fake originator, and
an httpx client over the ASGI app."""

from __future__ import annotations

import wave
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI

from ivr.api.app import create_api
from ivr.api.context import ApiServices
from ivr.api.live_view import IvrCall, StaticLiveView
from ivr.auth.roles import Role
from ivr.auth.tokens import TokenStore
from ivr.callbacks.originate import OriginateError
from ivr.callbacks.service import CallbacksService
from ivr.callbacks.store import CallbackStore
from ivr.callbacks.voicemail import confined_mapper
from ivr.clock import FixedClock
from ivr.config import HotlineConfig, load_config
from ivr.domain.events import EventKind, JournalEvent, Scalar
from ivr.journal.store import Store
from ivr.live import LiveState

EXAMPLE = Path(__file__).resolve().parents[2] / "hotline.example.toml"
# 2026-11-03 (a Tuesday) 10:00 in Shanghai
T0 = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
NOW = datetime(2026, 12, 3, 4, 0, tzinfo=UTC)
MOBILE = "13812348000"
LANDLINE = "02164441234"
INNER_VOICEMAIL = Path("/var/lib/hotline/run-test/spool/voicemail")


# -- calls as journal events -------------------------------------------------------------


@dataclass
class Script:
    """One call's events, at seconds after its start."""

    linkedid: str
    start: datetime = T0
    line: str = "main"
    events: list[JournalEvent] = field(default_factory=list)

    def at(self, offset: float, kind: EventKind, **data: Scalar) -> Script:
        when = self.start + timedelta(seconds=offset)
        self.events.append(JournalEvent(self.linkedid, kind, when, "ami", dict(data)))
        return self

    def arrives(self, caller: str = MOBILE) -> Script:
        """The legacy line is a manual line (no IVR); the others are IVR lines."""
        mode = "manual" if self.line == "legacy" else "ivr"
        self.at(0, EventKind.call_arrived, line=self.line, caller=caller, mode=mode)
        if mode == "manual":
            return self
        return self.at(0.05, EventKind.ivr_answered, line=self.line)


def answered(linkedid: str, start: datetime = T0, wait: float = 4.0, caller: str = MOBILE,
             service: str = "repair", line: str = "main") -> Script:
    s = Script(linkedid, start, line).arrives(caller)
    s.at(5, EventKind.menu_choice, key="2", service=service, attempt=1)
    s.at(6, EventKind.human_requested, service=service, target="queue")
    s.at(6.5, EventKind.agent_ring_started, agent="agent1", leg="L1")
    s.at(6 + wait, EventKind.agent_answered, agent="agent1", leg="L1")
    return s.at(60, EventKind.call_ended, cause="16")


def voicemail(linkedid: str, start: datetime = T0, caller: str = MOBILE,
              urgent: bool = False, seconds: float = 12.0) -> Script:
    s = Script(linkedid, start).arrives(caller)
    s.at(2, EventKind.off_hours)
    s.at(20, EventKind.voicemail_started, urgent=urgent)
    s.at(35, EventKind.voicemail_recorded, file=str(INNER_VOICEMAIL / f"{linkedid}.wav"),
         seconds=seconds, urgent=urgent)
    return s.at(36, EventKind.call_ended, cause="16")


def abandoned(linkedid: str, start: datetime = T0, caller: str = MOBILE,
              service: str = "complaint") -> Script:
    s = Script(linkedid, start).arrives(caller)
    s.at(5, EventKind.menu_choice, key="5", service=service, attempt=1)
    s.at(6, EventKind.human_requested, service=service, target="queue")
    s.at(40, EventKind.queue_abandoned, position=1, wait_seconds=34)
    return s.at(40.5, EventKind.call_ended, cause="16")


def emergency_failed(linkedid: str, start: datetime = T0, caller: str = LANDLINE) -> Script:
    s = Script(linkedid, start).arrives(caller)
    s.at(2, EventKind.off_hours)
    s.at(5, EventKind.menu_choice, key="1", service="emergency", attempt=1)
    s.at(6, EventKind.human_requested, service="emergency", target="oncall")
    s.at(6.2, EventKind.oncall_ring_started, person="张", order=1)
    s.at(26.2, EventKind.oncall_ring_ended, person="张", order=1, result="NOANSWER")
    s.at(26.3, EventKind.oncall_chain_failed)
    s.at(26.4, EventKind.voicemail_started, urgent=True)
    return s.at(30, EventKind.call_ended, cause="16")


def completed(linkedid: str, start: datetime = T0) -> Script:
    s = Script(linkedid, start).arrives()
    s.at(5, EventKind.menu_choice, key="4", service="billing", attempt=1)
    s.at(20, EventKind.announcement_completed)
    return s.at(21, EventKind.call_ended, cause="16")


def in_progress(linkedid: str, start: datetime = T0) -> Script:
    return Script(linkedid, start).arrives()


def a_day(start: datetime = T0) -> list[Script]:
    """Calls of every kind over a morning, on both lines."""
    minute = timedelta(minutes=1)
    return [
        answered("c-answered-1", start),
        answered("c-answered-2", start + 7 * minute, wait=22.0, caller="13900001111"),
        answered("c-legacy", start + 9 * minute, line="legacy", service="person"),
        voicemail("c-voicemail", start + 15 * minute),
        abandoned("c-abandoned", start + 30 * minute, caller="13700002222"),
        emergency_failed("c-emergency", start + 45 * minute),
        completed("c-completed", start + 50 * minute),
        voicemail("c-anonymous", start + 55 * minute, caller=""),
    ]


# -- the API over them -------------------------------------------------------------------


class FakeOriginator:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str]] = []
        self.fail: str | None = None

    async def originate(self, agent_endpoint: str, customer: str, task: str) -> str:
        if self.fail:
            raise OriginateError(self.fail)
        self.calls.append((agent_endpoint, customer, task))
        return f"callback-{len(self.calls)}"


@dataclass
class Harness:
    app: FastAPI
    client: httpx.AsyncClient
    store: Store
    services: ApiServices
    callbacks: CallbacksService
    tokens: dict[Role, str]
    config_path: Path
    voicemail_dir: Path
    live: StaticLiveView
    originator: FakeOriginator
    reloads: list[datetime]

    def auth(self, role: Role) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[role]}"}

    async def get(self, url: str, role: Role = Role.admin, **kwargs: Any) -> httpx.Response:
        headers = {**self.auth(role), **kwargs.pop("headers", {})}
        return await self.client.get(url, headers=headers, **kwargs)

    async def post(self, url: str, role: Role = Role.admin, **kwargs: Any) -> httpx.Response:
        headers = {**self.auth(role), **kwargs.pop("headers", {})}
        return await self.client.post(url, headers=headers, **kwargs)

    async def put(self, url: str, role: Role = Role.admin, **kwargs: Any) -> httpx.Response:
        headers = {**self.auth(role), **kwargs.pop("headers", {})}
        return await self.client.put(url, headers=headers, **kwargs)


def write_wav(path: Path, seconds: float = 0.5, rate: int = 8000) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    with wave.open(str(path), "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(b"\x00\x01" * int(seconds * rate))
    return path.read_bytes()


def config_file(tmp_path: Path, text: str | None = None) -> Path:
    path = tmp_path / "hotline.toml"
    path.write_text(text if text is not None else EXAMPLE.read_text(encoding="utf-8"),
                    encoding="utf-8")
    return path


@asynccontextmanager
async def harness(
    tmp_path: Path, scripts: list[Script] | None = None, now: datetime = NOW
) -> AsyncIterator[Harness]:
    config_path = config_file(tmp_path)
    config: HotlineConfig = load_config(config_path)
    store = Store(
        f"sqlite+aiosqlite:///{tmp_path}/journal.sqlite3",
        line_modes={line.name: line.mode.value for line in config.lines},
    )
    await store.migrate()
    await store.ingest(
        [event for script in (scripts if scripts is not None else a_day())
         for event in script.events]
    )
    clock = FixedClock(now)
    tokens = TokenStore(store.engine)
    secrets = {role: (await tokens.create(f"test-{role.value}", role, now)).secret
               for role in Role}
    voicemail_dir = tmp_path / "voicemail"
    voicemail_dir.mkdir()

    def to_host(inner: Path) -> Path:
        return voicemail_dir / inner.relative_to(INNER_VOICEMAIL)

    live = StaticLiveView(
        LiveState(),
        in_ivr=(IvrCall("PJSIP/anonymous-00000007", "c-live", "main", MOBILE, "menu"),),
    )
    reloads: list[datetime] = []

    async def reload() -> None:
        reloads.append(clock.now())

    callbacks = CallbacksService(CallbackStore(store.engine), lambda: config.hotline.zone, clock)
    originator = FakeOriginator()
    services = ApiServices(
        journal=store,
        config=lambda: config,
        config_path=config_path,
        live=live,
        reload=reload,
        voicemail_path=confined_mapper(to_host, voicemail_dir),
        callbacks=callbacks,
        originator=originator,
        clock=clock,
    )
    app = create_api(services)
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://hotline") as client:
        try:
            yield Harness(
                app, client, store, services, callbacks, secrets, config_path, voicemail_dir,
                live, originator, reloads,
            )
        finally:
            await store.close()
