"""Answer latency and sustained call rate: the controlled public line against a
dialplan-only line that just answers and plays the same greeting, side by side on the
same Asterisk in one run.

    .venv/bin/python bench/callflow_bench.py [--calls 1000] [--rate 50]

Writes bench/results/callflow.json and the table in README.md between the
`bench:callflow` markers. SIPp measures INVITE -> 200 OK (-trace_rtt).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivr.asterisk.sandbox import provision  # noqa: E402
from ivr.clock import SystemClock  # noqa: E402
from ivr.config import parse_config  # noqa: E402
from ivr.domain.events import EventSink, JournalEvent  # noqa: E402
from ivr.hotline import Hotline, HotlineOptions  # noqa: E402
from tests.integration import sipp  # noqa: E402
from tests.integration.harness import Ports, render_test_config  # noqa: E402

RESULTS = ROOT / "bench" / "results"
CONTROLLED, BASELINE = "95007", "19999"
CONTROLLER_ANSWERS = BASELINE + "1"  # Stasis first, the controller answers over ARI
ROOT_FOR_SIPP: Path | None = None  # the sandbox root, when SIPp runs inside it


class CountingTap:
    """Counts the journal's events on their way to the real journal."""

    def __init__(self) -> None:
        self.count = 0
        self.downstream: EventSink | None = None

    def around(self, sink: EventSink) -> EventSink:
        self.downstream = sink
        return self

    def emit(self, event: JournalEvent) -> None:
        self.count += 1
        if self.downstream is not None:
            self.downstream.emit(event)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return float("nan")
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


async def run_calls(
    workdir: Path, port: int, number: str, calls: int, rate: float, name: str
) -> dict[str, Any]:
    run = await sipp.call(
        workdir, port, number, name=name, calls=calls, rate=rate, hold_ms=500,
        extra=["-trace_rtt", "-rtt_freq", "1", "-l", "2000", "-recv_timeout", "20000"],
        root=ROOT_FOR_SIPP,
    )
    started = time.monotonic()
    code = await run.wait(timeout=calls / rate + 120)
    elapsed = time.monotonic() - started
    rtts: list[float] = []
    for path in workdir.glob(f"{name}_*_rtt.csv"):
        for line in path.read_text().splitlines()[1:]:
            parts = line.split(";")
            if len(parts) >= 2:
                rtts.append(float(parts[1]))
    out = (workdir / f"{name}.out").read_text(errors="replace")
    failed = _stat(out, "Failed call")
    ok = _stat(out, "Successful call")
    return {
        "number": number, "calls": calls, "rate": rate, "exit": code,
        "successful": ok, "failed": failed, "elapsed_s": round(elapsed, 2),
        "p50_ms": round(percentile(rtts, 0.5), 2), "p90_ms": round(percentile(rtts, 0.9), 2),
        "p99_ms": round(percentile(rtts, 0.99), 2),
        "mean_ms": round(statistics.fmean(rtts), 2) if rtts else None,
    }


def _stat(out: str, label: str) -> int | None:
    found = re.findall(rf"{label}\s*\|\s*\d+\s*\|\s*(\d+)", out)
    return int(found[-1]) if found else None


async def highest_sustained_rate(
    workdir: Path, port: int, number: str, rates: list[int], seconds: float
) -> tuple[int, list[dict[str, Any]]]:
    best, steps = 0, []
    for rate in rates:
        result = await run_calls(
            workdir, port, number, int(rate * seconds), rate, f"ramp-{number}-{rate}"
        )
        steps.append(result)
        if result["exit"] != 0 or result["failed"]:
            break
        best = rate
        await asyncio.sleep(2)  # let the previous step's calls drain
    return best, steps


