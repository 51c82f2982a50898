"""The two-node failover drill, shared by the fault test and `bench/failover.py`.

Real calls at a steady rate go through Kamailio to two Asterisk nodes with one journal:

1. *before*: both nodes up, the calls spread over both;
2. *during*: node A's Asterisk is killed (SIGKILL) while calls run; calls on A at that
   moment are cut (their caller logs "cut"), calls the proxy sends to A before it
   notices are re-sent to B after `reply_timeout_ms`;
3. *after*: the same steady stream, counted apart from the moment the dispatcher's probe
   interval (and the proxy's reply timeout) has passed since the kill: every one of its
   calls must be answered, by B;
4. node A is started again and its durable record reconciled into the journal;
5. *back*: once the proxy's probes have found A again, calls spread over both nodes.

Then every SIPp call is looked up in the journal by its own caller number: `lost` counts
calls with no journal record or a record that never ended, `doubles` counts records
beyond one per call.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ivr.domain.events import EventKind
from ivr.domain.record import CallRecord, Outcome
from tests.integration import sipp
from tests.integration.harness import HotlineUnderTest, until

LINE = "95007"
PREFIXES = {"before": "1391", "during": "1392", "after": "1393", "back": "1394"}


@dataclass
class Phase:
    name: str
    placed: int = 0
    ok: int = 0  # answered and hung up normally
    cut: int = 0  # their node died under them
    failed: int = 0  # neither: what SIPp counts as a failed call
    by_node: dict[str, int] = field(default_factory=dict)  # journal records per node
    # cut calls journaled on their node, ended when it died (cause 38), outcome failed
    cut_journaled: int = 0


@dataclass
class DrillResult:
    rate: float
    hold_ms: int
    probe_interval_seconds: int
    reply_timeout_ms: int
    phases: dict[str, Phase]
    node_down_observed_ms: float  # from the kill to the service seeing Asterisk gone
    lost: int
    doubles: int
    journal_records: int
    reconciled_events_after_restart: int
    records_after_restart: int  # every phase's, "back" included

    def as_json(self) -> dict[str, Any]:
        return asdict(self)


def _calls_logged(run: sipp.SippRun) -> dict[str, str]:
    """caller number -> "ok" | "cut", from the run's per-call log."""
    seen: dict[str, str] = {}
    path = run.workdir / f"{run.name}_logs.log"
    if path.exists():
        for line in path.read_text(errors="replace").splitlines():
            parts = line.split()
            if len(parts) == 2 and parts[0] in {"ok", "cut"}:
                seen[parts[1]] = parts[0]
    return seen


async def _arrivals(hut: HotlineUnderTest, prefix: str, count: int, timeout: float) -> None:
    def arrived() -> int:
        return sum(
            1 for e in hut.tap.events
            if e.kind is EventKind.call_arrived and str(e.data.get("caller", "")).startswith(prefix)
        )

    async def enough() -> bool:
        return arrived() >= count

    await until(enough, timeout)


