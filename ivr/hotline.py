"""The composition root: the one place that builds the running hotline from its config.

`hotline run`, the integration tests' harness and the benchmarks all build a `Hotline`;
what differs between them (an instance name, an Asterisk already provisioned, a settable
clock, a tap on the journal's events, no HTTP side) is a `HotlineOptions` field, never a
second wiring. It owns, in start order: the journal, the Asterisk stack, the ARI
connection and the live state (both outlive a controller restart), the controller, and
the HTTP side (API and /metrics over the same objects).

With several `[[nodes]]` each node is one `NodeSide` (its Asterisk, its ARI and AMI
clients, its live state and the reconciliation from its own durable record), all
journaling into the one journal, with Kamailio (`ivr.proxy`) in front of them. A node's
Asterisk that dies under us has its calls in progress ended in the journal at the
moment it died (Q.850 cause 38, network out of order): nobody on it is still talking.
With no `[[nodes]]` there is one unnamed node and no proxy, exactly as before.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import structlog

from agi_scripts.server import FastAgiServer
from ivr.ami.feed import AmiFeed
from ivr.api.plugin import Api, build_api
from ivr.api.server import HttpServer
from ivr.app import (
    AsteriskStack,
    Controller,
    ControllerLiveView,
    NodesLiveView,
    instance_name,
)
from ivr.ari.client import AriClient
from ivr.asterisk.sandbox import AsteriskInstall
from ivr.clock import Clock, SettableClock, clock_from_env
from ivr.config import HotlineConfig
from ivr.domain.events import EventKind, EventSink, JournalEvent
from ivr.domain.notices import Notice
from ivr.durable.reconcile import Reconciler
from ivr.journal.service import Journal, open_journal
from ivr.live import LiveState
from ivr.notices.service import NoticesService
from ivr.notices.store import NoticeStore
from ivr.ports import Port, refuse_taken, service_ports
from ivr.prompt_files import allowed_dirs
from ivr.proxy.process import KamailioProcess
from ivr.proxy.render import ProxyFiles
from ivr.recording.service import RecordingsService
from ivr.recording.store import RecordingStore
from ivr.spotchecks.prober import Prober, probe_app
from ivr.spotchecks.service import SpotChecksService
from ivr.spotchecks.store import SpotCheckStore
from metrics.exporter import Exporter, Sources
from metrics.http import add_metrics_route
from metrics.orders import order_families

log = structlog.get_logger(__name__)

# Set in docker-compose's two-node layout: Kamailio runs in its own container.
EXTERNAL_PROXY_DIR = "HOTLINE_PROXY_DIR"
GIL_SWITCH_SECONDS = 0.001


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


@dataclass
class NodeSide:
    """One Asterisk node and what the service attaches to it."""

    name: str | None  # None: the one node of a config without [[nodes]]
    stack: AsteriskStack
    ari: AriClient
    live: LiveState = field(default_factory=LiveState)
    controller: Controller | None = None
    reconciler: Reconciler | None = None
    watch: asyncio.Task[None] | None = None
    down_at: datetime | None = None  # when its Asterisk died under the running service
    up: asyncio.Event = field(default_factory=asyncio.Event)  # its Asterisk runs

    def node_config(self, config: HotlineConfig) -> HotlineConfig:
        """`config` as this node's Asterisk runs it."""
        if self.name is None:
            return config
        return config.for_node(next(n for n in config.nodes if n.name == self.name))


class NodesStack:
    """Every node's Asterisk as one (`ivr.config_apply.Stack`): a reload renders and
    reloads each node with its own ports and systemname."""

    def __init__(self, hotline: Hotline) -> None:
        self.hotline = hotline
        self.config = hotline.config

    async def render(self, config: HotlineConfig) -> None:
        for node in self.hotline.nodes:
            await node.stack.render(node.node_config(config))

    async def reload(self, config: HotlineConfig, ami: Any = None) -> None:
        if [n.name for n in config.nodes] != [n.name for n in self.config.nodes] or (
            config.proxy != self.config.proxy
        ):
            raise ValueError("[[nodes]] and [proxy] change only with a restart")
        for node in self.hotline.nodes:
            controller = node.controller
            await node.stack.reload(
                node.node_config(config), controller.ami if controller else None
            )
        self.config = config


