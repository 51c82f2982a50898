"""`hotline asterisk start|stop|status`: Asterisk on its own, for production.

Started this way, Asterisk outlives the service: `hotline run` attaches to it (renders
and reloads its config) and leaves it running when it stops, so the service can be
restarted or upgraded without touching a live call. Each command returns its text and
raises `AsteriskCommandError` (a message for the operator) when it cannot do its job.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from pathlib import Path

from ivr.app import AsteriskStack, instance_name
from ivr.asterisk.instance import Instance, cli
from ivr.asterisk.running import (
    Owner,
    describe_owner,
    find_running,
    running_version,
    stop_running,
)
from ivr.asterisk.sandbox import provision
from ivr.config import HotlineConfig
from ivr.pidfile import PID_NAME, NotRunning, locked_pid


class AsteriskCommandError(RuntimeError):
    pass


@dataclass(frozen=True)
class Status:
    running: bool
    text: str


async def start(config: HotlineConfig, config_path: Path) -> str:
    stack = AsteriskStack(config, config_path)
    running = await stack.start_standalone()
    assert stack.install is not None and stack.instance is not None
    return (f"Asterisk up (pid {running.pid}, {stack.install.version}), on its own: "
            f"`hotline run` attaches to it and leaves it running\n"
            f"  config {stack.instance.etc}")


async def stop(config: HotlineConfig) -> str:
    instance = await _instance(config)
    running = find_running(instance)
    if running is None:
        return f"no Asterisk runs for this instance ({instance.host})"
    service = _service_pid(config)
    if running.owner is Owner.service and service is not None:
        raise AsteriskCommandError(
            f"Asterisk pid {running.pid} belongs to the running `hotline run` (pid "
            f"{service}): stop that (Ctrl-C or SIGTERM) and it stops its Asterisk"
        )
    await stop_running(instance, running.pid)
    note = f"; the service (pid {service}) is now without Asterisk" if service else ""
    return f"Asterisk pid {running.pid} stopped (live calls on it were ended){note}"


async def status(config: HotlineConfig) -> Status:
    instance = await _instance(config)
    running = find_running(instance)
    service = _service_pid(config)
    service_line = (f"  service: `hotline run` pid {service}" if service
                    else "  service: not running")
    if running is None:
        return Status(False, f"Asterisk: not running ({instance.host})\n{service_line}")
    version = await running_version(instance)
    uptime = await cli(instance, "core show uptime seconds")
    calls = await cli(instance, "core show channels count")
    up = re.search(r"System uptime:\s*(\d+)", uptime)
    active = re.search(r"(\d+) active call", calls)
    lines = [
        f"Asterisk: running, pid {running.pid}, started by {describe_owner(running.owner)}",
        f"  version {version or '?'}",
        f"  up {up[1] if up else '?'} s, {active[1] if active else '?'} active call(s)",
        f"  instance {instance.host}",
        service_line,
    ]
    return Status(True, "\n".join(lines))


async def _instance(config: HotlineConfig) -> Instance:
    install = await asyncio.to_thread(provision, say=lambda _: None)
    return Instance.create(install, instance_name(config.service.data_dir),
                           config.service.data_dir)


def _service_pid(config: HotlineConfig) -> int | None:
    try:
        return locked_pid(config.service.data_dir / PID_NAME)
    except NotRunning:
        return None
