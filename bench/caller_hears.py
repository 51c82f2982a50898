"""What the caller hears: the real service as `hotline run` builds it (`ivr.hotline`), the
real journal (SQLite, then PostgreSQL), callers like real phones (G.711 audio from the
answer, a key after 1 s, hang-up after 3 s), against two baselines in the same run.

    .venv/bin/python bench/caller_hears.py [--rates 10,25,50] [--seconds 10] [--rounds 3]
                                           [--db sqlite,postgresql] [--ramp 60,75,100]

Lines, each called at each rate in turn (`--rounds` times, taking turns in alternating
order; a line's figures are over the calls of all its rounds):

- `ivr`: the hotline's IVR line (95007): answered in the dialplan, then the controller's
  greeting and menu over ARI;
- `dialplan`: the same dialplan steps (journal, answer, hours), then the same greeting and
  menu in the dialplan alone (`hotline-menu`: Background/WaitExten);
- `minimal_ari`: answered in the dialplan, then an ARI app in a process of its own that
  only plays the greeting (`bench/minimal_ari.py`).

Measured per call, from a loopback capture (tcpdump, read with dpkt) and the journal:

- silence after answer: Asterisk's 200 OK -> the first RTP packet Asterisk sends on
  that call (the first prompt's);
- key -> queue entry and key -> agent ringing: the first RFC 2833 packet of the caller's
  key in the capture -> the journal's queue entry and first agent ring of that call
  (`queue_entered_at`, the first ring attempt; the call is found by its caller number);
  both include the "please hold" prompt, on both lines alike;
- journal completeness: the line's records that arrived during the run = SIPp's
  successful calls, and their outcomes;
- CPU per call of the service process (this process: controller, AMI, journal writer,
  API), and of the minimal ARI app's process on its line.

`--ramp` then calls the dialplan's menu line and the IVR line at each of its rates until
the dialplan fails calls: the highest rate the dialplan sustains with media, and whether
the IVR line failed more calls than the dialplan at any rate the dialplan sustained.

Writes bench/results/caller_hears.json and the README table between the
`bench:caller_hears` marks. Targets (issue 13): at 50 calls/s the IVR line's silence p50
<= 1.3x and p99 <= 2x the dialplan's, 0 failed calls, journal 100% complete.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dpkt
import jinja2

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from ivr.asterisk.sandbox import AsteriskInstall, provision  # noqa: E402
from ivr.clock import SystemClock  # noqa: E402
from ivr.config import parse_config  # noqa: E402
from ivr.hotline import Hotline, HotlineOptions  # noqa: E402
from tests.integration import sipp  # noqa: E402
from tests.integration.harness import Ports, render_test_config  # noqa: E402

RESULTS = ROOT / "bench" / "results"
BASELINE = "19999"  # the test config's bench line: +2 the dialplan menu, +3 the minimal app
LINES = {"ivr": "95007", "dialplan": BASELINE + "2", "minimal_ari": BASELINE + "3"}
JOURNAL_LINE = {"ivr": "main", "dialplan": "benchmenu"}
KEY, KEY_MS, HOLD_MS = "2", 1000, 3000
RTP_START, RTP_END = 45000, 49999  # away from the integration tests' 20000-39999
ALL_DAY = 'consultation = [{ days = "mon-sun", start = "00:00", end = "24:00" }]'
BENCH_AGENTS = 60
SETTLE = 4.0  # seconds after SIPp ends for the last calls' ends to reach the journal
PG_ADMIN = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


# -- the capture -------------------------------------------------------------------------


class Capture:
    """tcpdump on loopback: SIP on the hotline's port, every RTP packet Asterisk sends
    from its range, and the RFC 2833 packets (payload type 101) callers send to it."""

    def __init__(self, path: Path, sip_port: int) -> None:
        self.path = path
        self.filter = (
            f"udp and (port {sip_port} or src portrange {RTP_START}-{RTP_END} or "
            f"(dst portrange {RTP_START}-{RTP_END} and (udp[9] & 0x7f) = 101))"
        )
        self.process: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            "tcpdump", "-i", "lo", "-n", "-s", "2048", "-B", "32768", "-w", str(self.path),
            self.filter, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
        )
        assert self.process.stderr is not None
        line = await asyncio.wait_for(self.process.stderr.readline(), 10)  # "listening on lo"
        if b"listening" not in line:
            raise RuntimeError(f"tcpdump did not start: {line!r}")

    async def stop(self) -> str:
        assert self.process is not None and self.process.stderr is not None
        self.process.send_signal(signal.SIGINT)
        rest = await self.process.stderr.read()
        await self.process.wait()
        return rest.decode(errors="replace").strip()  # e.g. "0 packets dropped by kernel"


@dataclass
class CallTrace:
    caller: str
    ok_at: float | None = None  # Asterisk's 200 OK to the INVITE
    asterisk_port: int | None = None  # from the 200 OK's SDP
    first_rtp_at: float | None = None  # the first packet Asterisk sends after the 200 OK
    key_at: float | None = None  # the caller's first RFC 2833 packet


SDP_PORT = re.compile(rb"m=audio (\d+)")
FROM_NUMBER = re.compile(rb"From:[^\r\n]*sip:(\d+)@")
CALL_ID = re.compile(rb"Call-ID:\s*(\S+)", re.I)


def read_capture(path: Path, sip_port: int) -> dict[str, CallTrace]:
    """Each call of the capture by Call-ID."""
    calls: dict[str, CallTrace] = {}
    by_port: dict[int, list[CallTrace]] = {}
    rtp: list[tuple[float, int, int, bool]] = []  # time, src port, dst port, is DTMF
    with path.open("rb") as handle:
        for at, frame in dpkt.pcap.Reader(handle):
            ip = _ip_of(frame)
            if ip is None or not isinstance(ip.data, dpkt.udp.UDP):
                continue
            udp = ip.data
            payload = bytes(udp.data)
            if sip_port in (udp.sport, udp.dport):
                _sip(at, udp, payload, calls, sip_port)
            elif len(payload) >= 12:
                rtp.append((at, udp.sport, udp.dport, (payload[1] & 0x7F) == 101))
    for call in calls.values():
        if call.asterisk_port is not None:
            by_port.setdefault(call.asterisk_port, []).append(call)
    for at, sport, dport, dtmf in rtp:
        if dtmf and dport in by_port:
            keyed = _current(by_port[dport], at)
            if keyed is not None and keyed.key_at is None:
                keyed.key_at = at
        elif not dtmf and sport in by_port:
            heard = _current(by_port[sport], at)
            if heard is not None and heard.first_rtp_at is None:
                heard.first_rtp_at = at
    return calls


def _ip_of(frame: bytes) -> Any:
    # loopback captures are Ethernet-framed on Linux (DLT_EN10MB) with zero addresses
    eth = dpkt.ethernet.Ethernet(frame)
    return eth.data if isinstance(eth.data, dpkt.ip.IP) else None


def _sip(at: float, udp: Any, payload: bytes, calls: dict[str, CallTrace],
         sip_port: int) -> None:
    found = CALL_ID.search(payload)
    if found is None:
        return
    call_id = found.group(1).decode()
    if payload.startswith(b"INVITE") and udp.dport == sip_port:  # a caller's, not a leg
        number = FROM_NUMBER.search(payload)
        calls.setdefault(call_id, CallTrace(number.group(1).decode() if number else ""))
    elif payload.startswith(b"SIP/2.0 200") and b"INVITE" in payload.split(b"CSeq:")[-1][:40]:
        call = calls.get(call_id)
        port = SDP_PORT.search(payload)
        if call is not None and call.ok_at is None and udp.sport == sip_port:
            call.ok_at = at
            call.asterisk_port = int(port.group(1)) if port else None


def _current(candidates: list[CallTrace], at: float) -> CallTrace | None:
    """The call that had this Asterisk port at `at` (the latest answered before it)."""
    best: CallTrace | None = None
    for call in candidates:
        if call.ok_at is None or call.ok_at > at:
            continue
        if best is None or best.ok_at is None or call.ok_at > best.ok_at:
            best = call
    return best


# -- one run -------------------------------------------------------------------------------


def percentile(values: list[float], q: float) -> float | None:
    ordered = sorted(values)
    if not ordered:
        return None
    return round(ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))], 2)


def spread(values: list[float]) -> dict[str, Any]:
    return {"n": len(values), "p50_ms": percentile(values, 0.5),
            "p90_ms": percentile(values, 0.9), "p99_ms": percentile(values, 0.99),
            "max_ms": round(max(values), 2) if values else None,
            "mean_ms": round(statistics.fmean(values), 2) if values else None}


@dataclass
class Bench:
    hotline: Hotline
    install: AsteriskInstall
    workdir: Path
    ports: Ports
    minimal_pid: int
    results: list[dict[str, Any]] = field(default_factory=list)

    async def run(self, label: str, rate: int, seconds: float, round_: int = 1
                  ) -> dict[str, Any]:
        """One line at one rate for `seconds`; the samples behind its figures are kept
        under "_raw" (see `pooled`)."""
        calls = int(rate * seconds)
        name = f"{label}-{rate}-{round_}"
        capture = Capture(self.workdir / f"{name}.pcap", self.ports.sip)
        await capture.start()
        started = datetime.now(UTC)
        cpu_before = _cpu_self()
        minimal_before = _cpu_of(self.minimal_pid)
        shed_before = sum(self.hotline.calls_shed.values())
        loop_watch = LoopWatch()
        loop_watch.start()
        run = await self._sipp(name, LINES[label], calls, rate)
        code = await run.wait(timeout=calls / rate + 120)
        await asyncio.sleep(SETTLE)
        await loop_watch.stop()
        cpu = _cpu_self() - cpu_before
        minimal_cpu = _cpu_of(self.minimal_pid) - minimal_before
        dropped = await capture.stop()
        out = (self.workdir / f"{name}.out").read_text(errors="replace")
        ok, failed = _stat(out, "Successful call"), _stat(out, "Failed call")
        traces = read_capture(capture.path, self.ports.sip)
        silence = [
            (t.first_rtp_at - t.ok_at) * 1000 for t in traces.values()
            if t.ok_at is not None and t.first_rtp_at is not None
        ]
        result: dict[str, Any] = {
            "line": label, "rate": rate, "round": round_, "calls": calls, "sipp_exit": code,
            "successful": ok, "failed": failed, "capture": dropped.splitlines()[-1:],
            "answered_in_capture": sum(1 for t in traces.values() if t.ok_at is not None),
            "silence_after_answer": spread(silence),
            "service_cpu_ms_per_call": round(cpu * 1000 / calls, 2),
            "load_average_1m": round(os.getloadavg()[0], 1),  # the machine is shared
            "service_loop_late": spread(loop_watch.late_ms),
            "service_gc_pauses": spread(loop_watch.gc_ms),
            # calls the controller sent to the dialplan's own menu (overload protection)
            "calls_shed": sum(self.hotline.calls_shed.values()) - shed_before,
            "_raw": {"silence": silence, "late": loop_watch.late_ms, "gc": loop_watch.gc_ms},
        }
        if label == "minimal_ari":
            result["minimal_app_cpu_ms_per_call"] = round(minimal_cpu * 1000 / calls, 2)
        if label in JOURNAL_LINE:
            result.update(await self._journal(JOURNAL_LINE[label], started, traces, ok))
        if not os.environ.get("HOTLINE_KEEP"):
            capture.path.unlink()  # large; the numbers are kept
        print(json.dumps(public(result)), flush=True)
        return result

    async def _journal(self, line: str, since: datetime, traces: dict[str, CallTrace],
                       successful: int | None) -> dict[str, Any]:
        journal = self.hotline.journal
        assert journal is not None
        await journal.writer.flush()
        records = [r for r in await journal.store.calls(since=since, line=line, limit=10**6)]
        by_caller = {t.caller: t for t in traces.values()}
        to_queue, to_ring = [], []
        for record in records:
            trace = by_caller.get(record.caller)
            if trace is None or trace.key_at is None:
                continue
            if record.queue_entered_at is not None:
                to_queue.append((record.queue_entered_at.timestamp() - trace.key_at) * 1000)
            if record.attempts:
                to_ring.append((record.attempts[0].started_at.timestamp() - trace.key_at) * 1000)
        outcomes = Counter(r.outcome.value if r.outcome else "in_progress" for r in records)
        return {
            "journal_records": len(records),
            "journal_complete": successful is not None and len(records) == successful,
            "outcomes": dict(outcomes),
            "key_to_queue_entry": spread(to_queue),
            "key_to_agent_ringing": spread(to_ring),
            "_raw_journal": {"to_queue": to_queue, "to_ring": to_ring},
        }

    async def _sipp(self, name: str, number: str, calls: int, rate: int) -> sipp.SippRun:
        scenario = self.workdir / f"{name}.xml"
        template = jinja2.Environment(
            loader=jinja2.FileSystemLoader(ROOT / "bench" / "sipp"),
            undefined=jinja2.StrictUndefined,
        ).get_template("caller_hears.xml.j2")
        scenario.write_text(template.render(
            pcaps="/usr/share/sip-tester", key=KEY, key_ms=KEY_MS, hold_ms=HOLD_MS
        ))
        argv = [
            "sipp", f"127.0.0.1:{self.ports.sip}", "-sf", scenario.name, "-s", number,
            "-i", "127.0.0.1", "-p", str(sipp.free_port()), "-mp", str(sipp.free_media_ports()),
            "-m", str(calls), "-r", str(rate), "-l", "2000", "-nostdin",
            "-trace_err", "-error_file", f"{name}_errors.log", "-timeout", "300s",
            "-timeout_error", "-recv_timeout", "20000",
        ]
        root = self.install.root if self.install.chrooted else None
        return await sipp._spawn(self.workdir, name, argv, root)


def public(run: dict[str, Any]) -> dict[str, Any]:
    """A run's figures without the samples behind them."""
    return {key: value for key, value in run.items() if not key.startswith("_raw")}


