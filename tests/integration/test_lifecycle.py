"""A lifecycle that never lies, with the real `hotline` command, a real Asterisk and SIPp:
a restart after a crash adopts the orphaned Asterisk and says so (or refuses clearly),
a stale pid file never gets a stranger signalled, taken ports refuse the start, and an
Asterisk started on its own outlives the service with its live calls."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from ivr.app import instance_name
from ivr.asterisk.instance import Instance, cli
from ivr.asterisk.running import AsteriskConflict, find_running, is_instance_process
from ivr.asterisk.sandbox import AsteriskInstall
from ivr.config import HotlineConfig, parse_config
from ivr.domain.record import Outcome
from ivr.hotline import Hotline, HotlineOptions
from ivr.journal.service import open_store
from ivr.pidfile import PID_NAME

from . import sipp
from .cli_process import CliProcess, run_cli
from .harness import HotlineUnderTest, Ports, render_test_config, until

pytestmark = pytest.mark.asterisk


@dataclass
class Deployment:
    """One hotline config on disk, run by the `hotline` command as an operator would."""

    install: AsteriskInstall
    workdir: Path
    ports: Ports
    config_path: Path

    def write(self, **overrides: str) -> HotlineConfig:
        text = render_test_config(self.ports, self.workdir / "data", **overrides)
        self.config_path.write_text(text)
        return parse_config(text, self.config_path)

    @property
    def instance(self) -> Instance:
        name = instance_name(self.workdir / "data")
        return Instance.create(self.install, name, self.workdir / "data")

    @property
    def pid_file(self) -> Path:
        return self.workdir / "data" / PID_NAME

    async def run(self, now: str | None = None) -> CliProcess:
        """`hotline run`; `now` (ISO, with offset) sets the time of day it routes by."""
        env = {"HOTLINE_NOW": now} if now else None
        return await CliProcess.start("run", "-c", str(self.config_path), env=env)

    async def command(self, *args: str) -> tuple[int, str]:
        return await run_cli(*args, "-c", str(self.config_path))


@pytest.fixture
async def deployment(
    asterisk_install: AsteriskInstall, tmp_path: Path
) -> AsyncIterator[Deployment]:
    d = Deployment(asterisk_install, tmp_path, Ports(), tmp_path / "hotline.toml")
    d.write()
    try:
        yield d
    finally:
        instance = d.instance
        left = find_running(instance)
        if left is not None:
            os.kill(left.pid, signal.SIGKILL)
        if not os.environ.get("HOTLINE_KEEP"):
            shutil.rmtree(instance.host, ignore_errors=True)


async def test_a_restart_after_a_crash_adopts_the_orphaned_asterisk_and_says_so(
    deployment: Deployment,
) -> None:
    first = await deployment.run()
    started = await first.wait_for(r"Asterisk pid (\d+) \(started by this run\)")
    asterisk_pid = int(started[1])
    first.send(signal.SIGKILL)  # the service crashes; its Asterisk runs on, orphaned
    assert await first.exit_code() == -signal.SIGKILL
    assert is_instance_process(asterisk_pid, deployment.instance)
    assert deployment.pid_file.exists(), "the crash left its pid file behind"

    # the administrator changed the config meanwhile: adoption must render and reload it
    deployment.write(capacity="7")
    second = await deployment.run()
    adopted = await second.wait_for(r"adopted Asterisk pid (\d+)")
    assert int(adopted[1]) == asterisk_pid
    await second.wait_for(r"^hotline up")
    dialplan = await cli(deployment.instance, "dialplan show 95007@hotline-public")
    assert "} > 7]" in dialplan, dialplan  # capacity 7, not the crashed run's 20
    caller = await sipp.call(deployment.workdir / "sipp", deployment.ports.sip, "95007",
                             hold_ms=1500)
    assert await caller.wait(30) == 0, caller.log()

    assert await second.stop() == 0
    assert not is_instance_process(asterisk_pid, deployment.instance), (
        "an adopted Asterisk stops with the service that adopted it"
    )
    assert not deployment.pid_file.exists()


async def test_an_asterisk_of_another_version_on_the_instance_is_refused_clearly(
    fresh: HotlineUnderTest, tmp_path: Path
) -> None:
    """The root was upgraded under a running Asterisk: the service refuses to use it."""
    running = find_running(fresh.stack.instance)  # type: ignore[arg-type]
    assert running is not None
    upgraded = AsteriskInstall(fresh.install.root, "Asterisk 99.1.0")
    config = fresh.config.model_copy(update={
        "service": fresh.config.service.model_copy(update={"data_dir": tmp_path / "data"}),
    })
    other = Hotline(config, fresh.config_path, HotlineOptions(
        instance=fresh.stack.name, install=upgraded, http=False, say=lambda _: None,
    ))
    with pytest.raises(AsteriskConflict) as refused:
        await other.start()
    message = str(refused.value)
    assert f"pid {running.pid}" in message and "not 99.1.0" in message
    assert "hotline asterisk stop" in message
    # and it left the running one alone: still the same process, still answering
    assert find_running(fresh.stack.instance) == running  # type: ignore[arg-type]
    caller = await sipp.call(fresh.call_dir("refused"), fresh.ports.sip, "95007", hold_ms=1000)
    assert await caller.wait(30) == 0, caller.log()


STRANGER = """
import signal, sys
signal.signal(signal.SIGHUP, lambda *_: print("SIGHUP", flush=True))
signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
print("ready", flush=True)
signal.pause()
signal.pause()
"""


async def test_the_pid_file_reaches_a_live_run_only_never_a_stranger(
    deployment: Deployment,
) -> None:
    stranger = await asyncio.create_subprocess_exec(
        sys.executable, "-c", STRANGER, stdout=asyncio.subprocess.PIPE
    )
    assert stranger.stdout is not None
    assert await stranger.stdout.readline() == b"ready\n"
    # a crashed run's pid file, whose number now belongs to somebody else
    deployment.pid_file.parent.mkdir(parents=True, exist_ok=True)
    deployment.pid_file.write_text(f"{stranger.pid}\n")
    code, out = await deployment.command("reload")
    assert code == 1
    assert "stale" in out and f"pid {stranger.pid}" in out and "nothing was signalled" in out
    stranger.send_signal(signal.SIGTERM)
    rest, _ = await asyncio.wait_for(stranger.communicate(), 10)
    assert b"SIGHUP" not in rest  # handlers run in signal order: a SIGHUP would show first

    # a live run holds the file locked: reload reaches it, and it reloads
    run = await deployment.run()
    try:
        await run.wait_for(r"^hotline up")
        code, out = await deployment.command("reload")
        assert code == 0 and f"pid {run.process.pid}" in out, out
        await run.wait_for(r"^configuration reloaded")
        # and a second run on the same data directory is refused, touching nothing
        second = await deployment.run()
        assert await second.exit_code() == 1
        assert f"already runs for this data directory (pid {run.process.pid}" in second.text
        assert not any(line.startswith("hotline up") for line in second.lines)
        assert deployment.pid_file.read_text().strip() == str(run.process.pid)
    finally:
        assert await run.stop() == 0


async def test_taken_ports_refuse_the_start_and_leave_nothing_running(
    deployment: Deployment,
) -> None:
    squatter = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    squatter.bind(("127.0.0.1", deployment.ports.sip))
    try:
        run = await deployment.run()
        assert await run.exit_code() == 1
    finally:
        squatter.close()
    assert f"asterisk.sip_port 127.0.0.1:{deployment.ports.sip}/udp" in run.text
    assert "not started" in run.text
    assert not any(line.startswith("hotline up") for line in run.lines)
    assert find_running(deployment.instance) is None


async def test_an_asterisk_started_on_its_own_outlives_the_service_and_its_calls(
    deployment: Deployment,
) -> None:
    deployment.write(hours='consultation = [{ days = "mon-sun", start = "00:00", end = "24:00" }]')
    code, out = await deployment.command("asterisk", "start")
    assert code == 0, out
    running = find_running(deployment.instance)
    assert running is not None and f"pid {running.pid}" in out
    code, out = await deployment.command("asterisk", "status")
    assert code == 0 and f"pid {running.pid}" in out and "hotline asterisk start" in out, out

    service = await deployment.run()
    attached = await service.wait_for(r"attached to Asterisk pid (\d+)")
    assert int(attached[1]) == running.pid
    await service.wait_for(r"^hotline up")
    # a caller in the IVR while the service goes away: Asterisk keeps the call (the SIPp
    # caller, who hangs up by itself after 8 s, would fail on any BYE from us), and the
    # service hands it to the dialplan's fallback (in hours here: the queue) as it stops
    caller = await sipp.call(deployment.workdir / "sipp", deployment.ports.sip, "95007",
                             hold_ms=8000)
    instance = deployment.instance

    async def in_stasis() -> bool:
        return "!Stasis!" in await cli(instance, "core show channels concise")

    await until(in_stasis)
    assert await service.stop() == 0
    assert find_running(instance) == running, "the service left its Asterisk running"
    # the stopping service handed its IVR caller to the dialplan's fallback
    async def out_of_stasis() -> bool:
        channels = await cli(instance, "core show channels concise")
        return "!Stasis!" not in channels and "!Queue!" in channels

    await until(out_of_stasis)
    assert await caller.wait(30) == 0, caller.log()

    code, out = await deployment.command("asterisk", "stop")
    assert code == 0 and f"Asterisk pid {running.pid} stopped" in out, out
    assert not is_instance_process(running.pid, instance)
    code, out = await deployment.command("asterisk", "status")
    assert code == 3 and "not running" in out, out


MONDAY_MORNING = "2026-11-23T10:00:00+08:00"


async def test_a_caller_stranded_in_stasis_by_a_crash_is_served_after_the_restart(
    deployment: Deployment,
) -> None:
    """kill -9 of the service while a caller is in its IVR: Asterisk keeps the caller in
    Stasis with nobody driving; the restarted service finds the call there and hands it
    to the dialplan's fallback, which queues it to an agent."""
    workdir = deployment.workdir / "sipp"
    first = await deployment.run(now=MONDAY_MORNING)
    await first.wait_for(r"^hotline up")
    agents = [
        await sipp.phone(workdir, deployment.ports.agent1, name="agent1", ring_ms=1000),
        await sipp.phone(workdir, deployment.ports.agent2, name="agent2", ring_ms=1000),
    ]
    instance = deployment.instance
    try:
        caller = await sipp.call(workdir, deployment.ports.sip, "95007", hold_ms=20_000)

        async def in_stasis() -> bool:
            return "!Stasis!" in await cli(instance, "core show channels concise")

        await until(in_stasis)
        first.send(signal.SIGKILL)
        await first.exit_code()
        assert await in_stasis(), "the crash left the caller in Stasis"

        second = await deployment.run(now=MONDAY_MORNING)
        await second.wait_for(r"adopted Asterisk pid")
        await second.wait_for(r"^hotline up")

        async def in_queue() -> bool:
            channels = await cli(instance, "core show channels concise")
            return "!Queue!" in channels and "!Stasis!" not in channels

        await until(in_queue, timeout=20)
        assert await caller.wait(60) == 0, caller.log()
        assert await second.stop() == 0
    finally:
        for agent in agents:
            await agent.stop()
    config = parse_config(deployment.config_path.read_text(), deployment.config_path)
    store = open_store(config)
    try:
        records = await store.calls(limit=10)
    finally:
        await store.close()
    assert len(records) == 1, records
    assert records[0].controller_absent and records[0].outcome is Outcome.answered_by_agent