async def run_drill(
    hut: HotlineUnderTest,
    *,
    before: int,
    after: int,
    back: int = 0,
    rate: float = 10.0,
    hold_ms: int = 1000,
) -> DrillResult:
    """`before` calls with both nodes up; then one steady stream at `rate` during which
    node A is killed; once the probe window has passed since the kill, the stream goes
    on as the `after` phase (`after` calls), the `during` phase placing no new calls."""
    hotline = hut.hotline
    proxy = hotline.config.proxy
    node_a = hotline.node("a")
    workdir = hut.call_dir("failover")

    async def start(name: str, calls: int) -> sipp.SippRun:
        for _ in range(3):
            run = await sipp.failover_calls(
                workdir, proxy.sip_port, LINE, name=name, caller_prefix=PREFIXES[name],
                calls=calls, rate=rate, hold_ms=hold_ms,
            )
            # SIPp that cannot bind its port (taken between free_port() and its own
            # bind) exits at once: start it again on other ports
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(run.process.wait()), 1.0)
            if run.process.returncode in (None, 0):
                return run
        raise AssertionError(f"SIPp would not start: {run.log()}")

    runs: dict[str, sipp.SippRun] = {}
    runs["before"] = await start("before", before)
    await runs["before"].wait(timeout=120)

    during = await start("during", 100_000)  # until told to finish
    runs["during"] = during
    # A is killed with calls on it: once a few of this phase's calls have arrived
    await _arrivals(hut, PREFIXES["during"], int(rate), timeout=30)
    assert node_a.stack.process is not None and node_a.stack.process.pid is not None
    killed = time.monotonic()
    os.kill(node_a.stack.process.pid, signal.SIGKILL)

    async def noticed() -> bool:
        return node_a.down_at is not None

    await until(noticed, timeout=10)
    observed_ms = (time.monotonic() - killed) * 1000
    # "after" is defined by the clock: the dispatcher's probe interval plus the proxy's
    # wait for a reply, counted from the kill (the figure the failover promises)
    window = proxy.probe_interval_seconds + proxy.reply_timeout_ms / 1000
    await asyncio.sleep(max(0.0, killed + window - time.monotonic()))
    during.finish()
    runs["after"] = await start("after", after)
    await during.wait(timeout=120)
    await runs["after"].wait(timeout=120)

    logged = {name: _calls_logged(run) for name, run in runs.items()}
    placed = {name: int(run.stats().get("OutgoingCall(C)", "0") or 0)
              for name, run in runs.items()}

    async def all_ended() -> bool:
        records = await _records(hut)
        wanted = {number for calls in logged.values() for number in calls}
        have = {r.caller for r in records if r.outcome is not None}
        return wanted <= have and all(r.outcome is not None for r in records)

    # every call's end reaches the journal (the killed node's through the service)
    with contextlib.suppress(AssertionError):  # what never ends is counted as lost
        await until(all_ended, timeout=30)
    records = await _records(hut)

    # node A back: its durable record (CEL, queue_log) read into the journal
    await hotline.restart_node("a")
    reconciler = node_a.reconciler
    assert reconciler is not None
    before_pass = reconciler.stats.events_added
    await reconciler.run_once()
    reconciled = reconciler.stats.events_added - before_pass
    if back:
        # the dispatcher puts A back after `recover_threshold` answered probes
        await asyncio.sleep(proxy.probe_interval_seconds * (proxy.recover_threshold + 1)
                            + proxy.reply_timeout_ms / 1000)
        runs["back"] = await start("back", back)
        await runs["back"].wait(timeout=120)
        logged["back"] = _calls_logged(runs["back"])
        placed["back"] = int(runs["back"].stats().get("OutgoingCall(C)", "0") or 0)

        async def back_ended() -> bool:
            done = {r.caller for r in await _records(hut) if r.outcome is not None}
            return set(logged["back"]) <= done

        with contextlib.suppress(AssertionError):
            await until(back_ended, timeout=30)
    again = await _records(hut)

    by_caller = Counter(r.caller for r in again)
    phases: dict[str, Phase] = {}
    for name in runs:
        calls = logged[name]
        phase = Phase(name, placed=placed[name],
                      ok=sum(1 for v in calls.values() if v == "ok"),
                      cut=sum(1 for v in calls.values() if v == "cut"))
        phase.failed = phase.placed - phase.ok - phase.cut
        mine = [r for r in again if r.caller.startswith(PREFIXES[name])]
        phase.by_node = dict(Counter(_node(hut, r) for r in mine))
        phase.cut_journaled = sum(
            1 for r in mine
            if calls.get(r.caller) == "cut" and r.end_cause == "38" and _node(hut, r) == "a"
            and r.outcome is Outcome.failed  # a system failure, never "no answer"
        )
        phases[name] = phase
    answered = {number for calls in logged.values() for number, v in calls.items() if v == "ok"}
    ended = {r.caller for r in again if r.outcome is not None}
    lost = len(answered - ended) + sum(1 for r in again if r.outcome is None)
    doubles = sum(n - 1 for n in by_caller.values() if n > 1)
    return DrillResult(
        rate=rate, hold_ms=hold_ms,
        probe_interval_seconds=proxy.probe_interval_seconds,
        reply_timeout_ms=proxy.reply_timeout_ms,
        phases=phases, node_down_observed_ms=round(observed_ms, 1), lost=lost,
        doubles=doubles, journal_records=len(records),
        reconciled_events_after_restart=reconciled, records_after_restart=len(again),
    )


def _node(hut: HotlineUnderTest, record: CallRecord) -> str:
    from ivr.domain.nodes import node_of

    return node_of(record.linkedid, hut.config.node_names) or "?"


async def _records(hut: HotlineUnderTest) -> list[CallRecord]:
    assert hut.journal is not None
    await hut.journal.writer.flush()
    since = datetime(2000, 1, 1, tzinfo=UTC)
    return [
        r for r in await hut.journal.store.calls(since=since, limit=10**6)
        if r.caller[:4] in PREFIXES.values()
    ]


def result_path(root: Path) -> Path:
    return root / "bench" / "results" / "failover.json"
