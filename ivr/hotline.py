"""The composition root: the one place that builds the running hotline from its config.

`hotline run`, the integration tests' harness and the benchmarks all build a `Hotline`;
what differs between them (an instance name, an Asterisk already provisioned, a settable
clock, a tap on the journal's events, no HTTP side) is a `HotlineOptions` field, never a
second wiring. It owns, in start order: the journal, the Asterisk stack, the ARI
connection and the live state (both outlive a controller restart), the controller, and
the HTTP side (API and /metrics over the same objects).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

from agi_scripts.server import FastAgiServer
from ivr.ami.feed import AmiFeed
from ivr.api.plugin import Api, build_api
from ivr.api.server import HttpServer
from ivr.app import AsteriskStack, Controller, ControllerLiveView
from ivr.ari.client import AriClient
from ivr.asterisk.sandbox import AsteriskInstall
from ivr.clock import Clock, SettableClock, clock_from_env
from ivr.config import HotlineConfig
from ivr.domain.events import EventSink
from ivr.durable.reconcile import Reconciler
from ivr.journal.service import Journal, open_journal
from ivr.live import LiveState
from ivr.ports import refuse_taken, service_ports
from metrics.exporter import Exporter, Sources
from metrics.http import add_metrics_route

log = structlog.get_logger(__name__)


@dataclass(frozen=True)
class HotlineOptions:
    instance: str | None = None  # the Asterisk instance's name (default: from data_dir)
    install: AsteriskInstall | None = None  # an Asterisk already provisioned
    clock: Clock | None = None  # routing's "now" (default: HOTLINE_NOW, else the system's)
    tap: Callable[[EventSink], EventSink] | None = None  # wraps the journal's sink
    bench_line: str | None = None  # the benchmark's dialplan-only number
    http: bool = True  # serve the API and /metrics on service.http_port
    say: Callable[[str], None] = print
    # seconds between reconciliation passes (and on reconnects); None: the config's
    # [service] reconcile_seconds
    reconcile_every: float | None = None
    reconcile_settle: float = 5.0  # a call ended this long ago has told the live path all


class Hotline:
    """The running hotline. `start`, then `reload` as often as wanted, then `stop`."""

    def __init__(
        self, config: HotlineConfig, config_path: Path, options: HotlineOptions | None = None
    ) -> None:
        self.options = options or HotlineOptions()
        self.config = config
        self.config_path = config_path
        self.clock = SettableClock(self.options.clock or clock_from_env())
        self.stack = AsteriskStack(
            config,
            config_path,
            name=self.options.instance,
            install=self.options.install,
            bench_line=self.options.bench_line,
            say=self.options.say,
        )
        secrets = self.stack.secrets
        self.ari = AriClient(
            self.stack.ari_url, secrets.ari_user, secrets.ari_password, config.asterisk.ari_app
        )
        self.live = LiveState()
        self.journal: Journal | None = None
        self.sink: EventSink | None = None
        self.controller: Controller | None = None
        self.api: Api | None = None
        self.exporter: Exporter | None = None
        self.http: HttpServer | None = None
        self.reconciler: Reconciler | None = None
        self.fastagi: FastAgiServer | None = None
        self.reload_requested = asyncio.Event()

    async def start(self) -> None:
        """Everything up, or an exception and nothing left running."""
        if self.options.http:
            refuse_taken(service_ports(self.config))
        try:
            self.journal = await open_journal(self.config)
            writer = self.journal.writer
            self.sink = self.options.tap(writer) if self.options.tap else writer
            await self.stack.start()
            self.reconciler = self._reconciler(self.journal, self.sink)
            self.ari.on_connect.append(self.reconciler.request)
            await self.reconciler.start()
            await self.start_controller()
            if self.options.http:
                await self._start_http(self.journal)
                await self._start_fastagi()
        except BaseException:
            await self.stop()
            raise

    def _reconciler(self, journal: Journal, sink: EventSink) -> Reconciler:
        """The journal's reconciliation from Asterisk's own record of this instance."""
        instance = self.stack.instance
        assert instance is not None, "Asterisk first"
        writer = journal.writer

        def ready() -> bool:
            stats = writer.stats
            return stats.database_up and not stats.spool_pending

        return Reconciler(
            journal.store,
            sink,
            flush=writer.flush,
            ready=ready,
            cel_path=instance.cel_log,
            queue_log_path=instance.queue_log,
            settle=self.options.reconcile_settle,
            every=self.options.reconcile_every or self.config.service.reconcile_seconds,
        )

    async def _start_http(self, journal: Journal) -> None:
        async def request_reload() -> None:
            self.reload_requested.set()

        self.api = build_api(
            config=lambda: self.config,
            clock=self.clock,
            live=ControllerLiveView(lambda: self.controller),
            ari=self.ari,
            stack=self.stack,
            journal=journal.store,
            config_path=self.config_path,
            reload=request_reload,
        )
        self.exporter = Exporter(Sources(
            store=journal.store,
            config=lambda: self.config,
            live=self.live,
            health=self,
            writer_stats=lambda: journal.writer.stats,
            callbacks_owed=self.api.callbacks.owed,
            routing_clock=self.clock.now,  # "in service hours" by the clock routing reads
        ))
        add_metrics_route(self.api.app, self.exporter)
        service = self.config.service
        self.http = HttpServer(self.api.app, service.bind, service.http_port)
        await self.http.start()
        self.api.start()

    async def _start_fastagi(self) -> None:
        """FastAGI for foreign dialplans: the same policy, clock and journal."""
        service = self.config.service
        self.fastagi = FastAgiServer(
            config=lambda: self.config, now=self.clock.now, journal=lambda: self.sink,
            prompts=self.stack.media, bind=service.bind, port=service.fastagi_port,
        )
        await self.fastagi.start()

    async def start_controller(self) -> None:
        """The ARI/AMI side up (again): what a restarted service process would do."""
        assert self.sink is not None, "start() first"
        self.controller = Controller(
            self.config, self.stack, self.sink, self.clock, ari=self.ari, live=self.live
        )
        if self.reconciler is not None:
            self.controller.ami.on_login.append(self.reconciler.request)
        await self.controller.start()

    async def stop_controller(self) -> None:
        """The ARI/AMI side away, Asterisk still running: the dialplan carries on alone."""
        controller, self.controller = self.controller, None
        if controller is not None:
            await controller.stop()

    async def reload(self, config: HotlineConfig) -> None:
        """The one place a new configuration is applied: Asterisk (rendered, reloaded),
        then what routes and folds new calls (`apply`). Calls in progress keep going."""
        await self.stack.reload(config, self.ami)
        self.apply(config)

    def apply(self, config: HotlineConfig) -> None:
        """A configuration Asterisk already has: routing of new calls, the journal's
        folding, and what the API and the exporter read."""
        self.config = config
        if self.controller is not None:
            self.controller.apply(config)
        if self.journal is not None:
            self.journal.apply(config)

    @property
    def ami(self) -> AmiFeed | None:
        """The AMI connection of the moment (an external Asterisk is reloaded over it)."""
        return self.controller.ami if self.controller is not None else None

    def set_clock(self, clock: Clock) -> None:
        """Route new calls (and date callbacks) by another clock from now on."""
        self.clock.source = clock

    async def stop(self) -> None:
        if self.fastagi is not None:
            await self.fastagi.stop()
            self.fastagi = None
        if self.api is not None:
            self.api.stop()
            self.api = None
        if self.http is not None:
            await self.http.stop()
            self.http = None
        await self.stop_controller()
        await self.ari.close()
        if self.reconciler is not None:
            await self.reconciler.stop()
            self.reconciler = None
        await self.stack.stop()
        if self.journal is not None:
            await self.journal.close()
            self.journal = None

    # What the exporter and the health check read (metrics.exporter.Health).

    @property
    def ari_connected(self) -> bool:
        return self.controller is not None and self.controller.ari_connected

    @property
    def ami_connected(self) -> bool:
        return self.controller is not None and self.controller.ami_connected

    @property
    def calls_in_ivr(self) -> int:
        return self.controller.calls_in_ivr if self.controller is not None else 0

    @property
    def last_event_age_seconds(self) -> float | None:
        return self.controller.last_event_age_seconds if self.controller is not None else None
