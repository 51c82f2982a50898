"""The fault suite's steady mix of real calls, the faults thrown at the hotline while it
runs, and the comparison of SIPp's own truth with the journal, call by call.

Used by `tests/faults/test_fault_mix.py` (a short run in the default suite) and by
`bench/faults.py` (the long run). The hotline is the real `hotline run` command (so a
SIGKILL kills what production runs), on a real Asterisk, with SIPp as callers and as
staff phones:

- callers of five kinds, each kind one SIPp process at its share of the rate, each call
  from its own number (`9<kind><wave>9<call number>`): `agent` presses 0, `abandon`
  presses 0 and hangs up 3 s after the answer, `emergency` presses 1, `vm_spoken` speaks
  (g711a.pcap, twice) from the answer on, `vm_silent` sends no sound. Consultation hours
  alternate by the minute, so the same kinds meet the menu and the queue in hours and
  the off-hours prompt, voicemail and the night on-call chain outside them;
- agents answering after 1 to 19 s (one SIPp phone per ring time, several agent
  endpoints on each) and the night on-call phone answering after 3 s.

Every SIPp logs each step with its time (`-trace_logs`): a caller, when it was placed,
answered and hung up (by whom); a phone, which caller (From) rang which endpoint (To),
when it answered or was cancelled. That is the truth the journal is judged against.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import math
import os
import re
import shutil
import signal
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

import jinja2

from ivr.app import instance_name
from ivr.asterisk.instance import Instance, cli
from ivr.asterisk.running import find_running
from ivr.asterisk.sandbox import AsteriskInstall
from ivr.config import parse_config
from ivr.domain.record import CallRecord, Outcome
from ivr.durable.reconcile import CEL_CHECKPOINT
from ivr.journal.service import open_store
from tests.integration.cli_process import CliProcess
from tests.integration.harness import Ports, until
from tests.integration.sipp import PCAPS, free_media_ports, free_port, sipp_binary

HERE = Path(__file__).parent
_env = jinja2.Environment(
    loader=jinja2.FileSystemLoader([HERE, HERE / "sipp"]), undefined=jinja2.StrictUndefined
)
AGENT_RING_MS = (1000, 4000, 7000, 11000, 15000, 19000)  # "answering after 1-20 s"
ONCALL_RING_MS = 3000
CADENCE = 5.0  # the config's ring cadence
# A call is routed by the hours of the moment it is routed: its menu key a few seconds
# after the answer, or, when the service died under it, when the restarted service
# hands it to the dialplan's fallback. Placed this close before a boundary (or just
# after one), it may meet either side.
PHASE_BEFORE, PHASE_AFTER = 3.0, 14.0
SPEECH_SECONDS = 6.8  # one play of g711a.pcap


@dataclass(frozen=True)
class CallKind:
    name: str
    code: int  # the second digit of its callers' numbers
    share: float
    hold_ms: int  # the caller hangs up this long after the answer (unless the hotline first)
    digit: str = ""
    speak: int = 0  # plays of g711a.pcap from the answer on


KINDS = (
    CallKind("agent", 1, 0.35, 20_000, digit="0"),
    CallKind("abandon", 2, 0.15, 3_000, digit="0"),
    CallKind("emergency", 3, 0.20, 16_000, digit="1"),
    CallKind("vm_spoken", 4, 0.15, 20_000, speak=2),
    CallKind("vm_silent", 5, 0.15, 20_000),
)
KIND_BY_CODE = {kind.code: kind for kind in KINDS}


@dataclass
class Agent:
    name: str
    endpoint: str
    port: int


@dataclass
class SippProcess:
    name: str
    log_file: Path
    process: asyncio.subprocess.Process
    calls: int = 0  # a caller: how many it places

    def placed(self) -> int:
        return sum(1 for word, _, _ in _log_lines(self.log_file) if word == "placed")

    async def wait(self, timeout: float) -> int:
        try:
            await asyncio.wait_for(self.process.wait(), timeout)
        except TimeoutError:
            await self.stop()
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


async def _sipp(workdir: Path, process_name: str, template: str, argv: list[str],
                **params: Any) -> SippProcess:
    name = process_name
    scenario = workdir / f"{name}.xml"
    scenario.write_text(_env.get_template(template).render(pcaps=PCAPS, **params))
    log_file = workdir / f"{name}.log"
    out = open(workdir / f"{name}.out", "wb")  # noqa: SIM115
    try:
        process = await asyncio.create_subprocess_exec(
            sipp_binary(), *argv, "-sf", scenario.name, "-nostdin",
            "-trace_logs", "-log_file", log_file.name,
            "-trace_err", "-error_file", f"{name}_errors.log",
            cwd=workdir, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out,
        )
    finally:
        out.close()
    return SippProcess(name, log_file, process)


@dataclass
class FaultRecord:
    name: str
    at: float  # seconds since the first call
    seconds: float  # how long the fault (and the recovery the run waited for) took
    detail: str = ""


@dataclass
class MixRun:
    """One hotline under `hotline run`, its phones, its callers, its faults."""

    install: AsteriskInstall
    workdir: Path
    database_url: str = ""
    agents_per_ring_time: int = 6
    capacity: int = 400
    reconcile_seconds: float = 5.0
    rtp_ports: int = 1200  # two per channel: callers, agent and on-call legs
    ports: Ports = field(default_factory=Ports)
    config_path: Path = field(init=False)
    service: CliProcess | None = None
    phones: list[SippProcess] = field(default_factory=list)
    callers: list[SippProcess] = field(default_factory=list)
    faults: list[FaultRecord] = field(default_factory=list)
    started: float = 0.0  # monotonic: the first call
    stuck: list[str] = field(default_factory=list)  # what kept the run from going on
    services_started: int = 0

    def __post_init__(self) -> None:
        self.config_path = self.workdir / "hotline.toml"
        # a block of its own, away from the integration tests' (20000-39999)
        self.rtp_start = 40000 + (self.ports.sip % 8) * 2500
        self.sipp_dir = self.workdir / "sipp"
        self.sipp_dir.mkdir(parents=True, exist_ok=True)
        self.agent_ports = [free_port() for _ in AGENT_RING_MS]
        self.agents = [
            Agent(f"agent {g}-{n}", f"a{g}x{n}", port)
            for g, port in enumerate(self.agent_ports)
            for n in range(self.agents_per_ring_time)
        ]
        self.config_path.write_text(_env.get_template("hotline.faults.toml.j2").render(
            sip_port=self.ports.sip, http_port=self.ports.http, ami_port=self.ports.ami,
            rtp_start=self.rtp_start, rtp_end=self.rtp_start + self.rtp_ports - 1,
            service_port=self.ports.service, fastagi_port=self.ports.fastagi,
            data_dir=self.data_dir, database_url=self.database_url, capacity=self.capacity,
            reconcile_seconds=self.reconcile_seconds,
            agents=self.agents, oncall_port=self.ports.oncall1,
        ))

    @property
    def data_dir(self) -> Path:
        return self.workdir / "data"

    @property
    def instance(self) -> Instance:
        return Instance.create(self.install, instance_name(self.data_dir), self.data_dir)

    # -- the service and the phones -----------------------------------------------------

    async def start(self) -> None:
        await self.start_service()
        for ring_ms, port in zip(AGENT_RING_MS, self.agent_ports, strict=True):
            self.phones.append(await _sipp(
                self.sipp_dir, f"agents-{ring_ms}", "mix_phone.xml.j2",
                ["-i", "127.0.0.1", "-p", str(port), "-mp", str(free_media_ports())],
                name=f"agents ringing {ring_ms} ms", ring_ms=ring_ms,
            ))
        self.phones.append(await _sipp(
            self.sipp_dir, "oncall", "mix_phone.xml.j2",
            ["-i", "127.0.0.1", "-p", str(self.ports.oncall1), "-mp", str(free_media_ports())],
            name="night on-call", ring_ms=ONCALL_RING_MS,
        ))

    async def start_service(self) -> None:
        if self.service is not None:
            self._keep_output(self.service)
        self.service = await CliProcess.start("run", "-c", str(self.config_path))
        await self.service.wait_for(r"^hotline up", timeout=120)
        self.services_started += 1

    def _keep_output(self, service: CliProcess) -> None:
        """What a `hotline run` said, beside the SIPp logs."""
        (self.sipp_dir / f"service-{self.services_started}.log").write_text(service.text)

    async def stop(self) -> None:
        for process in [*self.callers, *self.phones]:
            await process.stop()
        if self.service is not None and self.service.process.returncode is None:
            await self.service.stop()
        if self.service is not None:
            self._keep_output(self.service)
        left = find_running(self.instance)
        if left is not None:
            os.kill(left.pid, signal.SIGKILL)
        if not os.environ.get("HOTLINE_KEEP"):
            shutil.rmtree(self.instance.host, ignore_errors=True)

    # -- callers --------------------------------------------------------------------------

    async def wave(self, wave: int, rate: float, seconds: float) -> list[SippProcess]:
        """Start placing `rate` calls/s for `seconds`, shared among the kinds."""
        if not self.started:
            self.started = time.monotonic()
        started = []
        for kind in KINDS:
            count = max(1, round(rate * kind.share * seconds))
            per_10s = max(1, round(rate * kind.share * 10))
            prefix = f"9{kind.code}{wave}9"
            for _ in range(3):  # a port taken between free_port() and SIPp's bind
                caller = await _sipp(
                    self.sipp_dir, f"w{wave}-{kind.name}", "mix_caller.xml.j2",
                    [f"127.0.0.1:{self.ports.sip}", "-s", "95007", "-i", "127.0.0.1",
                     "-p", str(free_port()), "-mp", str(free_media_ports()),
                     "-m", str(count), "-r", str(per_10s), "-rp", "10000",
                     "-l", str(max(100, count))],
                    kind=kind.name, prefix=prefix, digit=kind.digit, digit_after_ms=1500,
                    speak=kind.speak,
                    rest_ms=max(kind.hold_ms - 1500 * bool(kind.digit)
                                - int(kind.speak * SPEECH_SECONDS * 1000), 500),
                    hold_ms=kind.hold_ms,
                )
                await asyncio.sleep(0.3)
                if caller.process.returncode is None or caller.placed():
                    break
            caller.calls = count
            started.append(caller)
        self.callers.extend(started)
        return started

    async def finish(self, callers: list[SippProcess], timeout: float = 180.0) -> None:
        await asyncio.gather(*(caller.wait(timeout) for caller in callers))

    @property
    def planned(self) -> int:
        """The calls the callers were told to place."""
        return sum(caller.calls for caller in self.callers)

    def at(self) -> float:
        return time.monotonic() - self.started if self.started else 0.0

    # -- faults ---------------------------------------------------------------------------

    async def fault(self, name: str, action: Callable[[], Awaitable[str]]) -> None:
        at, began = self.at(), time.monotonic()
        detail = await action()
        self.faults.append(FaultRecord(name, round(at, 1), round(time.monotonic() - began, 2),
                                       detail))

    async def kill_service(self) -> str:
        """SIGKILL of `hotline run` (its Asterisk and calls run on), then a restart,
        which adopts that Asterisk."""
        assert self.service is not None
        self.service.send(signal.SIGKILL)
        await self.service.exit_code()
        await self.start_service()
        adopted = "adopted" in self.service.text
        return "restarted, adopted the running Asterisk" if adopted else "restarted"

    async def drop_ami(self) -> str:
        return await _kill_connections(self.ports.ami)

    async def drop_ari(self) -> str:
        return await _kill_connections(self.ports.http)

    async def sqlite_unwritable(self, seconds: float) -> str:
        """The journal's SQLite files made immutable (root ignores file modes), then
        writable again."""
        files = [p for p in self.data_dir.glob("journal.sqlite3*") if p.is_file()
                 and not p.name.endswith("-shm")]
        await _run("chattr", "+i", *map(str, files))
        try:
            await asyncio.sleep(seconds)
        finally:
            await _run("chattr", "-i", *map(str, files))
        return f"{len(files)} files immutable for {seconds:.0f} s"

    async def postgresql_away(self, seconds: float) -> str:
        """The journal's database refuses connections and its sessions are ended, then it
        takes connections again (the shared server itself keeps running)."""
        import asyncpg

        database = self.database_url.rsplit("/", 1)[1]
        admin = await asyncpg.connect(_admin_dsn(self.database_url))
        try:
            await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS false')
            ended = await admin.fetchval(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = $1 AND pid <> pg_backend_pid()", database)
            await asyncio.sleep(seconds)
        finally:
            await admin.execute(f'ALTER DATABASE "{database}" WITH ALLOW_CONNECTIONS true')
            await admin.close()
        return f"{ended} sessions ended, connections refused for {seconds:.0f} s"

    async def restart_asterisk(self, drain_timeout: float = 100.0) -> str:
        """`core restart gracefully`: Asterisk takes no new call, lets those in progress
        end, restarts; the run waits until the service is connected to the new one.

        No caller of the mix holds longer than 20 s: calls that have not drained after
        `drain_timeout` are stuck (a caller left with nobody driving the call). Each step
        has its own bound and the bounds add up to less than FAULT_TIMEOUT, so a step
        that does not finish is named in `run.stuck`, with what Asterisk was doing,
        instead of the whole fault timing out."""
        instance = self.instance
        before = _uptime(await cli(instance, "core show uptime seconds", timeout=30))
        began = time.monotonic()
        try:  # returns once the calls drained and Asterisk closed the control socket
            await cli(instance, "core restart gracefully", timeout=drain_timeout)
        except TimeoutError:
            self.stuck.append(f"not drained in {drain_timeout:.0f} s:\n"
                              f"{await self._asterisk_state()}")
            with contextlib.suppress(TimeoutError):
                await cli(instance, "core restart now", timeout=30)
        drained = time.monotonic() - began
        if not await self._asterisk_restarted(before, timeout=60):
            self.stuck.append(f"Asterisk not back 60 s after the drain ({drained:.1f} s):\n"
                              f"{await self._asterisk_state()}")
            return f"calls drained in {drained:.1f} s; Asterisk not back"
        problem = await self._wait_service_connected(timeout=90)
        if problem:
            self.stuck.append(f"after the restart the service {problem}")
            return f"calls drained in {drained:.1f} s; the service {problem}"
        return (f"calls drained in {drained:.1f} s; Asterisk back and the service "
                f"reconnected {time.monotonic() - began - drained:.1f} s later")

    async def _asterisk_restarted(self, before: int, timeout: float) -> bool:
        """Until Asterisk answers with an uptime below `before` (a new process image)."""

        async def restarted() -> bool:
            with contextlib.suppress(TimeoutError):  # the old one dying, the new starting
                return _uptime(await cli(self.instance, "core show uptime seconds",
                                         timeout=5)) < before
            return False

        try:
            await until(restarted, timeout)
        except AssertionError:
            return False
        return True

    async def _asterisk_state(self) -> str:
        """What the instance's Asterisk is doing: its channels if it answers, else its
        process state and threads' wait channels, and the end of its log."""
        lines: list[str] = []
        try:
            lines.append(await cli(self.instance, "core show channels concise", timeout=5))
        except TimeoutError as error:
            lines.append(str(error))
        running = find_running(self.instance)
        if running is None:
            lines.append("no Asterisk process for this instance")
        else:
            proc = Path(f"/proc/{running.pid}")
            with contextlib.suppress(OSError):
                state = [line for line in (proc / "status").read_text().splitlines()
                         if line.startswith(("State", "Threads"))]
                waits = Counter((task / "wchan").read_text()
                                for task in (proc / "task").iterdir())
                lines.append(f"pid {running.pid}: {'; '.join(state)}; threads wait in "
                             f"{dict(waits)}")
        with contextlib.suppress(OSError):
            log = (self.instance.host / "log/messages.log").read_text(errors="replace")
            lines.append("messages.log ends:\n" + "\n".join(log.splitlines()[-40:]))
        return "\n".join(lines)

    async def _wait_service_connected(self, timeout: float) -> str:
        """Until the service's health says it is ready (ARI and AMI connected, the
        database takes writes); "" then, else what it said last."""
        import aiohttp

        url = f"http://127.0.0.1:{self.ports.service}/health/ready"
        deadline = time.monotonic() + timeout
        said = "no answer"
        async with aiohttp.ClientSession() as session:
            while time.monotonic() < deadline:
                with contextlib.suppress(aiohttp.ClientError, OSError):
                    async with session.get(url) as response:
                        if response.status == 200:
                            return ""
                        said = await response.text()
                await asyncio.sleep(0.5)
        return f"not ready after {timeout:.0f} s: {said[:300]}"

    # -- the truth and the journal --------------------------------------------------------

    def truth(self) -> dict[str, PlacedCall]:
        calls: dict[str, PlacedCall] = {}
        for caller in self.callers:
            wave, kind = caller.name[1:].split("-", 1)
            code = next(k.code for k in KINDS if k.name == kind)
            for word, number, at in _log_lines(caller.log_file):
                full = f"9{code}{wave}9{number.split()[-1]}"
                call = calls.setdefault(full, PlacedCall(full, KIND_BY_CODE[code]))
                if word == "placed":
                    call.placed_at = at
                elif word == "answered":
                    call.answered_at = at
                elif word == "ended":
                    call.ended_at = at
                    call.ended_by = number.split()[0]
        for phone in self.phones:
            role = "oncall" if phone.name == "oncall" else "agent"
            for word, rest, at in _log_lines(phone.log_file):
                caller_number = rest.split()[0]
                rung = calls.get(caller_number)
                if rung is None:
                    continue
                call = rung
                if word == "rang":
                    endpoint = rest.split()[1] if len(rest.split()) > 1 else ""
                    call.legs.append(Leg(role, endpoint, at))
                elif word in {"answered", "cancelled"}:
                    leg = next((leg for leg in call.legs if leg.role == role
                                and leg.answered_at is None and leg.cancelled_at is None),
                               None)
                    if leg is not None:
                        if word == "answered":
                            leg.answered_at = at
                        else:
                            leg.cancelled_at = at
                elif word == "ended":
                    leg = next((leg for leg in call.legs if leg.answered_at is not None
                                and leg.ended_at is None), None)
                    if leg is not None:
                        leg.ended_at = at
        return calls

    async def records(self) -> list[CallRecord]:
        store = open_store(parse_config(self.config_path.read_text(), self.config_path))
        try:
            return await store.calls(limit=1_000_000)
        finally:
            await store.close()