def pooled(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Rounds of one line at one rate as one run: the figures of all their calls
    together (percentiles over every call's sample), and each round's own figures."""
    if len(runs) == 1:
        return public(runs[0])

    def joined(group: str, key: str) -> list[float]:
        return [value for run in runs for value in run.get(group, {}).get(key, [])]

    def total(key: str) -> int | None:
        values: list[int | None] = [run.get(key) for run in runs]
        counted = [value for value in values if value is not None]
        return sum(counted) if len(counted) == len(values) else None

    out = public(runs[0])
    out.pop("round", None)
    out.update({
        "rounds": len(runs), "calls": total("calls"), "successful": total("successful"),
        "failed": total("failed"), "answered_in_capture": total("answered_in_capture"),
        "calls_shed": total("calls_shed"),
        "silence_after_answer": spread(joined("_raw", "silence")),
        "service_loop_late": spread(joined("_raw", "late")),
        "service_gc_pauses": spread(joined("_raw", "gc")),
        "service_cpu_ms_per_call": round(statistics.fmean(
            run["service_cpu_ms_per_call"] for run in runs), 2),
        "load_average_1m": max(run["load_average_1m"] for run in runs),
        "per_round": [public(run) for run in runs],
    })
    if "journal_records" in out:
        out["journal_records"] = total("journal_records")
        out["journal_complete"] = all(run["journal_complete"] for run in runs)
        outcomes: Counter[str] = Counter()
        for run in runs:
            outcomes.update(run["outcomes"])
        out["outcomes"] = dict(outcomes)
        out["key_to_queue_entry"] = spread(joined("_raw_journal", "to_queue"))
        out["key_to_agent_ringing"] = spread(joined("_raw_journal", "to_ring"))
    if "minimal_app_cpu_ms_per_call" in out:
        out["minimal_app_cpu_ms_per_call"] = round(statistics.fmean(
            run["minimal_app_cpu_ms_per_call"] for run in runs), 2)
    return out


class LoopWatch:
    """The service's event loop (this process's) during a run: how late a 10 ms timer
    fires, and how long each of the interpreter's garbage collections took."""

    def __init__(self) -> None:
        self.late_ms: list[float] = []
        self.gc_ms: list[float] = []
        self._task: asyncio.Task[None] | None = None
        self._gc_started = 0.0

    def _on_gc(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self._gc_started = time.perf_counter()
        else:
            self.gc_ms.append((time.perf_counter() - self._gc_started) * 1000)

    def start(self) -> None:
        gc.callbacks.append(self._on_gc)
        self._task = asyncio.create_task(self._tick())

    async def stop(self) -> None:
        gc.callbacks.remove(self._on_gc)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _tick(self) -> None:
        while True:
            asked = time.perf_counter()
            await asyncio.sleep(0.01)
            self.late_ms.append((time.perf_counter() - asked - 0.01) * 1000)


def _stat(out: str, label: str) -> int | None:
    found = re.findall(rf"{label}\s*\|\s*\d+\s*\|\s*(\d+)", out)
    return int(found[-1]) if found else None


def _cpu_self() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)  # every thread of the service
    return usage.ru_utime + usage.ru_stime


def _cpu_of(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


# -- a database's whole run ----------------------------------------------------------------


async def bench_database(database: str, install: AsteriskInstall, rates: list[int],
                         seconds: float, lines: list[str],
                         ramp: list[int] | None = None, rounds: int = 1) -> dict[str, Any]:
    root_tmp = install.root / "tmp" if install.chrooted else Path(tempfile.gettempdir())
    root_tmp.mkdir(exist_ok=True)
    workdir = Path(tempfile.mkdtemp(prefix="hotline-hears-", dir=root_tmp))
    ports = Ports()
    config_text = render_test_config(ports, workdir / "data", capacity="5000", hours=ALL_DAY)
    config_text = re.sub(r"rtp_start = \d+", f"rtp_start = {RTP_START}", config_text)
    config_text = re.sub(r"rtp_end = \d+", f"rtp_end = {RTP_END}", config_text)
    pg_name = None
    if database == "postgresql":
        pg_name = f"hotline_hears_{uuid.uuid4().hex[:8]}"
        await _pg(f'CREATE DATABASE "{pg_name}"')
        url = PG_ADMIN.rsplit("/", 1)[0] + f"/{pg_name}"
        config_text = config_text.replace("[service]\n", f'[service]\ndatabase_url = "{url}"\n', 1)
    # enough agents that a queued caller's phone rings at once (app_queue rings a member
    # for one caller at a time): all on agent1's SIPp phone, which takes any number
    config_text += "".join(
        f'\n[[agents]]\nname = "Bench {n}"\nendpoint = "bench{n}"\n'
        f'contact = "sip:bench{n}@127.0.0.1:{ports.agent1}"\n'
        for n in range(BENCH_AGENTS)
    )
    config_path = workdir / "hotline.toml"
    config_path.write_text(config_text)
    config = parse_config(config_text, config_path)
    hotline = Hotline(config, config_path, HotlineOptions(
        instance=f"hears-{ports.sip}", install=install, clock=SystemClock(),
        bench_line=BASELINE, say=print,
    ))
    minimal: asyncio.subprocess.Process | None = None
    agents: list[sipp.SippRun] = []
    try:
        await hotline.start()  # the service as `hotline run` builds it
        secrets = hotline.stack.secrets
        minimal = await asyncio.create_subprocess_exec(
            sys.executable, str(ROOT / "bench" / "minimal_ari.py"), hotline.stack.ari_url,
            secrets.ari_user, secrets.ari_password, hotline.stack.media["greeting"],
            stdout=asyncio.subprocess.PIPE,
        )
        assert minimal.stdout is not None
        await asyncio.wait_for(minimal.stdout.readline(), 20)  # "ready"
        # the agents' phones ring 20 s: callers leave while queued or while a phone rings
        for name, port in (("agent1", ports.agent1), ("agent2", ports.agent2)):
            agents.append(await sipp.phone(workdir, port, name=name, ring_ms=20000))
        bench = Bench(hotline, install, workdir, ports, minimal.pid)
        runs = []
        for rate in rates:
            by_line: dict[str, list[dict[str, Any]]] = {label: [] for label in lines}
            for round_ in range(1, rounds + 1):
                # the lines take turns, in the opposite order each round, so that a busy
                # spell of the (shared) machine does not fall on one line alone
                for label in (lines if round_ % 2 else lines[::-1]):
                    by_line[label].append(await bench.run(label, rate, seconds, round_))
                    await asyncio.sleep(2)
            runs += [pooled(by_line[label]) for label in lines]
        measured: dict[str, Any] = {"database": database, "runs": runs}
        if ramp:
            measured["ramp"] = await ramp_up(bench, ramp, seconds)
        return measured
    finally:
        for agent in agents:
            await agent.stop()
        if minimal is not None:
            minimal.terminate()
            await minimal.wait()
        await hotline.stop()
        if not os.environ.get("HOTLINE_KEEP"):
            shutil.rmtree(workdir, ignore_errors=True)
        if pg_name is not None:
            await _pg(f'DROP DATABASE IF EXISTS "{pg_name}" WITH (FORCE)')


async def _pg(statement: str) -> None:
    engine = create_async_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(statement))
    finally:
        await engine.dispose()


async def ramp_up(bench: Bench, rates: list[int], seconds: float) -> dict[str, Any]:
    """The dialplan's menu line at each rate in turn, then the IVR line at the same rate,
    until the dialplan fails calls: the highest rate it sustains (no failed call) and
    whether the IVR line failed no more calls than it at every rate it sustained."""
    steps: list[dict[str, Any]] = []
    for rate in sorted(rates):
        plan = await bench.run("dialplan", rate, seconds)
        await asyncio.sleep(3)
        ivr = await bench.run("ivr", rate, seconds)
        await asyncio.sleep(3)
        steps.append({"rate": rate, "dialplan": _ramp_step(plan), "ivr": _ramp_step(ivr)})
        if not _sustained(plan):
            break
    sustained = [step for step in steps if _sustained(step["dialplan"])]
    return {
        "steps": steps,
        "highest_sustained_by_dialplan": max((s["rate"] for s in sustained), default=None),
        "dialplan_failed_at": next((s["rate"] for s in steps
                                    if not _sustained(s["dialplan"])), None),
        "ivr_fails_no_more_than_dialplan": all(
            (s["ivr"]["failed"] or 0) <= (s["dialplan"]["failed"] or 0) for s in sustained),
    }


def _sustained(run: dict[str, Any]) -> bool:
    """Every call placed was completed (SIPp's own count: no failed call)."""
    return bool(run["failed"] == 0 and run["successful"] == run["calls"])


def _ramp_step(run: dict[str, Any]) -> dict[str, Any]:
    keep = ("calls", "successful", "failed", "silence_after_answer", "journal_records",
            "journal_complete", "service_cpu_ms_per_call", "load_average_1m", "calls_shed")
    return {key: run[key] for key in keep if key in run}


# -- the verdict and the README --------------------------------------------------------------


def verdict(runs: list[dict[str, Any]], rate: int) -> dict[str, Any]:
    at = {run["line"]: run for run in runs if run["rate"] == rate}
    ivr, plan = at.get("ivr"), at.get("dialplan")
    if not ivr or not plan:
        return {}
    s_ivr, s_plan = ivr["silence_after_answer"], plan["silence_after_answer"]
    p50 = s_ivr["p50_ms"] / s_plan["p50_ms"] if s_plan["p50_ms"] else None
    p99 = s_ivr["p99_ms"] / s_plan["p99_ms"] if s_plan["p99_ms"] else None
    return {
        "rate": rate,
        "silence_p50_ratio": round(p50, 2) if p50 else None,
        "silence_p99_ratio": round(p99, 2) if p99 else None,
        "p50_met": p50 is not None and p50 <= 1.3,
        "p99_met": p99 is not None and p99 <= 2.0,
        "no_failed_call": not ivr["failed"],
        "journal_complete": bool(ivr.get("journal_complete")),
        "ivr_fails_no_more_than_dialplan": (ivr["failed"] or 0) <= (plan["failed"] or 0),
    }


def _load_range(result: dict[str, Any]) -> str:
    loads = [run["load_average_1m"] for db in result["databases"] for run in db["runs"]
             if run.get("load_average_1m") is not None]
    if not loads:
        return "load unknown"
    return f"load average {min(loads):g}-{max(loads):g} during the runs"


def readme_table(result: dict[str, Any]) -> str:
    lines = [
        f"Measured {result['when']} on this machine (2 cores, {_load_range(result)}), "
        f"{result['asterisk']}; {result.get('rounds', 1)} round(s) of {result['seconds']:g} s of "
        "calls per line and rate (the lines taking turns; figures over all rounds' calls), callers "
        f"sending G.711 from the answer, key {KEY} at {KEY_MS} ms, hang-up at {HOLD_MS} ms. "
        "Silence = 200 OK -> first RTP packet of the first prompt (loopback capture); "
        "key -> queue and key -> agent ringing include the 'please hold' prompt on both "
        "lines; CPU = the service process (controller, AMI, journal writer, API) per call.",
        "",
        "| db | calls/s | line | silence p50 ms | p99 ms | max ms | failed | key→queue p50 ms "
        "| key→ringing p50 ms | journal records / successful | CPU ms/call "
        "| service loop late p99 ms | load avg |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for db in result["databases"]:
        for run in db["runs"]:
            s = run["silence_after_answer"]
            queue = run.get("key_to_queue_entry", {}).get("p50_ms", "–")
            ring = run.get("key_to_agent_ringing", {}).get("p50_ms", "–")
            journal = (f"{run['journal_records']} / {run['successful']}"
                       if "journal_records" in run else "–")
            cpu = run["service_cpu_ms_per_call"]
            if "minimal_app_cpu_ms_per_call" in run:
                cpu = f"{cpu} (+{run['minimal_app_cpu_ms_per_call']} app)"
            lines.append(
                f"| {db['database']} | {run['rate']} | {run['line']} | {s['p50_ms']} | "
                f"{s['p99_ms']} | {s['max_ms']} | {run['failed']} | {queue} | {ring} | "
                f"{journal} | {cpu} | {run.get('service_loop_late', {}).get('p99_ms', '–')} | "
                f"{run.get('load_average_1m', '–')} |"
            )
    lines += ["", "Targets at the highest rate (the IVR line against the dialplan's menu, "
              "same run):", ""]
    for db in result["databases"]:
        v = db.get("verdict") or {}
        if not v:
            continue
        lines.append(
            f"- {db['database']}, {v['rate']} calls/s: silence p50 {v['silence_p50_ratio']}x "
            f"({'met' if v['p50_met'] else '**missed**'}, <= 1.3x), p99 "
            f"{v['silence_p99_ratio']}x ({'met' if v['p99_met'] else '**missed**'}, <= 2x), "
            f"failed calls {'none' if v['no_failed_call'] else '**some**'}, journal "
            f"{'100% complete' if v['journal_complete'] else '**incomplete**'}"
        )
    for db in result["databases"]:
        lines += _ramp_lines(db)
    return "\n".join(lines)


def _ramp_lines(db: dict[str, Any]) -> list[str]:
    ramp = db.get("ramp")
    if not ramp:
        return []
    out = ["", f"Ramp ({db['database']}): the dialplan's menu line, then the IVR line, at "
               "each rate until the dialplan fails calls:", "",
           "| calls/s | line | successful / placed | failed | silence p50 ms | p99 ms "
           "| shed to the dialplan | journal records | load avg |",
           "|---|---|---|---|---|---|---|---|---|"]
    for step in ramp["steps"]:
        for line in ("dialplan", "ivr"):
            run = step[line]
            s = run["silence_after_answer"]
            out.append(
                f"| {step['rate']} | {line} | {run['successful']} / {run['calls']} | "
                f"{run['failed']} | {s['p50_ms']} | {s['p99_ms']} | "
                f"{run.get('calls_shed', '–') if line == 'ivr' else '–'} | "
                f"{run.get('journal_records', '–')} | {run.get('load_average_1m', '–')} |")
    highest = ramp["highest_sustained_by_dialplan"]
    out += ["", f"- highest rate the dialplan sustained (no failed call): "
                f"{highest if highest is not None else 'none of the ramp'} calls/s"
                + (f"; it failed calls at {ramp['dialplan_failed_at']} calls/s"
                   if ramp["dialplan_failed_at"] else "; it failed at none of the ramp's rates")
                + "; the IVR line failed "
                + ("no more calls than the dialplan at every rate it sustained"
                   if ramp["ivr_fails_no_more_than_dialplan"]
                   else "**more calls than the dialplan** at a rate it sustained")]
    return out


def write_readme(table: str) -> None:
    readme = ROOT / "README.md"
    content = readme.read_text()
    start, end = "<!-- bench:caller_hears -->", "<!-- /bench:caller_hears -->"
    if start in content:
        content = re.sub(rf"{re.escape(start)}.*?{re.escape(end)}", f"{start}\n{table}\n{end}",
                         content, flags=re.S)
        readme.write_text(content)


async def main(rates: list[int], seconds: float, databases: list[str],
               lines: list[str], ramp: list[int] | None = None,
               rounds: int = 1) -> dict[str, Any]:
    install = provision(say=print)
    result: dict[str, Any] = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "asterisk": install.version, "rates": rates, "seconds": seconds, "rounds": rounds,
        "host": socket.gethostname(), "databases": [],
    }
    for database in databases:
        measured = await bench_database(database, install, rates, seconds, lines, ramp,
                                        rounds)
        measured["verdict"] = verdict(measured["runs"], max(rates))
        result["databases"].append(measured)
    return result


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="10,25,50")
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--db", default="sqlite,postgresql")
    parser.add_argument("--lines", default=",".join(LINES), help="of: " + ", ".join(LINES))
    parser.add_argument("--ramp", default="",
                        help="rates (e.g. 50,60,75,100): the dialplan then the IVR line at "
                             "each, until the dialplan fails calls")
    parser.add_argument("--rounds", type=int, default=3,
                        help="rounds per rate; the lines take turns, and each line's "
                             "figures are over the calls of all its rounds")
    parser.add_argument("--out", type=Path, default=RESULTS / "caller_hears.json")
    args = parser.parse_args()
    outcome = asyncio.run(main([int(r) for r in args.rates.split(",")], args.seconds,
                               args.db.split(","), args.lines.split(","),
                               [int(r) for r in args.ramp.split(",") if r], args.rounds))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(outcome, indent=2, ensure_ascii=False) + "\n")
    if args.out == RESULTS / "caller_hears.json":
        write_readme(readme_table(outcome))
    print(readme_table(outcome))
