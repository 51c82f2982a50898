"""Kamailio as the hotline's child process: Debian's binary, our config, our runtime
directory and pid file, in the foreground (`-DD -E`), stopped with the hotline.

Debian's package also ships a system service on port 5060; `scripts/setup.sh` keeps it
disabled, and this process never touches it (its own config, runtime dir and port)."""

from __future__ import annotations

import asyncio
import shutil
import socket
import uuid
from pathlib import Path

from ivr.config import HotlineConfig
from ivr.processes import stop_group
from ivr.proxy.render import ProxyFiles, render_proxy


class ProxyStartError(RuntimeError):
    pass


def kamailio_binary() -> str:
    found = shutil.which("kamailio") or (
        "/usr/sbin/kamailio" if Path("/usr/sbin/kamailio").exists() else None
    )
    if not found:
        raise ProxyStartError("kamailio is missing: apt-get install kamailio (scripts/setup.sh)")
    return found


EXTERNAL_WAIT = 300.0


class KamailioProcess:
    """Our Kamailio child; or, `external`, one someone else runs (a container) on the
    config we render into `files`: then we render it and wait for it to answer."""

    def __init__(self, config: HotlineConfig, files: ProxyFiles, external: bool = False) -> None:
        self.config = config
        self.files = files
        self.external = external
        self.process: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def argv(self) -> list[str]:
        f = self.files
        return [
            kamailio_binary(), "-f", str(f.config), "-DD", "-E",
            "-Y", str(f.run), "-P", str(f.pid_file),
        ]

    async def check(self) -> None:
        """Kamailio's own check of the rendered config (`-c`), before it replaces one."""
        proc = await asyncio.create_subprocess_exec(
            kamailio_binary(), "-c", "-f", str(self.files.config), "-Y", str(self.files.run),
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT,
        )
        out, _ = await proc.communicate()
        if proc.returncode != 0:
            tail = out.decode(errors="replace").strip().splitlines()[-10:]
            raise ProxyStartError("kamailio rejects its config:\n" + "\n".join(tail))

    async def start(self, timeout: float = 15.0) -> None:
        render_proxy(self.config, self.files)
        if self.external:
            await self.wait_ready(EXTERNAL_WAIT)
            return
        await self.check()
        log = open(self.files.log, "ab")  # noqa: SIM115
        try:
            self.process = await asyncio.create_subprocess_exec(
                *self.argv(),
                stdin=asyncio.subprocess.DEVNULL, stdout=log, stderr=log,
                start_new_session=True,
            )
        finally:
            log.close()
        try:
            await self.wait_ready(timeout)
        except BaseException:
            await self.stop()
            raise

    async def wait_ready(self, timeout: float) -> None:
        """Until the proxy answers an OPTIONS on its SIP port."""
        proxy = self.config.proxy
        deadline = asyncio.get_running_loop().time() + timeout
        while True:
            if self.process is not None and self.process.returncode is not None:
                raise ProxyStartError(
                    f"kamailio exited with {self.process.returncode}; see {self.files.log}"
                )
            if await asyncio.to_thread(sip_ping, proxy.bind, proxy.sip_port):
                return
            if asyncio.get_running_loop().time() > deadline:
                raise ProxyStartError(
                    f"kamailio did not answer on {proxy.bind}:{proxy.sip_port} in {timeout:.0f} s"
                )
            await asyncio.sleep(0.1)

    async def stop(self, timeout: float = 10.0) -> None:
        await stop_group(self.process, timeout)


def sip_ping(host: str, port: int, timeout: float = 0.5) -> bool:
    """Whether a SIP OPTIONS to host:port gets a 200 (the proxy's own readiness)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.bind((host, 0))
        local_port = sock.getsockname()[1]
        call_id = uuid.uuid4().hex
        where = f"[{host}]" if ":" in host else host
        request = (
            f"OPTIONS sip:{where}:{port} SIP/2.0\r\n"
            f"Via: SIP/2.0/UDP {where}:{local_port};branch=z9hG4bK{call_id[:16]};rport\r\n"
            "Max-Forwards: 70\r\n"
            f"From: <sip:hotline@{where}>;tag={call_id[:8]}\r\n"
            f"To: <sip:{where}:{port}>\r\n"
            f"Call-ID: {call_id}\r\n"
            "CSeq: 1 OPTIONS\r\n"
            "Content-Length: 0\r\n\r\n"
        )
        try:
            sock.sendto(request.encode(), (host, port))
            reply, _ = sock.recvfrom(4096)
        except OSError:
            return False
    return reply.startswith(b"SIP/2.0 200")
