"""The FastAGI server: one asyncio TCP server on `[service] fastagi_port`, two scripts.

* `route?line=<name or number>[&key=<digits>]` — the routing decision in channel
  variables (`agi_scripts.routing`), the step's events into the journal;
* `journal?kind=<EventKind>[&field=value...]` — a step the foreign dialplan took itself
  (e.g. `queue_left&status=${QUEUESTATUS}`, `voicemail_started&urgent=0`).

Events carry the call's `${CHANNEL(linkedid)}` and source "agi". A request that fails
(unknown line or kind, a command Asterisk refuses, a caller who hangs up) is logged and
answered with `HOTLINE_AGI_ERROR` when the channel is still there; the connection is
closed either way and the foreign dialplan goes on with its next priority.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

import structlog

from agi_scripts.protocol import AgiChannel, AgiError, AgiRequest, ChannelGone, read_request
from agi_scripts.routing import CallState, decide, find_line
from ivr.callflow.policy import RoutingPolicy
from ivr.config import HotlineConfig
from ivr.domain.causes import dial_result
from ivr.domain.events import EventKind, EventSink, JournalEvent, Scalar
from ivr.domain.record import short
from ivr.domain.steps import wav_seconds

log = structlog.get_logger(__name__)

REQUEST_TIMEOUT = 10.0  # a whole request, whatever the peer does
FIELD_LIMIT = 20  # fields of one `journal` step


class FastAgiServer:
    def __init__(
        self,
        config: Callable[[], HotlineConfig],
        now: Callable[[], datetime],
        journal: Callable[[], EventSink | None],
        prompts: Mapping[str, str],
        bind: str,
        port: int,
    ) -> None:
        self.config = config
        self.now = now  # routing's clock (the controller's)
        self.journal = journal
        self.prompts = prompts  # prompt name -> "sound:/path/without/extension"
        self.bind = bind
        self.port = port
        self.server: asyncio.Server | None = None
        self.requests = 0
        self.failed = 0
        self.seconds: deque[float] = deque(maxlen=1000)  # the last requests, accept to close
        self._policy: tuple[HotlineConfig, RoutingPolicy] | None = None

    async def start(self) -> None:
        self.server = await asyncio.start_server(self._serve, self.bind, self.port)
        log.info("fastagi.listening", bind=self.bind, port=self.port)

    async def stop(self) -> None:
        server, self.server = self.server, None
        if server is not None:
            server.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(server.wait_closed(), 5)

    def policy(self) -> RoutingPolicy:
        config = self.config()
        if self._policy is None or self._policy[0] is not config:
            self._policy = (config, RoutingPolicy(config))
        return self._policy[1]

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.requests += 1
        started = time.perf_counter()
        channel = AgiChannel(reader, writer)
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT):
                request = await read_request(reader)
                try:
                    await self._handle(request, channel)
                except ChannelGone:
                    raise
                except Exception as exc:
                    self.failed += 1
                    log.warning("fastagi.failed", script=request.path, error=str(exc))
                    with contextlib.suppress(Exception):
                        await channel.set("HOTLINE_AGI_ERROR", str(exc)[:200])
        except (ChannelGone, AgiError, TimeoutError, ConnectionError) as exc:
            self.failed += 1
            log.info("fastagi.dropped", error=str(exc) or type(exc).__name__)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()
            self.seconds.append(time.perf_counter() - started)

    async def _handle(self, request: AgiRequest, channel: AgiChannel) -> None:
        if request.path == "route":
            await self._route(request, channel)
        elif request.path == "journal":
            await self._journal_step(request, channel)
        else:
            raise AgiError(f"no such script: {request.path!r} (route, journal)")

    async def _route(self, request: AgiRequest, channel: AgiChannel) -> None:
        config = self.config()
        policy = self.policy()
        wanted = request.params.get("line", "") or await channel.get("${HOTLINE_LINE}")
        line = find_line(config, wanted)
        if line is None:
            raise AgiError(f"no line {wanted!r} in the hotline's config")
        linkedid = await channel.get("${CHANNEL(linkedid)}") or request.uniqueid
        arrived = await channel.get("${HOTLINE_ARRIVED}") == "1"
        state = CallState(arrived=arrived)
        if arrived:
            opened = await channel.get("${HOTLINE_OPEN}")
            attempt = await channel.get("${HOTLINE_MENU_ATTEMPT}")
            state = CallState(
                arrived=True,
                open=opened == "1" if opened in ("0", "1") else None,
                attempt=int(attempt) if attempt.isdigit() else 0,
            )
        decision = decide(
            policy, line, request.params.get("key"), state, self.now(),
            caller=request.caller,
            prompts={k: v.removeprefix("sound:") for k, v in self.prompts.items()},
        )
        for name, value in decision.variables.items():
            await channel.set(name, value)
        for kind, data in decision.events:
            self._emit(linkedid, kind, {"line": line.name, "channel": request.channel, **data})

    async def _journal_step(self, request: AgiRequest, channel: AgiChannel) -> None:
        params = dict(request.params)
        try:
            kind = EventKind(params.pop("kind", ""))
        except ValueError:
            raise AgiError(f"no such journal kind: {request.params.get('kind')!r}") from None
        if len(params) > FIELD_LIMIT:
            raise AgiError(f"at most {FIELD_LIMIT} fields in one step")
        linkedid = await channel.get("${CHANNEL(linkedid)}") or request.uniqueid
        line = params.pop("line", "") or await channel.get("${HOTLINE_LINE}")
        data: dict[str, Scalar] = {short(k, 32): short(v) for k, v in params.items()}
        if kind is EventKind.oncall_ring_ended:
            data["result"] = dial_result(params.get("result", ""), params.get("cause", "")).value
        if kind is EventKind.voicemail_recorded and "bytes" in params:
            data["seconds"] = wav_seconds(params["bytes"])
        self._emit(linkedid, kind, {"line": short(line), "channel": request.channel, **data})

    def _emit(self, linkedid: str, kind: EventKind, data: dict[str, Scalar]) -> None:
        sink = self.journal()
        if sink is None:
            raise AgiError("the journal is not open")
        sink.emit(JournalEvent(
            linkedid=linkedid, kind=kind, at=datetime.now(UTC), source="agi", data=data
        ))
