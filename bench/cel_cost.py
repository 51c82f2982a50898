"""What Asterisk's own durable record (CEL through cel_custom, JSON lines) costs per call.

The hotline as the tests build it (real Asterisk, the controller, the journal), its
clock on a Saturday night: each call is the off-hours path (prompt, voicemail prompt,
beep, a message until the caller hangs up 12 s after the answer, the journal steps of
each). Rounds of `--calls` calls
at `--rate` calls/s alternate with CEL on (the shipped cel.conf) and off (`enable = no`,
reloaded into the running Asterisk); per round, Asterisk's CPU time (user + system of
the process, all threads, from /proc) and the bytes CEL appended.

    .venv/bin/python bench/cel_cost.py [--calls 150] [--rate 10] [--rounds 3]

Writes bench/results/cel_cost.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivr.asterisk.running import find_running  # noqa: E402
from ivr.asterisk.sandbox import provision  # noqa: E402
from tests.integration import sipp  # noqa: E402
from tests.integration.harness import HotlineUnderTest  # noqa: E402

RESULTS = ROOT / "bench" / "results"
SATURDAY_NIGHT = "2026-11-21T22:30:00"


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def size(path: Path) -> int:
    return path.stat().st_size if path.exists() else 0


async def set_cel(hotline: HotlineUnderTest, enabled: bool) -> str:
    instance = hotline.stack.instance
    assert instance is not None
    conf = instance.etc / "cel.conf"
    text = conf.read_text()
    text = text.replace("enable = yes", "enable = no") if not enabled else \
        text.replace("enable = no", "enable = yes")
    conf.write_text(text)
    await hotline.cli("module reload cel")
    return await hotline.cli("cel show status")


async def one_round(hotline: HotlineUnderTest, pid: int, calls: int, rate: float,
                    name: str) -> dict[str, float]:
    instance = hotline.stack.instance
    assert instance is not None
    cel_before = size(instance.cel_log)
    cpu_before = cpu_seconds(pid)
    began = time.monotonic()
    caller = await sipp.call(
        hotline.call_dir(name), hotline.ports.sip, "95007", calls=calls, rate=rate,
        hold_ms=12_000,
    )
    code = await caller.wait(calls / rate + 120)
    if code != 0 and os.environ.get("HOTLINE_BENCH_DEBUG"):
        print(caller.log()[-3000:], flush=True)
    await asyncio.sleep(1.0)  # the last hangups and CEL lines
    return {
        "exit": code,
        "seconds": time.monotonic() - began,
        "cpu_ms_per_call": (cpu_seconds(pid) - cpu_before) * 1000 / calls,
        "cel_bytes_per_call": (size(instance.cel_log) - cel_before) / calls,
    }


async def main(calls: int, rate: float, rounds: int) -> dict[str, Any]:
    install = provision(say=lambda _: None)
    workdir = Path(tempfile.mkdtemp(prefix="hotline-cel-"))
    hotline = HotlineUnderTest(install, workdir)
    await hotline.start()
    results: dict[str, list[dict[str, float]]] = {"on": [], "off": []}
    try:
        hotline.set_now(SATURDAY_NIGHT)
        # no caller turned away busy, nor with 488 for want of an RTP port
        hotline.ports.rtp_start, hotline.ports.rtp_width = 50000, 2000
        await hotline.reload(capacity="1000")
        assert hotline.stack.instance is not None
        running = find_running(hotline.stack.instance)
        assert running is not None
        for index in range(rounds):
            for mode in ("on", "off") if index % 2 == 0 else ("off", "on"):
                status = await set_cel(hotline, mode == "on")
                print(mode, status.strip().splitlines()[:1], flush=True)
                results[mode].append(
                    await one_round(hotline, running.pid, calls, rate, f"{mode}{index}"))
                print(mode, results[mode][-1], flush=True)
        await set_cel(hotline, True)
    finally:
        await hotline.stop()
        if hotline.stack.instance is not None:
            shutil.rmtree(hotline.stack.instance.host, ignore_errors=True)
        shutil.rmtree(workdir, ignore_errors=True)

    def median(mode: str, key: str) -> float:
        return round(statistics.median(r[key] for r in results[mode]), 2)

    on, off = median("on", "cpu_ms_per_call"), median("off", "cpu_ms_per_call")
    return {
        "measured_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "asterisk": install.version,
        "machine": f"{os.cpu_count()} cores (shared with other runs)",
        "call": ("off-hours: prompt, voicemail prompt, beep, a message until the caller "
                 "hangs up 12 s after the answer"),
        "calls_per_round": calls,
        "rate_calls_per_s": rate,
        "rounds": results,
        "asterisk_cpu_ms_per_call": {"cel_on": on, "cel_off": off,
                                     "cel_cost": round(on - off, 2)},
        "cel_bytes_per_call": median("on", "cel_bytes_per_call"),
        "cel_share_of_asterisk_cpu": round((on - off) / on, 3) if on else None,
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=150)
    parser.add_argument("--rate", type=float, default=10.0)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    result = asyncio.run(main(args.calls, args.rate, args.rounds))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "cel_cost.json").write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: v for k, v in result.items() if k != "rounds"}, indent=1))