@dataclass
class Leg:
    role: str  # agent | oncall
    endpoint: str
    rang_at: float
    answered_at: float | None = None
    cancelled_at: float | None = None
    ended_at: float | None = None

    @property
    def talked(self) -> bool:
        """Answered, and talked: the BYE came at least half a second later. An answer
        that crossed the caller's leaving (a CANCEL after the 200 OK: SIPp aborts that
        leg, no BYE) or was torn down at once is either outcome."""
        if self.answered_at is None or self.ended_at is None:
            return False
        return self.ended_at - self.answered_at >= 0.5

    @property
    def ring_seconds(self) -> float | None:
        return None if self.answered_at is None else self.answered_at - self.rang_at


@dataclass
class PlacedCall:
    number: str
    kind: CallKind
    placed_at: float | None = None
    answered_at: float | None = None
    ended_at: float | None = None
    ended_by: str = ""
    legs: list[Leg] = field(default_factory=list)

    @property
    def person(self) -> Leg | None:
        return next((leg for leg in self.legs if leg.talked), None)

    @property
    def ambiguous_person(self) -> bool:
        """A phone answered just as the caller left: either outcome is right."""
        return any(leg.answered_at is not None and not leg.talked for leg in self.legs)

    def phases(self) -> set[bool]:
        """In consultation hours when placed (even minutes): {True}, {False}, or both
        near a boundary."""
        if self.placed_at is None:
            return {True, False}
        return {_open_at(self.placed_at + d) for d in (-PHASE_BEFORE, 0.0, PHASE_AFTER)}

    def expected(self) -> set[Outcome]:
        person = self.person
        if person is not None:
            return {Outcome.answered_by_agent if person.role == "agent"
                    else Outcome.answered_by_oncall}
        outcomes: set[Outcome] = set()
        if self.ambiguous_person:
            outcomes |= {Outcome.answered_by_agent, Outcome.answered_by_oncall}
        for open_ in self.phases():
            if open_:
                outcomes.add(Outcome.abandoned)
            elif self.kind.name == "abandon":  # 0 at the off-hours prompt: voicemail's
                # prompt; the caller leaves about when the beep comes, before or after it
                outcomes |= {Outcome.abandoned, Outcome.voicemail}
            elif self.kind.name != "emergency":
                outcomes.add(Outcome.voicemail)
            else:  # nobody on call answered: urgent voicemail, or left while it rang
                outcomes |= {Outcome.voicemail, Outcome.abandoned}
        return outcomes


