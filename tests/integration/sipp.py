"""SIPp as callers and staff phones. Scenarios are the jinja2 templates in sipp/;
each run renders its own copy beside its logs, so it can be rerun by hand.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import os
import shutil
import signal
import socket
from collections.abc import Iterator
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


# Ports the tests bind come from bands of their own, below the band the integration tests
# give Asterisk for RTP (20000-32699) and below the kernel's ephemeral range (32768-),
# where the kernel picks ports for outgoing connections and for bind(0): a port learnt by
# bind(0) and closed can be handed to someone else before SIPp binds it. Each process walks
# each band from its own offset and never hands a port out twice.
_SINGLE_PORTS = range(12000, 16000)
_MEDIA_BLOCKS = range(16000, 20000)
_next_single = itertools.count((os.getpid() % 64) * 61)
_next_media = itertools.count((os.getpid() % 64) * 15)


def _bindable(port: int) -> bool:
    for kind in (socket.SOCK_DGRAM, socket.SOCK_STREAM):
        with socket.socket(socket.AF_INET, kind) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                return False
    return True


def _free_block(band: range, size: int, counter: Iterator[int]) -> int:
    blocks = len(band) // size
    for _ in range(blocks):
        first = band.start + (next(counter) % blocks) * size
        if all(_bindable(port) for port in range(first, first + size)):
            return first
    raise RuntimeError(f"no {size} free ports left in {band}")


def free_port() -> int:
    """A port free for both UDP and TCP on loopback, never handed out before by this process."""
    return _free_block(_SINGLE_PORTS, 1, _next_single)


def free_media_ports() -> int:
    """The first of four free ports for SIPp's -mp: audio RTP and RTCP, video RTP and RTCP."""
    return _free_block(_MEDIA_BLOCKS, 4, _next_media)


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

    def finish(self) -> None:
        """Place no new calls; exit once the calls in progress are done (SIGUSR1)."""
        if self.process.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.process.send_signal(signal.SIGUSR1)

    def stats(self) -> dict[str, str]:
        """The last line of the run's statistics file (-trace_stat), by column."""
        path = self.workdir / f"{self.name}_stat.csv"
        lines = path.read_text(errors="replace").splitlines() if path.exists() else []
        if len(lines) < 2:
            return {}
        return dict(zip(lines[0].split(";"), lines[-1].split(";"), strict=False))

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
        "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_media_ports()),
        "-m", str(calls), "-r", str(rate), "-nostdin",
        "-trace_err", "-error_file", f"{name}_errors.log",
        "-trace_stat", "-stf", f"{name}_stat.csv", "-timeout", "300s", "-timeout_error",
        *(extra or []),
    ]
    return await _spawn(workdir, name, argv, root)


async def failover_calls(
    workdir: Path,
    sip_port: int,
    number: str,
    *,
    name: str,
    caller_prefix: str,
    calls: int,
    rate: float,
    hold_ms: int = 1500,
    answer_timeout_ms: int = 5000,
) -> SippRun:
    """`calls` calls at `rate` a second through the proxy, each from its own number
    (`caller_prefix` + SIPp's call number); each logs "ok" or "cut" (its node died
    under it) to `{name}_logs.log`."""
    scenario = render_scenario(
        workdir, name, "failover_caller.xml.j2", caller_prefix=caller_prefix,
        hold_ms=hold_ms, answer_timeout_ms=answer_timeout_ms,
    )
    argv = [
        sipp_binary(), f"127.0.0.1:{sip_port}", "-sf", scenario.name, "-s", number,
        "-i", "127.0.0.1", "-p", str(free_port()), "-mp", str(free_media_ports()),
        "-m", str(calls), "-r", str(rate), "-nostdin",
        "-trace_err", "-error_file", f"{name}_errors.log",
        "-trace_logs", "-log_file", f"{name}_logs.log",
        "-trace_stat", "-stf", f"{name}_stat.csv", "-timeout", "120s", "-timeout_error",
    ]
    return await _spawn(workdir, name, argv)


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
        "-mp", str(free_media_ports()), "-nostdin",
        "-trace_err", "-error_file", f"{name}_errors.log",
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
        "-mp", str(free_media_ports()), "-m", "1", "-nostdin", "-trace_err",
        "-error_file", f"{name}_errors.log", "-trace_msg", "-message_file", f"{name}_messages.log",
    ]
    return await _spawn(workdir, name, argv)