class Hotline:
    """The running hotline. `start`, then `reload` as often as wanted, then `stop`."""

    def __init__(
        self, config: HotlineConfig, config_path: Path, options: HotlineOptions | None = None
    ) -> None:
        self.options = options or HotlineOptions()
        self.config = config
        self.config_path = config_path
        self.clock = SettableClock(self.options.clock or clock_from_env())
        base = self.options.instance or instance_name(config.service.data_dir)
        if config.nodes:
            self.nodes = [self._node(node.name, f"{base}-{node.name}") for node in config.nodes]
        else:
            self.nodes = [self._node(None, base)]
        self.proxy: KamailioProcess | None = None
        if len(config.nodes) > 1:
            # docker-compose: a kamailio container runs the config we render there
            external = os.environ.get(EXTERNAL_PROXY_DIR)
            root = Path(external) if external else config.service.data_dir / "proxy"
            self.proxy = KamailioProcess(config, ProxyFiles(root), external=bool(external))
        self.journal: Journal | None = None
        self.sink: EventSink | None = None
        self.api: Api | None = None
        self.exporter: Exporter | None = None
        self.http: HttpServer | None = None
        self.fastagi: FastAgiServer | None = None
        self.notices: NoticesService | None = None
        self._notices_task: asyncio.Task[None] | None = None
        self.recordings: RecordingsService | None = None
        self._sweep_task: asyncio.Task[None] | None = None
        self.spotchecks: SpotChecksService | None = None
        self.prober: Prober | None = None
        self._probe_task: asyncio.Task[None] | None = None
        self.reload_requested = asyncio.Event()
        self._stopping = False

    def _node(self, name: str | None, instance: str) -> NodeSide:
        side_config = self.config
        if name is not None:
            side_config = self.config.for_node(next(n for n in self.config.nodes if n.name == name))
        stack = AsteriskStack(
            side_config,
            self.config_path,
            name=instance,
            install=self.options.install,
            bench_line=self.options.bench_line,
            say=self.options.say,
            node=name,
        )
        secrets = stack.secrets
        ari = AriClient(
            stack.ari_url, secrets.ari_user, secrets.ari_password, side_config.asterisk.ari_app
        )
        return NodeSide(name, stack, ari)

    # The first node, for what has one Asterisk in mind (the API's voicemail files and
    # originated callbacks, the tests of one node).

    @property
    def stack(self) -> AsteriskStack:
        return self.nodes[0].stack

    @property
    def ari(self) -> AriClient:
        return self.nodes[0].ari

    @property
    def live(self) -> LiveState:
        return self.nodes[0].live

    @property
    def controller(self) -> Controller | None:
        return self.nodes[0].controller

    @property
    def reconciler(self) -> Reconciler | None:
        return self.nodes[0].reconciler

    @property
    def asterisk(self) -> AsteriskStack | NodesStack:
        """What a reload renders and reloads: the one Asterisk, or every node's."""
        return self.stack if self.nodes[0].name is None else NodesStack(self)

    def node(self, name: str) -> NodeSide:
        return next(side for side in self.nodes if side.name == name)

    async def start(self) -> None:
        """Everything up, or an exception and nothing left running."""
        # The journal writer folds on a thread of its own; the interpreter lets one thread
        # run 5 ms by default before another may, so call control could wait that long
        # for it. Measured (bench/report_bench.py, ingestion): the loop's p99 lateness
        # while the writer works is 11.7 ms at 5 ms, 4.3 ms at 1 ms.
        sys.setswitchinterval(GIL_SWITCH_SECONDS)
        if self.options.http:
            refuse_taken(service_ports(self.config))
        if self.proxy is not None:
            p = self.config.proxy
            refuse_taken([Port("proxy.sip_port", p.bind, p.sip_port, "udp")])
        try:
            self.journal = await open_journal(self.config)
            writer = self.journal.writer
            self.sink = self.options.tap(writer) if self.options.tap else writer
            await self._load_notices(self.journal)
            await asyncio.gather(*(self._start_node(node) for node in self.nodes))
            if self.proxy is not None:
                await self.proxy.start()
            for node in self.nodes:
                node.reconciler = self._reconciler(node, self.journal, self.sink)
                node.ari.on_connect.append(node.reconciler.request)
                await node.reconciler.start()
            await self.start_controller()
            if self.notices is not None:
                self._notices_task = asyncio.create_task(self.notices.run(), name="notices")
            self.recordings = self._recordings(self.journal)
            self._sweep_task = asyncio.create_task(
                self.recordings.run(lambda: self.config.recording.sweep_seconds),
                name="recordings-sweep",
            )
            await self._start_prober(self.journal)
            if self.options.http:
                await self._start_http(self.journal)
                await self._start_fastagi()
        except BaseException:
            await self.stop()
            raise
        # What start-up built (modules, the config, SQL metadata, the API) lives as long
        # as the process: kept out of the garbage collector's full passes, which would
        # otherwise walk it all, holding the loop that drives the calls for ~0.2 s.
        gc.freeze()

    async def _start_node(self, node: NodeSide) -> None:
        await node.stack.start()
        node.down_at = None
        node.up.set()
        process = node.stack.process
        if node.name is not None and process is not None and process.process is not None:
            node.watch = asyncio.create_task(
                self._watch(node, process.process), name=f"node-{node.name}-watch"
            )

    async def _watch(self, node: NodeSide, process: asyncio.subprocess.Process) -> None:
        """A node's Asterisk that exits while the service runs: its calls are over."""
        await process.wait()
        if self._stopping or node.stack.process is None:
            return
        node.down_at = datetime.now(UTC)
        node.up.clear()
        log.warning("node.down", node=node.name, exit=process.returncode)
        self.options.say(f"node {node.name}: Asterisk exited ({process.returncode})")
        await self.end_calls_of(node, node.down_at)

    async def end_calls_of(self, node: NodeSide, at: datetime) -> int:
        """The calls the journal holds in progress on `node`, ended at `at` (its Asterisk
        died then, and every channel with it). Its durable record adds, when the node is
        back, whatever else it holds of them; a real end reported later wins only if it
        came first (the fold takes the earliest end)."""
        journal, sink = self.journal, self.sink
        if journal is None or sink is None or node.name is None:
            return 0
        await journal.writer.flush()  # what the live path reported before the death
        linkedids = await journal.store.calls_in_progress_on(node.name)
        for linkedid in linkedids:
            sink.emit(JournalEvent(
                linkedid=linkedid, kind=EventKind.call_ended, at=at, source="journal",
                data={"cause": "38", "node_down": node.name},
            ))
        await journal.writer.flush()
        log.info("node.calls_ended", node=node.name, calls=len(linkedids))
        return len(linkedids)

    async def restart_node(self, name: str, timeout: float = 30.0) -> None:
        """Start a node's Asterisk again after it died; returns once its ARI and AMI
        clients are back on it (their reconnects ask for a reconciliation pass from
        its record)."""
        node = self.node(name)
        if node.watch is not None and not node.watch.done():
            raise RuntimeError(f"node {name}'s Asterisk is running")
        await self._start_node(node)
        controller = node.controller
        if controller is not None:
            await asyncio.wait_for(controller.ari.connected.wait(), timeout)
            await asyncio.wait_for(controller.ami.logged_in.wait(), timeout)
        if node.reconciler is not None:
            node.reconciler.request()

    async def _load_notices(self, journal: Journal) -> None:
        """The outage notices that may play, before Asterisk's config is rendered (the
        fallback plays them too); published again whenever they change or expire."""
        self.notices = NoticesService(
            NoticeStore(journal.store.engine),
            self.clock.now,
            sound_dirs=lambda: allowed_dirs(self.config, self.config_path),
            publish=self._publish_notices,
        )
        try:
            loaded = await self.notices.load()
            for node in self.nodes:
                node.stack.notices = list(loaded)
        except Exception as exc:  # the database is away: none until it answers
            log.warning("notices.unavailable_at_start", error=str(exc))

    async def _start_prober(self, journal: Journal) -> None:
        """Spot checks, and the prober that dials the public number like a checker (on
        demand, and every `[spotcheck] every_minutes`), over an ARI application of its own."""
        self.spotchecks = SpotChecksService(
            SpotCheckStore(journal.store.engine),
            lambda: self.config.hotline.zone,
            lambda: datetime.now(UTC),  # dials happen in real time, whatever routing's clock
            lambda: timedelta(seconds=self.config.spotcheck.redial_seconds),
        )
        secrets = self.stack.secrets
        ari = AriClient(
            self.stack.ari_url, secrets.ari_user, secrets.ari_password,
            probe_app(self.config.asterisk.ari_app),
        )  # fmt: skip
        self.prober = Prober(
            ari, lambda: self.config.spotcheck, lambda: self.config.lines[0].number,
            self.spotchecks,
        )  # fmt: skip
        await self.prober.start()
        self._probe_task = asyncio.create_task(self.prober.run_schedule(), name="probe-schedule")

    def _recordings(self, journal: Journal) -> RecordingsService:
        """Recorded calls in the instance's directory, kept for the configured period."""
        stack = self.stack
        return RecordingsService(
            lambda: stack.instance.recordings if stack.instance is not None else None,
            RecordingStore(journal.store.engine),
            journal.store,
            lambda: timedelta(days=self.config.recording.retention_days),
        )

    async def _publish_notices(self, notices: list[Notice]) -> None:
        for node in self.nodes:  # every node's fallback dialplan plays them
            await node.stack.publish_notices(notices)

    def _reconciler(self, node: NodeSide, journal: Journal, sink: EventSink) -> Reconciler:
        """The journal's reconciliation from Asterisk's own record of this node."""
        instance = node.stack.instance
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
            node=node.name,
        )

    async def _start_http(self, journal: Journal) -> None:
        async def request_reload() -> None:
            self.reload_requested.set()

        self.api = build_api(
            config=lambda: self.config,
            clock=self.clock,
            live=self._live_view(),
            ari=self.ari,
            stack=self.stack,
            more_stacks=[node.stack for node in self.nodes[1:]],
            journal=journal.store,
            config_path=self.config_path,
            reload=request_reload,
            notices=self.notices,
            recordings=self.recordings,
            spotchecks=self.spotchecks,
            prober=self.prober,
        )
        self.exporter = Exporter(Sources(
            store=journal.store,
            config=lambda: self.config,
            live=self.live_state,
            health=self,
            writer_stats=lambda: journal.writer.stats,
            callbacks_owed=self.api.callbacks.owed,
            outbound_refused=self.api.callbacks.guard.refused,
            extra=(order_families(self.api.orders.open_counts, self.api.deliverer.counts),),
            routing_clock=self.clock.now,  # "in service hours" by the clock routing reads
            nodes_up=self.nodes_up,
            notices=self.notices.store if self.notices is not None else None,
            recordings=self.recordings,
            spotchecks=self.spotchecks,
        ))
        add_metrics_route(self.api.app, self.exporter)
        service = self.config.service
        self.http = HttpServer(self.api.app, service.bind, service.http_port)
        await self.http.start()
        self.api.start()

    def _live_view(self) -> ControllerLiveView | NodesLiveView:
        if self.nodes[0].name is None:
            return ControllerLiveView(lambda: self.controller)
        return NodesLiveView(lambda: [node.controller for node in self.nodes])

    def live_state(self) -> LiveState:
        """Queue and agents now: the one node's, or every node's merged."""
        if self.nodes[0].name is None:
            return self.live
        return LiveState.merged(node.live for node in self.nodes)

    async def _start_fastagi(self) -> None:
        """FastAGI for foreign dialplans: the same policy, clock and journal."""
        service = self.config.service
        self.fastagi = FastAgiServer(
            config=lambda: self.config, now=self.clock.now, journal=lambda: self.sink,
            prompts=self.stack.media, bind=service.bind, port=service.fastagi_port,
        )
        await self.fastagi.start()

    async def start_controller(self) -> None:
        """The ARI/AMI side up (again): what a restarted service process would do; one
        ARI and one AMI client per node, all emitting into the one journal."""
        assert self.sink is not None, "start() first"
        for node in self.nodes:
            controller = Controller(
                node.node_config(self.config), node.stack, self.sink, self.clock,
                ari=node.ari, live=node.live,
            )
            node.controller = controller
            if node.reconciler is not None:
                controller.ami.on_login.append(node.reconciler.request)
            controller.ami.listeners.append(self._ami_event)  # the desk: who answered
            await controller.start()

    def _ami_event(self, event: dict[str, str]) -> None:
        """AMI events the HTTP side's capabilities read (a call-back's dial ending)."""
        if self.api is not None:
            self.api.on_ami_event(event)

    async def stop_controller(self) -> None:
        """The ARI/AMI side away, Asterisk still running: the dialplan carries on alone."""
        for node in self.nodes:
            controller, node.controller = node.controller, None
            if controller is not None:
                await controller.stop()

    async def reload(self, config: HotlineConfig) -> None:
        """The one place a new configuration is applied: Asterisk (rendered, reloaded),
        then what routes and folds new calls (`apply`). Calls in progress keep going."""
        await self.asterisk.reload(config, self.ami)
        self.apply(config)

    def apply(self, config: HotlineConfig) -> None:
        """A configuration Asterisk already has: routing of new calls, the journal's
        folding, and what the API and the exporter read."""
        self.config = config
        for node in self.nodes:
            if node.controller is not None:
                node.controller.apply(node.node_config(config))
        if self.journal is not None:
            self.journal.apply(config)

    @property
    def ami(self) -> AmiFeed | None:
        """The AMI connection of the moment (an external Asterisk is reloaded over it)."""
        return self.controller.ami if self.controller is not None else None

    def set_clock(self, clock: Clock) -> None:
        """Route new calls (and date callbacks) by another clock from now on."""
        self.clock.source = clock

    async def stop_http(self) -> None:
        """The HTTP side away (API, /metrics, callback and order syncs, the outbox's
        delivery), calls still handled: what a service restart drops for a moment."""
        if self.api is not None:
            await self.api.stop()
            self.api = None
        if self.http is not None:
            await self.http.stop()
            self.http = None

    async def start_http(self) -> None:
        """The HTTP side up again over the same journal (after `stop_http`)."""
        assert self.journal is not None, "start() first"
        await self._start_http(self.journal)

    async def stop(self) -> None:
        for task in (self._notices_task, self._sweep_task, self._probe_task):
            if task is not None:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
        self._notices_task = self._sweep_task = self._probe_task = None
        if self.prober is not None:
            await self.prober.stop()
            self.prober = None
        if self.fastagi is not None:
            await self.fastagi.stop()
            self.fastagi = None
        await self.stop_http()
        self._stopping = True
        await self.stop_controller()
        for node in self.nodes:
            await node.ari.close()
            if node.reconciler is not None:
                await node.reconciler.stop()
                node.reconciler = None
        if self.proxy is not None:
            await self.proxy.stop()
        for node in self.nodes:
            if node.watch is not None:
                node.watch.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await node.watch
                node.watch = None
            await node.stack.stop()
        if self.journal is not None:
            await self.journal.close()
            self.journal = None

    # What the exporter and the health check read (metrics.exporter.Health).

    def nodes_up(self) -> dict[str, bool]:
        """Several nodes: each named node's Asterisk runs and the service is attached."""
        return {
            node.name: node.up.is_set() and node.controller is not None
            and node.controller.ari_connected
            for node in self.nodes if node.name is not None
        }

    # With several nodes: connected means connected to every node; calls are summed.

    @property
    def ari_connected(self) -> bool:
        return all(n.controller is not None and n.controller.ari_connected for n in self.nodes)

    @property
    def ami_connected(self) -> bool:
        return all(n.controller is not None and n.controller.ami_connected for n in self.nodes)

    @property
    def calls_in_ivr(self) -> int:
        return sum(n.controller.calls_in_ivr for n in self.nodes if n.controller is not None)

    @property
    def last_event_age_seconds(self) -> float | None:
        ages = [n.controller.last_event_age_seconds for n in self.nodes
                if n.controller is not None]
        known = [age for age in ages if age is not None]
        return min(known) if known else None

    @property
    def calls_shed(self) -> dict[str, int]:
        shed: dict[str, int] = {}
        for node in self.nodes:
            if node.controller is not None:
                for reason, count in node.controller.calls_shed.items():
                    shed[reason] = shed.get(reason, 0) + count
        return shed