def _open_at(epoch: float) -> bool:
    # Asia/Shanghai is a whole number of hours from UTC: the minute's parity is the same
    return datetime.fromtimestamp(epoch, UTC).minute % 2 == 0


def _uptime(out: str) -> int:
    match = re.search(r"System uptime: (\d+)", out)
    return int(match[1]) if match else 1 << 30


_LINE = re.compile(r"^(placed|answered|ended|rang|cancelled) (.+?) (\S+)\s+(\S+)\s+(\S+)\s*$")


def _log_lines(path: Path) -> list[tuple[str, str, float]]:
    """(word, the rest, epoch seconds) of each step a SIPp logged; [timestamp] is
    `date<TAB>time<TAB>epoch.micro`."""
    out: list[tuple[str, str, float]] = []
    try:
        text = path.read_text(errors="replace")
    except FileNotFoundError:
        return out
    for line in text.splitlines():
        match = _LINE.match(line)
        if match:
            with contextlib.suppress(ValueError):
                out.append((match[1], match[2], float(match[5])))
    return out


async def _run(*argv: str) -> str:
    process = await asyncio.create_subprocess_exec(
        *argv, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await process.communicate()
    if process.returncode:
        raise RuntimeError(f"{argv[0]} failed ({process.returncode}): {out.decode()}")
    return out.decode()


async def _kill_connections(port: int) -> str:
    """Abort the established TCP connections to `port` (the service's side: it sees
    them reset, as when a network path or Asterisk's module drops them)."""
    out = await _run("ss", "-K", "-t", "state", "established", "dport", "=", f":{port}")
    killed = max(len(out.strip().splitlines()) - 1, 0)
    return f"{killed} connections to port {port} aborted"


def _admin_dsn(url: str) -> str:
    base = url.replace("postgresql+asyncpg://", "postgresql://")
    return base.rsplit("/", 1)[0] + "/postgres"


async def create_database(url: str) -> str:
    """A database of its own for one run, on the server `url` names: its URL."""
    import asyncpg

    name = f"hotline_faults_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(_admin_dsn(url))
    try:
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    return url.rsplit("/", 1)[0] + "/" + name


async def drop_database(url: str) -> None:
    import asyncpg

    name = url.rsplit("/", 1)[1]
    admin = await asyncpg.connect(_admin_dsn(url))
    try:
        await admin.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1", name)
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
    finally:
        await admin.close()


# -- the comparison -------------------------------------------------------------------


@dataclass
class Figures:
    placed: int = 0
    answered: int = 0  # by anyone: the hotline answered the caller's INVITE
    unanswered: int = 0
    answered_by_person: int = 0  # by SIPp's phones
    journaled: int = 0  # placed calls with a record
    lost: int = 0  # answered, and no record
    duplicated: int = 0  # more than one record for one call
    in_progress: int = 0  # a record without an outcome
    outcome_mismatch: int = 0
    ring_mismatch: int = 0
    empty_flag_mismatch: int = 0
    from_durable_record: int = 0  # records the journal completed from Asterisk's record
    controller_absent: int = 0  # records routed by the dialplan alone
    outcomes: dict[str, int] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        return not (self.unanswered or self.lost or self.duplicated or self.in_progress
                    or self.outcome_mismatch or self.ring_mismatch
                    or self.empty_flag_mismatch)

    def as_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in self.__dict__.items() if k != "problems"}
        return {**data, "problems": self.problems[:30]}


