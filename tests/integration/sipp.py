"""SIPp as callers and staff phones. Scenarios are the jinja2 templates in sipp/;
each run renders its own copy beside its logs, so it can be rerun by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
from dataclasses import dataclass, field
from pathlib import Path

import jinja2

HERE = Path(__file__).parent / "sipp"
PCAPS = Path("/usr/share/sip-tester")
DIGIT_NAMES = {"*": "star", "#": "pound"}
_env = jinja2.Environment(loader=jinja2.FileSystemLoader(HERE), undefined=jinja2.StrictUndefined)


def sipp_binary() -> str:
    found = shutil.which("sipp")
    if not found:
        raise RuntimeError("sipp is missing: apt-get install sip-tester")
    return found


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    """A port free for both UDP and TCP on loopback."""
    while True:
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind(("127.0.0.1", 0))
            port = int(s.getsockname()[1])
        other = socket.SOCK_STREAM if kind == socket.SOCK_DGRAM else socket.SOCK_DGRAM
        with socket.socket(socket.AF_INET, other) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port


@dataclass(frozen=True)
class Press:
    digit: str
    after_ms: int = 1500

    @property
    def name(self) -> str:
        return DIGIT_NAMES.get(self.digit, self.digit)


@dataclass
class SippRun:
    name: str
    workdir: Path
    process: asyncio.subprocess.Process
    argv: list[str] = field(default_factory=list)

    async def wait(self, timeout: float = 120.0) -> int:
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            self.process.kill()
            await self.process.wait()
            raise
        return int(self.process.returncode or 0)

    async def stop(self) -> None:
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.terminate()
            try:
                await asyncio.wait_for(self.process.wait(), 5)
            except TimeoutError:
                self.process.kill()
                await self.process.wait()

    def log(self) -> str:
        texts = []
        for path in sorted(self.workdir.glob(f"{self.name}*")):
            if path.suffix in {".log", ".out", ".csv"} or path.name.endswith("errors.log"):
                texts.append(f"== {path.name}\n{path.read_text(errors='replace')[-3000:]}")
        return "\n".join(texts)


def render_scenario(workdir: Path, name: str, template: str, **params: object) -> Path:
    workdir.mkdir(parents=True, exist_ok=True)
    path = workdir / f"{name}.xml"
    path.write_text(_env.get_template(template).render(**{"pcaps": PCAPS, **params}))
    return path


async def _spawn(
    workdir: Path, name: str, argv: list[str], root: Path | None = None
) -> SippRun:
    """Run SIPp here, or inside an Asterisk root (its SIPp 3.8 measures in microseconds;
    Debian bookworm's 3.6 rounds response times to a few milliseconds)."""
    if root is not None:
        inner = Path("/") / workdir.resolve().relative_to(root.resolve())
        argv = ["chroot", str(root), "/bin/sh", "-c",
                f"cd {inner} && exec sipp {' '.join(argv[1:])}"]
    out = open(workdir / f"{name}.out", "wb")  # noqa: SIM115
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=workdir, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out
        )
    finally:
        out.close()
    return SippRun(name, workdir, process, argv)


async def call(
    workdir: Path,
    sip_port: int,
    number: str,
    *,
    name: str = "caller",
    digits: list[Press] | None = None,
    hold_ms: int = 2000,
    audio_ms: int = 0,
    audio_after_ms: int = 0,
    remote_hangup: bool = False,
    remote_hangup_timeout_ms: int = 60_000,
    expect: int = 200,
    caller: str = "13800138000",
    calls: int = 1,
    rate: float = 1.0,
    extra: list[str] | None = None,
    root: Path | None = None,
) -> SippRun:
    """Start SIPp placing `calls` calls to `number`; await `.wait()` for its exit code."""
    scenario = render_scenario(
        workdir,
        name,
        "caller.xml.j2",
        digits=digits or [],
        hold_ms=hold_ms,
        audio_ms=audio_ms,
        audio_after_ms=audio_after_ms,
        remote_hangup=remote_hangup,
        remote_hangup_timeout_ms=remote_hangup_timeout_ms,
        expect=expect,
        caller=caller,
        caller_name="caller",
    )
    argv = [
        "sipp" if root else sipp_binary(), f"127.0.0.1:{sip_port}", "-sf", scenario.name,
        "-s", number,
        "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_port()),
        "-m", str(calls), "-r", str(rate), "-nostdin",
        "-trace_err", "-error_file", f"{name}_errors.log",
        "-trace_stat", "-stf", f"{name}_stat.csv", "-timeout", "300s", "-timeout_error",
        *(extra or []),
    ]
    return await _spawn(workdir, name, argv, root)


async def phone(
    workdir: Path,
    port: int,
    *,
    name: str,
    mode: str = "answer",
    ring_ms: int = 2000,
    talk_ms: int = 2000,
) -> SippRun:
    """A staff phone on 127.0.0.1:port that answers, never answers, is busy, or
    (`hangup`) answers and hangs up first after `talk_ms`."""
    scenario = render_scenario(
        workdir, name, "agent.xml.j2", mode=mode, ring_ms=ring_ms, talk_ms=talk_ms
    )
    argv = [
        sipp_binary(), "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port),
        "-mp", str(free_port()), "-nostdin", "-trace_err", "-error_file", f"{name}_errors.log",
    ]
    return await _spawn(workdir, name, argv)


async def carrier(
    workdir: Path, port: int, *, number: str, caller_id: str, talk_ms: int = 1000,
    name: str = "carrier",
) -> SippRun:
    """The carrier on 127.0.0.1:port: answers one INVITE for `number` from `caller_id`
    (anything else fails the run), talks, hangs up."""
    scenario = render_scenario(
        workdir, name, "carrier.xml.j2", number=number, caller_id=caller_id, talk_ms=talk_ms
    )
    argv = [
        sipp_binary(), "-sf", str(scenario), "-i", "127.0.0.1", "-p", str(port),
        "-mp", str(free_port()), "-m", "1", "-nostdin", "-trace_err",
        "-error_file", f"{name}_errors.log", "-trace_msg", "-message_file", f"{name}_messages.log",
    ]
    return await _spawn(workdir, name, argv)
