"""The fault suite's long run: the steady mix of real calls of `tests/faults/mix.py`
(menu -> agents answering after 1-19 s, abandons in the queue, off-hours voicemail with
and without speech, night emergencies to the on-call phone) at `--rate` calls/s for
`--minutes`, with the faults on a schedule, then SIPp's truth compared with the journal
call by call.

The run is cut into segments (`--segments`, about two minutes each by default). In each
segment: a `kill -9` of `hotline run` and its restart, the AMI connection aborted, the
ARI websocket aborted, the journal's database away (SQLite: its files made unwritable;
PostgreSQL: its sessions ended and connections refused, on a database of its own) for
`--outage` seconds. Between segments Asterisk restarts gracefully (`core restart
gracefully`: the callers pause while it drains, since it refuses new calls then).

    .venv/bin/python bench/faults.py [--rate 20] [--minutes 10] [--journal sqlite|postgresql]

Writes bench/results/faults.json (one entry per journal kind) and the README table.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivr.asterisk.sandbox import provision  # noqa: E402
from tests.faults.mix import (  # noqa: E402
    AGENT_RING_MS,
    Fault,
    MixRun,
    Segment,
    compare,
    create_database,
    drop_database,
    durable_linkedids,
    run_plan,
    settled,
)

RESULTS = ROOT / "bench" / "results"
PG_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def schedule(minutes: float, segments: int, outage: float, journal: str) -> list[Segment]:
    seconds = minutes * 60 / segments
    outage = min(outage, 0.45 * seconds)  # over before the segment ends
    plan = []
    for index in range(segments):
        outage_fault = (
            Fault(0.5 * seconds, "PostgreSQL away", lambda r: r.postgresql_away(outage))
            if journal == "postgresql" else
            Fault(0.5 * seconds, "SQLite journal unwritable",
                  lambda r: r.sqlite_unwritable(outage))
        )
        plan.append(Segment(seconds, [
            Fault(0.10 * seconds, "kill -9 of hotline run", MixRun.kill_service),
            Fault(0.30 * seconds, "AMI connection dropped", MixRun.drop_ami),
            Fault(0.45 * seconds, "ARI websocket dropped", MixRun.drop_ari),
            outage_fault,
        ], restart_asterisk_after=index < segments - 1))
    return plan


async def main(rate: float, minutes: float, segments: int, outage: float,
               journal: str) -> dict[str, Any]:
    install = provision(say=lambda _: None)
    workdir = Path(tempfile.mkdtemp(prefix="hotline-faults-"))
    database_url = await create_database(PG_URL) if journal == "postgresql" else ""
    # enough agents that a caller rarely waits for a free one (ring + talk ~16 s each)
    per_ring_time = max(4, round(rate * 0.85 * 16 / len(AGENT_RING_MS)))
    run = MixRun(install, workdir, database_url=database_url,
                 agents_per_ring_time=per_ring_time, capacity=2000,
                 rtp_ports=2400, reconcile_seconds=30.0)
    began = time.monotonic()
    try:
        await run.start()
        await run_plan(run, rate, schedule(minutes, segments, outage, journal))
        placing_done = time.monotonic() - began
        truth = run.truth()
        waited = await settled(run, truth, timeout=120)
        figures = compare(truth, await run.records(), await durable_linkedids(run))
        load = os.getloadavg()
    finally:
        await run.stop()
        if database_url:
            await drop_database(database_url)
        if not os.environ.get("HOTLINE_KEEP"):
            shutil.rmtree(workdir, ignore_errors=True)
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "journal": journal,
        "asterisk": install.version,
        "machine": f"{os.cpu_count()} cores (shared)",
        "load_average_at_end": [round(v, 2) for v in load],
        "rate_calls_per_s": rate,
        "minutes": minutes,
        "segments": segments,
        "outage_seconds": outage,
        "agents": per_ring_time * len(AGENT_RING_MS),
        "run_seconds": round(placing_done, 1),
        "settle_seconds": round(waited, 1),
        "figures": figures.as_dict(),
        "faults": [fault.__dict__ for fault in run.faults],
        "stuck": run.stuck,  # a fault or a wave that did not come back within its bound
    }


def run_key(result: dict[str, Any]) -> str:
    """One entry per journal, rate and length: a shorter run keeps its own figures."""
    return (f"{result['journal']}, {result['rate_calls_per_s']:g} calls/s, "
            f"{result['minutes']:g} min")


def write_results(result: dict[str, Any]) -> None:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / "faults.json"
    kept: dict[str, Any] = {}
    if path.exists():
        kept = json.loads(path.read_text())
    kept[run_key(result)] = result
    path.write_text(json.dumps(kept, indent=2, ensure_ascii=False) + "\n")
    write_readme(kept)


def write_readme(results: dict[str, Any]) -> None:
    rows = []
    for r in sorted(results.values(), key=lambda r: (r["journal"], r["rate_calls_per_s"])):
        journal = r["journal"]
        f = r["figures"]
        kinds = {fault["name"] for fault in r["faults"]}
        rows.append(
            f"| {journal} | {r['rate_calls_per_s']:g} calls/s × {r['minutes']:g} min | "
            f"{len(r['faults'])} ({', '.join(sorted(kinds))}) | {f['placed']} | "
            f"{f['answered']} | {f['answered_by_person']} | {f['journaled']} | "
            f"{f['unanswered']} | {f['lost']} | {f['duplicated']} | "
            f"{f['outcome_mismatch']} | {f['ring_mismatch']} | {f['empty_flag_mismatch']} | "
            f"{f['controller_absent']} | {f['from_durable_record']} |"
        )
    table = "\n".join([
        "<!-- bench:faults -->",
        "| journal | run | faults | placed | answered | by a person | journaled | "
        "unanswered | lost | duplicated | outcome mismatch | ring mismatch | "
        "empty-flag mismatch | routed by the dialplan alone | completed from Asterisk's "
        "record |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
        *rows,
        "<!-- /bench:faults -->",
    ])
    readme = ROOT / "README.md"
    text = readme.read_text()
    pattern = re.compile(r"<!-- bench:faults -->.*?<!-- /bench:faults -->", re.S)
    if pattern.search(text):
        text = pattern.sub(lambda _: table, text)
    else:
        text += "\n" + table + "\n"
    readme.write_text(text)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rate", type=float, default=20.0, help="calls per second")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--segments", type=int, default=0,
                        help="fault cycles (default: one per two minutes)")
    parser.add_argument("--outage", type=float, default=60.0,
                        help="seconds the journal's database is away in each segment")
    parser.add_argument("--journal", choices=["sqlite", "postgresql"], default="sqlite")
    args = parser.parse_args()
    segments = args.segments or max(1, round(args.minutes / 2))
    result = asyncio.run(main(args.rate, args.minutes, segments, args.outage, args.journal))
    write_results(result)
    print(json.dumps(result["figures"], indent=1))
    for stuck in result["stuck"]:
        print(f"stuck: {stuck}", file=sys.stderr)