def compare(truth: dict[str, PlacedCall], records: list[CallRecord],
            durable: set[str] | None = None) -> Figures:
    by_caller: dict[str, list[CallRecord]] = defaultdict(list)
    for record in records:
        by_caller[record.caller].append(record)
    f = Figures()
    outcomes: dict[str, int] = defaultdict(int)

    def problem(call: PlacedCall, text: str) -> None:
        f.problems.append(f"{call.number} ({call.kind.name}): {text}")

    for number, call in sorted(truth.items()):
        if call.placed_at is None:
            continue
        f.placed += 1
        mine = by_caller.get(number, [])
        if call.answered_at is None:
            f.unanswered += 1
            problem(call, "not answered")
        else:
            f.answered += 1
        if call.person is not None:
            f.answered_by_person += 1
        if mine:
            f.journaled += 1
        elif call.answered_at is not None:
            f.lost += 1
            problem(call, "answered, not in the journal")
            continue
        if len(mine) > 1:
            f.duplicated += 1
            problem(call, f"{len(mine)} records")
        if not mine:
            continue
        record = mine[0]
        f.controller_absent += record.controller_absent
        f.from_durable_record += bool(durable and record.linkedid in durable)
        if record.outcome is None:
            f.in_progress += 1
            problem(call, "still in progress in the journal")
            continue
        outcomes[record.outcome.value] += 1
        expected = call.expected()
        if record.outcome not in expected:
            f.outcome_mismatch += 1
            problem(call, f"journal {record.outcome.value}, SIPp says "
                          f"{sorted(o.value for o in expected)}")
            continue
        person = call.person
        if person is not None and record.answered_by_person:
            rang = person.ring_seconds or 0.0
            off = abs((record.ring_seconds or 0.0) - rang)
            near_edge = abs(rang / CADENCE - round(rang / CADENCE)) * CADENCE < 0.5
            rings_ok = near_edge or record.rings == math.floor(rang / CADENCE) + 1
            who_ok = not person.endpoint or record.answered_by == person.endpoint
            if off > 1.0 or not rings_ok or not who_ok:
                f.ring_mismatch += 1
                problem(call, f"rang {rang:.2f} s at {person.endpoint}; journal "
                              f"{record.ring_seconds} s, {record.rings} rings, "
                              f"{record.answered_by}")
        if record.outcome is Outcome.voicemail and Outcome.voicemail in expected \
                and len(expected) == 1:
            should_be_empty = call.kind.speak == 0
            if record.voicemail_empty != should_be_empty:
                f.empty_flag_mismatch += 1
                problem(call, f"voicemail empty={record.voicemail_empty}, "
                              f"caller spoke={not should_be_empty}")
    f.outcomes = dict(sorted(outcomes.items()))
    return f


