"""The Asterisk that already runs for an instance, if any: found by its pid file, checked
to be this instance's own (its command line names this instance's asterisk.conf, so a
stale pid file never points us at a stranger), asked its version over the instance's
control socket, and stopped when it is ours to stop.

Who started it is written beside its pid file (`run/hotline-owner`): `standalone` for
`hotline asterisk start` (it outlives the service), `service` for `hotline run` (it
stops with the service; one found running at start was orphaned by a crash).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path

from ivr.asterisk.instance import AsteriskStartError, Instance, cli

OWNER_FILE = "run/hotline-owner"
PID_FILE = "run/asterisk.pid"


class Owner(StrEnum):
    standalone = "standalone"  # `hotline asterisk start`
    service = "service"  # `hotline run`


class AsteriskConflict(AsteriskStartError):
    """An Asterisk already runs for this instance and cannot be used as it is."""


def describe_owner(owner: Owner | None) -> str:
    if owner is Owner.standalone:
        return "`hotline asterisk start`"
    if owner is Owner.service:
        return "`hotline run`"
    return "someone else (no hotline mark)"


@dataclass(frozen=True)
class RunningAsterisk:
    pid: int
    owner: Owner | None  # None: started by hand, or by a hotline that left no mark


def is_instance_process(pid: int, instance: Instance) -> bool:
    """Whether `pid` is an Asterisk running on this instance's configuration."""
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    conf = str(instance.inner / "etc/asterisk.conf").encode()
    return bool(argv) and argv[0].endswith(b"asterisk") and conf in argv


def find_running(instance: Instance) -> RunningAsterisk | None:
    try:
        pid = int((instance.host / PID_FILE).read_text().strip())
    except (OSError, ValueError):
        return None
    if not is_instance_process(pid, instance):
        return None  # a stale pid file: that number is no Asterisk of ours
    return RunningAsterisk(pid, read_owner(instance))


def read_owner(instance: Instance) -> Owner | None:
    try:
        return Owner((instance.host / OWNER_FILE).read_text().strip())
    except (OSError, ValueError):
        return None


def write_owner(instance: Instance, owner: Owner) -> None:
    (instance.host / OWNER_FILE).write_text(f"{owner.value}\n")


async def running_version(instance: Instance) -> str | None:
    """The version the running Asterisk reports over the control socket."""
    out = await cli(instance, "core show version")
    match = re.search(r"Asterisk (\d+\.\S+)", out)
    return match[1] if match else None


def version_number(version: str) -> str:
    """"Asterisk 22.10.1+dfsg-1" -> "22.10.1+dfsg-1"."""
    return version.removeprefix("Asterisk ").strip()


async def stop_running(instance: Instance, pid: int, timeout: float = 15.0) -> None:
    """Stop an Asterisk of this instance that is not our child: ask it over the control
    socket, then signal it (only ever the pid checked to be this instance's Asterisk)."""
    with contextlib.suppress(OSError):
        await asyncio.wait_for(cli(instance, "core stop now"), 5)
    if await _gone(instance, pid, timeout):
        return
    for signum in (signal.SIGTERM, signal.SIGKILL):
        if not is_instance_process(pid, instance):
            return
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signum)
        if await _gone(instance, pid, 5.0):
            return


async def _gone(instance: Instance, pid: int, timeout: float) -> bool:
    deadline = asyncio.get_running_loop().time() + timeout
    while is_instance_process(pid, instance):
        if asyncio.get_running_loop().time() > deadline:
            return False
        await asyncio.sleep(0.1)
    return True