async def main(calls: int, rate: int, ramp: list[int], ramp_seconds: float) -> dict[str, Any]:
    global ROOT_FOR_SIPP
    install = provision(say=print)
    if install.chrooted:
        ROOT_FOR_SIPP = install.root
        (install.root / "tmp").mkdir(exist_ok=True)
        workdir = Path(tempfile.mkdtemp(prefix="hotline-bench-", dir=install.root / "tmp"))
    else:
        workdir = Path(tempfile.mkdtemp(prefix="hotline-bench-"))
    ports = Ports()
    text = render_test_config(ports, workdir / "data", capacity="2000")
    text = re.sub(r"rtp_start = \d+", "rtp_start = 30000", text)
    text = re.sub(r"rtp_end = \d+", "rtp_end = 39999", text)
    config_path = workdir / "hotline.toml"
    config_path.write_text(text)
    config = parse_config(text, config_path)
    journal = CountingTap()
    hotline = Hotline(config, config_path, HotlineOptions(
        instance=f"bench-{ports.sip}", install=install, clock=SystemClock(),
        tap=journal.around, bench_line=BASELINE, say=print,
    ))
    await hotline.start()  # the service as `hotline run` builds it: journal, API, /metrics
    try:
        latency = {}
        lines = (
            ("dialplan_only", BASELINE),
            ("controlled", CONTROLLED),
            ("controller_answers", CONTROLLER_ANSWERS),
        )
        for label, number in lines:
            latency[label] = await run_calls(
                workdir, ports.sip, number, calls, rate, f"latency-{label}"
            )
            await asyncio.sleep(3)
        sustained = {}
        for label, number in (("dialplan_only", BASELINE), ("controlled", CONTROLLED)):
            best, steps = await highest_sustained_rate(
                workdir, ports.sip, number, ramp, ramp_seconds
            )
            sustained[label] = {"highest_rate": best, "steps": steps}
    finally:
        await hotline.stop()
    base, ctl = latency["dialplan_only"], latency["controlled"]
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "asterisk": install.version,
        "calls": calls,
        "rate": rate,
        "latency": latency,
        "p50_ratio": round(ctl["p50_ms"] / base["p50_ms"], 2) if base["p50_ms"] else None,
        "sustained": sustained,
        "sustained_ratio": (
            round(sustained["controlled"]["highest_rate"]
                  / sustained["dialplan_only"]["highest_rate"], 2)
            if sustained["dialplan_only"]["highest_rate"] else None
        ),
        "journal_events": journal.count,
    }


def write_readme(result: dict[str, Any]) -> None:
    base, ctl = result["latency"]["dialplan_only"], result["latency"]["controlled"]
    ans = result["latency"]["controller_answers"]
    s = result["sustained"]
    table = "\n".join([
        f"Measured {result['when']} on this machine (2 cores), {result['asterisk']}, "
        f"{result['calls']} calls at {result['rate']} calls/s each, INVITE → 200 OK:",
        "",
        "| line | p50 ms | p90 ms | p99 ms | failed | highest sustained rate (no failed call) |",
        "|---|---|---|---|---|---|",
        f"| dialplan only | {base['p50_ms']} | {base['p90_ms']} | {base['p99_ms']} | "
        f"{base['failed']} | {s['dialplan_only']['highest_rate']} calls/s |",
        f"| controlled (ARI) | {ctl['p50_ms']} | {ctl['p90_ms']} | {ctl['p99_ms']} | "
        f"{ctl['failed']} | {s['controlled']['highest_rate']} calls/s |",
        f"| Stasis first, controller answers over ARI | {ans['p50_ms']} | {ans['p90_ms']} | "
        f"{ans['p99_ms']} | {ans['failed']} | (not ramped) |",
        "",
        f"p50 ratio controlled / dialplan-only: **{result['p50_ratio']}** (aim ≤ 1.3); "
        f"sustained-rate ratio: **{result['sustained_ratio']}** (aim ≥ 0.9). The hotline's "
        "public lines answer in the dialplan before Stasis (the answer never waits on "
        "Python; the controller then greets); the last row shows what answering from the "
        "controller would cost.",
        "",
        "The ramp (each step 10 s of calls; p50 INVITE → 200 OK in ms, failed calls):",
        "",
        "| calls/s | "
        + " | ".join(f"{step['rate']}" for step in s["dialplan_only"]["steps"])
        + " |",
        "|---|" + "---|" * len(s["dialplan_only"]["steps"]),
        *(
            f"| {label} | "
            + " | ".join(f"{step['p50_ms']} ({step['failed']})" for step in s[key]["steps"])
            + " |"
            for label, key in (("dialplan only", "dialplan_only"), ("controlled", "controlled"))
        ),
    ])
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = "<!-- bench:callflow -->", "<!-- /bench:callflow -->"
    block = f"{start}\n{table}\n{end}"
    if start in text:
        text = re.sub(rf"{re.escape(start)}.*?{re.escape(end)}", block, text, flags=re.S)
    else:
        command = "`.venv/bin/python bench/callflow_bench.py`"
        text += f"\n## Benchmark: call control\n\n{command}\n\n{block}\n"
    readme.write_text(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--rate", type=int, default=50)
    parser.add_argument("--ramp", default="50,100,150,200,250,300,400")
    parser.add_argument("--ramp-seconds", type=float, default=10.0)
    parser.add_argument("--readme-only", action="store_true",
                        help="rewrite the README table from bench/results/callflow.json")
    args = parser.parse_args()
    if args.readme_only:
        write_readme(json.loads((RESULTS / "callflow.json").read_text()))
        raise SystemExit(0)
    outcome = asyncio.run(
        main(args.calls, args.rate, [int(r) for r in args.ramp.split(",")], args.ramp_seconds)
    )
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "callflow.json").write_text(json.dumps(outcome, indent=2, ensure_ascii=False))
    write_readme(outcome)
    print(json.dumps({k: v for k, v in outcome.items() if k != "sustained"}, indent=2))
    print({k: v["highest_rate"] for k, v in outcome["sustained"].items()})