async def durable_linkedids(run: MixRun) -> set[str]:
    """The calls the journal completed from Asterisk's own record (an event of source
    cel or queue_log)."""
    store = open_store(parse_config(run.config_path.read_text(), run.config_path))
    try:
        linkedids = [r.linkedid for r in await store.calls(limit=1_000_000)]
        found: set[str] = set()
        for start in range(0, len(linkedids), 500):
            chunk = await store.events_of_calls(linkedids[start:start + 500])
            found |= {linkedid for linkedid, events in chunk.items()
                      if any(e.source in {"cel", "queue_log"} for e in events)}
        return found
    finally:
        await store.close()


async def settled(run: MixRun, truth: dict[str, PlacedCall], timeout: float) -> float:
    """Until every answered call has an ended record and the journal has read Asterisk's
    record to its end (every call is past reconciliation); how long that took."""
    answered = {n for n, c in truth.items() if c.answered_at is not None}
    began = time.monotonic()
    store = open_store(parse_config(run.config_path.read_text(), run.config_path))
    try:
        while time.monotonic() - began < timeout:
            records = await store.calls(limit=1_000_000)
            done = {r.caller for r in records if r.outcome is not None}
            read_to = int(await store.meta(CEL_CHECKPOINT) or 0)
            cel_size = run.instance.cel_log.stat().st_size
            if answered <= done and read_to >= cel_size:
                break
            await asyncio.sleep(1.0)
    finally:
        await store.close()
    return time.monotonic() - began


