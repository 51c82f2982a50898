"""One Asterisk instance: its own directory tree, config, ports and process.

The tree lives where Asterisk can see it (inside the sandbox root when chrooted);
`host` is that tree seen from the host, `inner` as Asterisk sees it.
"""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from ivr.asterisk.sandbox import AsteriskInstall
from ivr.processes import stop_group
from ivr.secrets import basic_auth

SUBDIRS = (
    "etc", "lib", "spool", "spool/voicemail", "spool/recordings", "run", "log", "cache",
    "sounds",
)


class AsteriskStartError(RuntimeError):
    pass


@dataclass(frozen=True)
class Instance:
    install: AsteriskInstall
    host: Path

    @classmethod
    def create(cls, install: AsteriskInstall, name: str, fallback_parent: Path) -> Instance:
        host = install.instances_dir(fallback_parent) / name
        for sub in SUBDIRS:
            (host / sub).mkdir(parents=True, exist_ok=True)
        return cls(install, host)

    @classmethod
    def external(cls, directory: Path) -> Instance:
        """An Asterisk someone else runs (a container) reading the config we render into
        `directory`, which both sides see at the same path."""
        install = AsteriskInstall(Path("/"), "external")
        for sub in SUBDIRS:
            (directory / sub).mkdir(parents=True, exist_ok=True)
        return cls(install, directory)

    @property
    def inner(self) -> Path:
        return self.install.inner_path(self.host)

    @property
    def etc(self) -> Path:
        return self.host / "etc"

    @property
    def sounds(self) -> Path:
        return self.host / "sounds"

    @property
    def voicemail(self) -> Path:
        return self.host / "spool/voicemail"

    @property
    def recordings(self) -> Path:
        """Recorded calls (MixMonitor), one `<linkedid>.wav` a call."""
        return self.host / "spool/recordings"

    @property
    def cel_log(self) -> Path:
        """Asterisk's own record of its calls (CEL, one JSON object a line)."""
        return self.host / "log/hotline-cel.json"

    @property
    def queue_log(self) -> Path:
        """app_queue's own record of its queue calls."""
        return self.host / "log/queue_log"

    def to_inner(self, host_path: Path) -> Path:
        return self.install.inner_path(host_path)

    def to_host(self, inner_path: Path) -> Path:
        return self.install.host_path(inner_path)

    def command(self, *args: str) -> list[str]:
        return self.install.command("-C", str(self.inner / "etc/asterisk.conf"), *args)


class AsteriskProcess:
    """Starts Asterisk in the foreground as our child and stops it with us."""

    def __init__(self, instance: Instance) -> None:
        self.instance = instance
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        console = open(self.instance.host / "log/console.log", "ab")  # noqa: SIM115
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.instance.command("-f", "-n"),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=console,
                stderr=console,
                start_new_session=True,
            )
        finally:
            console.close()

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    async def wait_ready(
        self, ari_url: str, user: str, password: str, timeout: float = 60.0
    ) -> None:
        """Until ARI answers (and so the HTTP server and modules are loaded)."""

        def exited() -> str | None:
            if self.process and self.process.returncode is not None:
                return (f"Asterisk exited with {self.process.returncode}; see "
                        f"{self.instance.host / 'log'}")
            return None

        await wait_for_ari(ari_url, user, password, timeout, exited)

    async def cli(self, command: str) -> str:
        return await cli(self.instance, command)

    async def stop(self, timeout: float = 10.0) -> None:
        await stop_group(self.process, timeout)


def start_detached(instance: Instance) -> subprocess.Popen[bytes]:
    """Start Asterisk in its own session, not tied to this process: it keeps running
    when we exit (`hotline asterisk start`)."""
    with open(instance.host / "log/console.log", "ab") as console:
        return subprocess.Popen(
            instance.command("-f", "-n"),
            stdin=subprocess.DEVNULL,
            stdout=console,
            stderr=console,
            start_new_session=True,
        )


async def cli(instance: Instance, command: str, timeout: float = 60.0) -> str:
    """Run an Asterisk CLI command through the instance's control socket.

    An Asterisk that accepts the connection and never answers (stuck in a shutdown)
    would hold the caller forever: after `timeout` the client is killed and
    TimeoutError raised."""
    proc = await asyncio.create_subprocess_exec(
        *instance.command("-rx", command),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        out, _ = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        raise TimeoutError(
            f"Asterisk gave no answer to {command!r} in {timeout:g} s "
            f"(control socket {instance.host})"
        ) from None
    return out.decode(errors="replace")


async def wait_for_ari(
    ari_url: str,
    user: str,
    password: str,
    timeout: float,
    gave_up: Callable[[], str | None] = lambda: None,
) -> None:
    """Until ARI answers; `gave_up` may say why waiting is pointless (Asterisk died)."""
    deadline = asyncio.get_running_loop().time() + timeout
    headers = {"Authorization": basic_auth(user, password)}
    async with aiohttp.ClientSession(headers=headers) as session:
        while True:
            reason = gave_up()
            if reason:
                raise AsteriskStartError(reason)
            with contextlib.suppress(aiohttp.ClientError, OSError):
                async with session.get(f"{ari_url}/ari/asterisk/ping") as response:
                    if response.status == 200:
                        return
            if asyncio.get_running_loop().time() > deadline:
                raise AsteriskStartError(f"ARI at {ari_url} did not answer in {timeout:.0f} s")
            await asyncio.sleep(0.2)
