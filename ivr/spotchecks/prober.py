"""The prober: a checker that dials the public number over ARI (through the carrier
trunk when the dial target says so, the hotline's own public context by default) and
follows the spot-check rule: a busy tone or a no-answer is redialled no sooner than the
configured interval (the rule's 3 minutes), until a dial connects or four were made;
the dials are scored and stored like any checker's.

Its calls are its own ARI application (`<ari_app>-probe`), so the call controller never
sees them as its own; they reach the hotline as any caller's would.

What one dial gave, from what Asterisk reports of the probe's channel:
- it entered the probe's Stasis application: answered; by the IVR when that came within
  `ivr_answer_seconds` of the dial (an automatic attendant answers at once, a person's
  phone rings first), else by a person;
- it was destroyed unanswered after a busy tone (the dial's status BUSY or CONGESTION,
  or cause 17 user busy, 34/42 no circuit or congestion: the line full): busy;
- anything else unanswered (rang out after `ring_seconds`, cause 19/18/16...): no-answer.
A voicemail box answers like an IVR: connected, as the rule wants.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import structlog

from ivr.ari.client import AriClient, AriError, Json
from ivr.config import SpotcheckSection
from ivr.domain.spotcheck import Dial, DialResult, redial_due
from ivr.spotchecks.service import SpotChecksService
from ivr.spotchecks.store import SpotCheck

log = structlog.get_logger(__name__)

BUSY_CAUSES = frozenset({17, 34, 42})
BUSY_STATUSES = frozenset({"BUSY", "CONGESTION"})
PROBE_SUFFIX = "-probe"


class ProbeFailed(RuntimeError):
    """The probe could not dial at all (Asterisk away, a bad dial target)."""


@dataclass
class _Watch:
    started: float
    answered: asyncio.Future[float] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    cause: int | None = None
    dialstatus: str = ""  # the dial's outcome as Asterisk's Dial event says it (BUSY ...)


class Prober:
    def __init__(
        self,
        ari: AriClient,
        settings: Callable[[], SpotcheckSection],
        default_number: Callable[[], str],
        checks: SpotChecksService,
        *,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.ari = ari
        self.settings = settings
        self.default_number = default_number
        self.checks = checks
        self.now = now  # dial times are real: the interval is judged by the real clock
        self._watches: dict[str, _Watch] = {}
        self._events: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()  # one probe at a time, like one checker

    async def start(self, timeout: float = 10.0) -> None:
        await self.ari.open()
        self._events = asyncio.create_task(self._run(), name="probe-events")
        await asyncio.wait_for(self.ari.connected.wait(), timeout)

    async def stop(self) -> None:
        if self._events is not None:
            self._events.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._events
            self._events = None
        await self.ari.close()

    async def _run(self) -> None:
        async for event in self.ari.events():
            try:
                await self._dispatch(event)
            except Exception:  # one odd event must not stop the prober
                log.exception("probe.event_failed", event_type=event.get("type"))

    async def _dispatch(self, event: Json) -> None:
        kind = event.get("type")
        if kind == "Dial":  # the originated channel is the dial's peer
            peer = self._watches.get((event.get("peer") or {}).get("id", ""))
            if peer is not None and event.get("dialstatus"):
                peer.dialstatus = str(event["dialstatus"])
            return
        channel = (event.get("channel") or {}).get("id", "")
        watch = self._watches.get(channel)
        if watch is None:
            return
        loop = asyncio.get_running_loop()
        if kind == "StasisStart" and not watch.answered.done():
            watch.answered.set_result(loop.time() - watch.started)
            await self.ari.hangup(channel)  # connected is all the rule asks
        elif kind == "ChannelDestroyed" and not watch.answered.done():
            watch.cause = int(event.get("cause") or 0)
            busy = watch.cause in BUSY_CAUSES or watch.dialstatus in BUSY_STATUSES
            watch.answered.set_exception(_Unanswered(watch.cause, watch.dialstatus, busy))

    async def dial_once(self, number: str) -> Dial:
        settings = self.settings()
        channel = f"probe-{uuid.uuid4().hex[:16]}"
        loop = asyncio.get_running_loop()
        watch = _Watch(loop.time())
        self._watches[channel] = watch
        at = self.now()
        params: dict[str, str | int] = {
            "endpoint": settings.dial.replace("{number}", number),
            "app": self.ari.app,
            "appArgs": "probe",
            "callerId": f'"{settings.checker}" <{settings.caller_id}>',
            "timeout": settings.ring_seconds,
            "channelId": channel,
        }
        try:
            try:
                await self.ari.request("POST", "/channels", params=params)
            except AriError as exc:
                raise ProbeFailed(f"Asterisk refused the probe's call ({exc})") from exc
            try:
                seconds = await asyncio.wait_for(watch.answered, settings.ring_seconds + 15)
            except _Unanswered as gone:
                result = DialResult.busy if gone.busy else DialResult.no_answer
                log.info("probe.dial", number=number, result=result.value, cause=gone.cause,
                         dialstatus=gone.dialstatus)
                return Dial(at, result)
            except TimeoutError:
                await self.ari.hangup(channel)
                log.info("probe.dial", number=number, result="no_answer", cause="timeout")
                return Dial(at, DialResult.no_answer)
        finally:
            self._watches.pop(channel, None)
        result = DialResult.ivr if seconds < settings.ivr_answer_seconds else DialResult.person
        log.info("probe.dial", number=number, result=result.value, answered_after=seconds)
        return Dial(at, result)

    async def probe(self, number: str | None = None, checker: str | None = None) -> SpotCheck:
        """One check by the rule, stored; returns it with its connection score."""
        async with self._lock:
            settings = self.settings()
            number = number or settings.number or self.default_number()
            dials: list[Dial] = []
            while True:
                dials.append(await self.dial_once(number))
                if not redial_due([d.result for d in dials]):
                    break
                await asyncio.sleep(self.settings().redial_seconds)
            check = await self.checks.record(
                checker or settings.checker, dials, kind="probe",
                notes=f"dialled {number} via {settings.dial}",
            )  # fmt: skip
            log.info("probe.scored", number=number, score=check.connection_score,
                     dials=[d.result.value for d in dials])  # fmt: skip
            return check

    async def run_schedule(self) -> None:
        """Probe every `every_minutes` (0: never; read again each minute)."""
        waited = 0.0
        while True:
            await asyncio.sleep(60.0)
            waited += 1.0
            every = self.settings().every_minutes
            if every <= 0 or waited < every:
                continue
            waited = 0.0
            try:
                await self.probe()
            except Exception:  # Asterisk away: the next round tries again
                log.exception("probe.failed")


class _Unanswered(Exception):
    def __init__(self, cause: int | None, dialstatus: str, busy: bool) -> None:
        super().__init__(f"cause {cause}, {dialstatus or 'no dial status'}")
        self.cause, self.dialstatus, self.busy = cause, dialstatus, busy


def probe_app(ari_app: str) -> str:
    return f"{ari_app}{PROBE_SUFFIX}"
