"""Wiring only: the Asterisk side (provisioned, rendered, started) and the controller
side (ARI call flow, AMI feed, journal). No call logic lives here.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
import time
from collections.abc import Callable
from pathlib import Path

import structlog

from ivr.ami.feed import AmiFeed
from ivr.api.live_view import IvrCall
from ivr.ari.client import AriClient
from ivr.asterisk.instance import (
    AsteriskProcess,
    AsteriskStartError,
    Instance,
    cli,
    start_detached,
    wait_for_ari,
)
from ivr.asterisk.render import NoticeSound, render, write_notices_dialplan
from ivr.asterisk.running import (
    AsteriskConflict,
    Owner,
    RunningAsterisk,
    describe_owner,
    find_running,
    running_version,
    stop_running,
    version_number,
    write_owner,
)
from ivr.asterisk.sandbox import AsteriskInstall, provision
from ivr.callflow.overload import OverloadGuard
from ivr.callflow.policy import RoutingPolicy
from ivr.callflow.service import CallFlowService
from ivr.callflow.stasis import StasisHandlers
from ivr.clock import Clock, clock_from_env
from ivr.config import HotlineConfig
from ivr.domain.events import EventSink
from ivr.domain.notices import Notice
from ivr.live import LiveState
from ivr.ports import asterisk_ports, refuse_taken
from ivr.prompts import PromptRenderer, render_notices
from ivr.secrets import Secrets, load_secrets

log = structlog.get_logger(__name__)

# Set in docker-compose: Asterisk runs in its own container and reads what we render here.
EXTERNAL_DIR = "HOTLINE_ASTERISK_DIR"
EXTERNAL_WAIT = 300.0


def instance_name(data_dir: Path) -> str:
    return "run-" + hashlib.sha256(str(data_dir.resolve()).encode()).hexdigest()[:10]


class AsteriskStack:
    """Asterisk for one hotline config: provisioned, rendered, started, reloaded."""

    def __init__(
        self,
        config: HotlineConfig,
        config_path: Path,
        *,
        name: str | None = None,
        install: AsteriskInstall | None = None,
        bench_line: str | None = None,
        say: Callable[[str], None] = print,
        node: str | None = None,
    ) -> None:
        self.config = config
        self.config_path = config_path
        self.node = node  # several nodes: an external Asterisk's config goes in dir/<node>
        self.name = name or instance_name(config.service.data_dir)
        self.bench_line = bench_line
        self.say = say
        self.install = install
        self.secrets: Secrets = load_secrets(config.service.data_dir)
        self.instance: Instance | None = None
        self.process: AsteriskProcess | None = None  # the Asterisk we started, our child
        self.running: RunningAsterisk | None = None  # or the one we found running
        self.external = False  # docker-compose: someone else runs it
        self.media: dict[str, str] = {}
        self.notices: list[Notice] = []  # outage notices that may still play

    @property
    def ari_url(self) -> str:
        return f"http://{self.config.asterisk.bind}:{self.config.asterisk.http_port}"

    async def start(self) -> None:
        """Our own Asterisk started, or the one already running for this instance taken
        over on purpose (said so, with its pid), or a clear refusal."""
        external = os.environ.get(EXTERNAL_DIR)
        if external:
            directory = Path(external)
            await self._use_external(directory / self.node if self.node else directory)
            return
        instance = await self._instance()
        running = find_running(instance)
        if running is not None:
            await self._take_over(instance, running)
            return
        refuse_taken(asterisk_ports(self.config))
        await self.render(self.config)
        self.process = AsteriskProcess(instance)
        await self.process.start()
        try:
            await self.process.wait_ready(
                self.ari_url, self.secrets.ari_user, self.secrets.ari_password
            )
            self._check_answering_is_ours(instance, self.process.pid)
            write_owner(instance, Owner.service)
        except BaseException:
            await self.process.stop()  # never leave an Asterisk behind that we gave up on
            raise

    async def start_standalone(self) -> RunningAsterisk:
        """`hotline asterisk start`: an Asterisk that runs on its own, outliving any
        `hotline run` that attaches to it."""
        instance = await self._instance()
        running = find_running(instance)
        if running is not None:
            raise AsteriskConflict(
                f"Asterisk already runs for this instance (pid {running.pid}, "
                f"started by {describe_owner(running.owner)})"
            )
        refuse_taken(asterisk_ports(self.config))
        await self.render(self.config)
        process = start_detached(instance)
        try:
            await wait_for_ari(
                self.ari_url, self.secrets.ari_user, self.secrets.ari_password, 60.0,
                lambda: None if process.poll() is None
                else f"Asterisk exited with {process.returncode}; see {instance.host / 'log'}",
            )
            self._check_answering_is_ours(instance, process.pid)
        except BaseException:
            await stop_running(instance, process.pid)
            raise
        write_owner(instance, Owner.standalone)
        return RunningAsterisk(process.pid, Owner.standalone)

    async def _instance(self) -> Instance:
        if self.install is None:
            self.install = await asyncio.to_thread(provision, say=self.say)
        self.instance = Instance.create(self.install, self.name, self.config.service.data_dir)
        return self.instance

    async def _take_over(self, instance: Instance, running: RunningAsterisk) -> None:
        """Use the Asterisk already running for this instance: same version, our config
        rendered and reloaded into it. One started by `hotline asterisk start` keeps
        running after us; one orphaned by a crashed `hotline run` is ours to stop."""
        assert self.install is not None
        version = await running_version(instance)
        expected = version_number(self.install.version)
        if version != expected:
            raise AsteriskConflict(
                f"an Asterisk {version or 'of unknown version'} already runs for this "
                f"instance (pid {running.pid}), not {expected}: stop it with "
                "`hotline asterisk stop` and start again"
            )
        await self.render(self.config)
        await cli(instance, "core reload")
        await wait_for_ari(self.ari_url, self.secrets.ari_user, self.secrets.ari_password, 30.0)
        self.running = running
        if running.owner is Owner.standalone:
            self.say(f"attached to Asterisk pid {running.pid} ({version}), started by "
                     "`hotline asterisk start`; it keeps running when the service stops")
            return
        write_owner(instance, Owner.service)
        self.say(f"adopted Asterisk pid {running.pid} ({version}), left running for this "
                 f"instance by {describe_owner(running.owner)}: config re-rendered and "
                 "reloaded; it stops with the service")

    @staticmethod
    def _check_answering_is_ours(instance: Instance, pid: int | None) -> None:
        """The ARI that answered belongs to the Asterisk we started, not to another one
        on the same instance (which would make ours exit: "already running")."""
        found = find_running(instance)
        if found is None or found.pid != pid:
            raise AsteriskStartError(
                f"the Asterisk started (pid {pid}) is not the one running for this instance "
                f"({f'pid {found.pid}' if found else 'none'}); see {instance.host / 'log'}"
            )

    async def _use_external(self, directory: Path) -> None:
        """Render for an Asterisk that runs elsewhere (docker-compose) and wait for it."""
        self.instance = Instance.external(directory)
        self.external = True
        self.install = self.instance.install
        await self.render(self.config)
        self.say(f"config rendered into {directory}; waiting for Asterisk's ARI")
        await wait_for_ari(
            self.ari_url, self.secrets.ari_user, self.secrets.ari_password, EXTERNAL_WAIT
        )

    async def render(self, config: HotlineConfig) -> None:
        assert self.instance is not None
        sounds = await PromptRenderer(config, self.instance.sounds).render_all()
        notices = await render_notices(self.instance.sounds, self.notices)
        render(
            config,
            self.secrets,
            self.instance,
            sounds,
            config_path=self.config_path,
            bench_line=self.bench_line,
            notices=self._notice_sounds(notices),
        )
        # updated in place: the call flow holds this mapping
        self.media.clear()
        self.media.update(
            {
                name: f"sound:{self.instance.to_inner(path)}"
                for name, path in (sounds | notices).items()
            }
        )

    async def publish_notices(self, notices: list[Notice]) -> None:
        """The outage notices changed (posted, ended, expired): their prompts made, the
        dialplan's fallback rewritten and reloaded, the call flow's media updated."""
        assert self.instance is not None
        self.notices = list(notices)
        made = await render_notices(self.instance.sounds, self.notices)
        write_notices_dialplan(self.instance, self._notice_sounds(made))
        for name in [n for n in self.media if n.startswith("notice-") and n not in made]:
            del self.media[name]
        self.media.update(
            {name: f"sound:{self.instance.to_inner(path)}" for name, path in made.items()}
        )
        if not self.external:
            await self.cli("dialplan reload")

    def _notice_sounds(self, made: dict[str, Path]) -> list[NoticeSound]:
        assert self.instance is not None
        return [
            NoticeSound(
                n.id,
                self.instance.to_inner(made[n.prompt]),
                int(n.starts_at.timestamp()),
                int(n.until.timestamp()),
            )
            for n in self.notices
            if n.prompt in made and not n.areas  # the fallback has no area prompt
        ]

    async def reload(self, config: HotlineConfig, ami: AmiFeed | None = None) -> None:
        """New config for new calls; calls in progress keep going."""
        await self.render(config)
        self.config = config
        if not self.external:
            await self.cli("core reload")
        elif ami is not None:  # an external Asterisk: no control socket here
            await ami.action(Action="Reload")  # AMI write class `system`, not `command`

    async def cli(self, command: str) -> str:
        """An Asterisk CLI command over this instance's control socket."""
        if self.instance is None:
            raise RuntimeError("the Asterisk stack has not started")
        return await cli(self.instance, command)

    @property
    def keeps_running(self) -> bool:
        """Asterisk runs on its own (`hotline asterisk start`): the service leaves it be."""
        return self.running is not None and self.running.owner is Owner.standalone

    async def stop(self) -> None:
        if self.process is not None:
            await self.process.stop()
            self.process = None
        elif self.running is not None and self.instance is not None:
            if self.keeps_running:
                self.say(f"Asterisk pid {self.running.pid} keeps running "
                         "(`hotline asterisk stop` stops it)")
            else:
                await stop_running(self.instance, self.running.pid)
            self.running = None