@dataclass
class Fault:
    at: float  # seconds into its segment
    name: str
    action: Callable[[MixRun], Awaitable[str]]


@dataclass
class Segment:
    """`seconds` of calls at the run's rate, with faults at their times; a graceful
    Asterisk restart may follow it (the callers pause for it: while it drains, Asterisk
    refuses new calls with 503)."""

    seconds: float
    faults: list[Fault] = field(default_factory=list)
    restart_asterisk_after: bool = False


T = TypeVar("T")
FAULT_TIMEOUT = 300.0  # the longest a fault and the recovery it waits for may take
PACE_SLACK = 60.0  # how far a wave's SIPp pace may drift behind its schedule


async def run_plan(run: MixRun, rate: float, segments: list[Segment]) -> None:
    """Place the mix segment by segment, throwing each segment's faults at their time;
    returns once every caller has finished. Every wait is bounded: a fault that does not
    come back, or callers that stop placing, end the plan with what was seen
    (`run.stuck`, and each task's stack) instead of a run that never ends."""
    for index, segment in enumerate(segments, start=1):
        began = time.monotonic()
        callers = await run.wave(index, rate, segment.seconds)

        async def throw(fault: Fault, began: float = began) -> None:
            await asyncio.sleep(max(0.0, fault.at - (time.monotonic() - began)))
            await within(FAULT_TIMEOUT, fault.name, run.fault(fault.name,
                                                              lambda: fault.action(run)))

        await asyncio.gather(*(throw(fault) for fault in segment.faults))
        await asyncio.sleep(max(0.0, segment.seconds - (time.monotonic() - began)))
        deadline = began + segment.seconds + PACE_SLACK
        while waiting := [c for c in callers if c.process.returncode is None
                          and c.placed() < c.calls]:
            if time.monotonic() > deadline:  # SIPp stopped placing: say so, go on
                run.stuck += [f"{c.name} placed {c.placed()} of {c.calls}" for c in waiting]
                break
            await asyncio.sleep(0.5)  # SIPp's pace drifts: the wave's last calls
        if segment.restart_asterisk_after:
            await within(FAULT_TIMEOUT, "asterisk graceful restart",
                         run.fault("asterisk graceful restart", run.restart_asterisk))
        elif index == len(segments):
            await run.finish(callers)
    await run.finish(run.callers)


async def within(seconds: float, what: str, awaitable: Awaitable[T]) -> T:
    """`awaitable`, or an AssertionError after `seconds` that names `what` and shows
    where every task of the loop was waiting."""
    # A TimeoutError raised inside `awaitable` (a CLI command that got no answer) is that
    # step's own failure and propagates as it is; only our own deadline is "not done".
    try:
        async with asyncio.timeout(seconds) as deadline:
            return await awaitable
    except TimeoutError:
        if not deadline.expired():
            raise
        raise AssertionError(f"{what}: not done in {seconds:.0f} s\n{task_stacks()}") from None


def task_stacks() -> str:
    out = io.StringIO()
    for task in asyncio.all_tasks():
        if not task.done():
            task.print_stack(limit=8, file=out)
    return out.getvalue()
