"""Two Asterisk nodes behind Kamailio, one journal: node A's Asterisk killed under a
steady stream of real SIPp calls (the drill of `tests/faults/failover_drill.py`, with
more calls than the fault test places), repeated `--rounds` times.

    .venv/bin/python bench/failover.py [--rounds 3] [--before 100] [--after 200]

Writes bench/results/failover.json: per round, the calls placed, answered, cut and
failed before, during and after the failover and once node A is back ("back": as many
calls as "before"), per node; lost and doubled journal records; how soon the service saw
node A die. PostgreSQL is the journal when HOTLINE_TEST_DATABASE_URL is set (a fresh
database per round), else SQLite.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import text  # noqa: E402
from sqlalchemy.ext.asyncio import create_async_engine  # noqa: E402

from ivr.asterisk.sandbox import provision  # noqa: E402
from ivr.proxy.process import kamailio_binary  # noqa: E402
from tests.faults.failover_drill import result_path, run_drill  # noqa: E402
from tests.integration.harness import HotlineUnderTest  # noqa: E402

PG_URL = os.environ.get("HOTLINE_TEST_DATABASE_URL", "")


async def one_round(before: int, after: int, rate: float) -> dict[str, Any]:
    install = await asyncio.to_thread(provision, say=lambda _: None)
    workdir = Path(tempfile.mkdtemp(prefix="hotline-failover-"))
    database = f"hotline_failover_{uuid.uuid4().hex[:10]}" if PG_URL else ""
    admin = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT") if PG_URL else None
    if admin is not None:
        async with admin.connect() as conn:
            await conn.execute(text(f'CREATE DATABASE "{database}"'))
    url = PG_URL.rsplit("/", 1)[0] + f"/{database}" if PG_URL else ""
    hut = HotlineUnderTest(install, workdir, nodes=2, database_url=url, probe_interval=1,
                           capacity=200)
    try:
        await hut.start()
        result = await run_drill(hut, before=before, after=after, back=before, rate=rate)
        return {"journal": "postgresql" if PG_URL else "sqlite", **result.as_json()}
    finally:
        await hut.stop()
        for node in hut.hotline.nodes:
            if node.stack.instance is not None:
                shutil.rmtree(node.stack.instance.host, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)
        if admin is not None:
            async with admin.connect() as conn:
                await conn.execute(text(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)'))
            await admin.dispose()


async def main(rounds: int, before: int, after: int, rate: float) -> dict[str, Any]:
    results = [await one_round(before, after, rate) for _ in range(rounds)]
    return {
        "what": "node A's Asterisk killed (SIGKILL) under a steady stream of calls through "
                "Kamailio to two nodes; 'after' starts probe_interval + reply_timeout after "
                "the kill",
        "rounds": results,
        "lost_total": sum(r["lost"] for r in results),
        "doubles_total": sum(r["doubles"] for r in results),
        "failed_after_total": sum(r["phases"]["after"]["failed"] for r in results),
    }


PHASES = ("before", "during", "after", "back")


def write_readme(outcome: dict[str, Any]) -> None:
    """The README's failover table, between the `bench:failover` markers."""
    rounds = outcome["rounds"]
    first = rounds[0]
    head = (
        f"Measured {outcome['measured_at']} on this machine (2 cores, shared), "
        f"{outcome['asterisk']}, Kamailio {outcome['kamailio']}, journal on "
        f"{first['journal']}: {len(rounds)} rounds of SIPp calls at {first['rate']:g} "
        f"calls/s ({first['hold_ms']} ms each), probe interval "
        f"{first['probe_interval_seconds']} s, reply timeout {first['reply_timeout_ms']} ms; "
        "`kill -9` of node A's Asterisk at the start of *during*; *after* starts "
        "probe interval + reply timeout after the kill; *back*: A restarted and found by "
        "the probes. Each cell: placed / answered / cut (on A when it died) / failed, and "
        "the journal's calls by node."
    )
    rows = ["| round | " + " | ".join(PHASES)
            + " | cut calls journaled on A, cause 38 | lost | doubles | A's death seen after |",
            "|---" * (len(PHASES) + 5) + "|"]
    for number, result in enumerate(rounds, start=1):
        cells = []
        for name in PHASES:
            phase = result["phases"].get(name)
            if phase is None:
                cells.append("")
                continue
            nodes = ", ".join(f"{node} {count}" for node, count in sorted(phase["by_node"].items()))
            cells.append(f"{phase['placed']} / {phase['ok']} / {phase['cut']} / "
                         f"{phase['failed']} ({nodes})")
        during = result["phases"]["during"]
        rows.append(f"| {number} | " + " | ".join(cells)
                    + f" | {during['cut_journaled']} of {during['cut']} | {result['lost']} | "
                    f"{result['doubles']} | {result['node_down_observed_ms']:.0f} ms |")
    table = "\n".join([head, "", *rows])
    readme = ROOT / "README.md"
    text = readme.read_text()
    start, end = "<!-- bench:failover -->", "<!-- /bench:failover -->"
    block = f"{start}\n{table}\n{end}"
    readme.write_text(re.sub(rf"{re.escape(start)}.*?{re.escape(end)}", block, text,
                             flags=re.S))


def versions() -> dict[str, str]:
    install = provision(say=lambda _: None)
    kamailio = subprocess.run([kamailio_binary(), "-v"], capture_output=True, text=True)
    found = re.search(r"version: kamailio (\S+)", kamailio.stdout)
    return {"asterisk": install.version, "kamailio": found[1] if found else "?"}


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=int, default=100)
    parser.add_argument("--after", type=int, default=200)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--readme-only", action="store_true",
                        help="rewrite the README table from bench/results/failover.json")
    args = parser.parse_args()
    path = result_path(ROOT)
    if args.readme_only:
        write_readme(json.loads(path.read_text()))
        raise SystemExit(0)
    outcome = asyncio.run(main(args.rounds, args.before, args.after, args.rate))
    outcome = {
        "measured_at": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), **versions(), **outcome
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(outcome, indent=2, ensure_ascii=False) + "\n")
    write_readme(outcome)
    print(json.dumps(outcome, indent=2, ensure_ascii=False))