class Controller:
    """The Python side of the hotline, on one asyncio loop."""

    def __init__(
        self,
        config: HotlineConfig,
        stack: AsteriskStack,
        journal: EventSink,
        clock: Clock | None = None,
        *,
        ari: AriClient | None = None,
        live: LiveState | None = None,
    ) -> None:
        self.config = config
        self.stack = stack
        self.journal = journal
        self.clock = clock or clock_from_env()
        secrets = stack.secrets
        self.policy = RoutingPolicy(config)
        self.ari = ari or AriClient(
            stack.ari_url, secrets.ari_user, secrets.ari_password, config.asterisk.ari_app
        )
        self.overload = OverloadGuard(config.overload.bounds)
        self.flow = CallFlowService(
            self.ari, lambda: self.policy, journal, self.clock, stack.media, self.overload,
            notices=lambda: stack.notices,
        )
        self.handlers = StasisHandlers(self.ari, self.flow)
        self.ami = AmiFeed(
            config.asterisk.bind,
            config.asterisk.ami_port,
            secrets.ami_user,
            secrets.ami_password,
            journal,
        )
        self.live = live if live is not None else LiveState()
        self.ami.listeners.append(self.live.apply)
        self._ari_task: asyncio.Task[None] | None = None

    async def start(self, timeout: float = 20.0) -> None:
        self.overload.lag.start()
        await self.ari.open()
        self._ari_task = asyncio.create_task(self.handlers.run(), name="ari-events")
        await self.ami.start()
        await asyncio.wait_for(self.ari.connected.wait(), timeout)
        await asyncio.wait_for(self.ami.logged_in.wait(), timeout)

    # What the exporter and the health check read (metrics.exporter.Health).

    @property
    def ari_connected(self) -> bool:
        return self.ari.connected.is_set()

    @property
    def ami_connected(self) -> bool:
        return self.ami.connected

    @property
    def calls_in_ivr(self) -> int:
        return sum(1 for call in self.flow.calls.values() if call.in_ivr)

    @property
    def last_event_age_seconds(self) -> float | None:
        last = self.ami.last_event_monotonic
        return None if last is None else time.monotonic() - last

    def apply(self, config: HotlineConfig) -> None:
        """Route new calls by a new config (calls in progress keep their policy)."""
        self.config = config
        self.policy = RoutingPolicy(config)
        self.overload.bounds = config.overload.bounds

    @property
    def calls_shed(self) -> dict[str, int]:
        """Calls sent to the dialplan's menu because the controller was behind, by why."""
        return dict(self.overload.shed)

    async def stop(self) -> None:
        await self.overload.lag.stop()
        if self._ari_task is not None:
            self._ari_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ari_task
        await self.flow.drain()
        self.ami.close()
        await self.ari.close()


def _fixed(controller: Controller) -> Callable[[], Controller | None]:
    return lambda: controller


class NodesLiveView:
    """What the API reads of "now" with several nodes: every node's controller of the
    moment, merged (`LiveState.merged`); connected means connected to every node."""

    def __init__(self, controllers: Callable[[], list[Controller | None]]) -> None:
        self.controllers = controllers

    def state(self) -> LiveState:
        return LiveState.merged(c.live for c in self.controllers() if c is not None)

    def calls_in_ivr(self) -> list[IvrCall]:
        return [call for c in self.controllers() if c is not None
                for call in ControllerLiveView(_fixed(c)).calls_in_ivr()]

    def ari_connected(self) -> bool:
        return all(c is not None and c.ari.connected.is_set() for c in self.controllers())

    def ami_connected(self) -> bool:
        return all(c is not None and bool(c.ami.connected) for c in self.controllers())


class ControllerLiveView:
    """What the API reads of "now" (`ivr.api.live_view.LiveView`), from the controller of
    the moment (it is rebuilt when the service's ARI/AMI side restarts): its `.live`,
    `.flow.calls`, `.ari`, `.ami`."""

    def __init__(self, controller: Callable[[], Controller | None]) -> None:
        self.controller = controller

    def state(self) -> LiveState:
        controller = self.controller()
        return controller.live if controller is not None else LiveState()

    def calls_in_ivr(self) -> list[IvrCall]:
        controller = self.controller()
        if controller is None:
            return []
        return [
            IvrCall(call.channel, call.linkedid, call.line, call.caller, call.state.value)
            for call in list(controller.flow.calls.values())
        ]

    def ari_connected(self) -> bool:
        controller = self.controller()
        return controller is not None and controller.ari.connected.is_set()

    def ami_connected(self) -> bool:
        controller = self.controller()
        return controller is not None and bool(controller.ami.connected)
