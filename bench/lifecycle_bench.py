"""How long the lifecycle takes, with the real `hotline` command, Asterisk and SIPp:
a fresh start, a restart after `kill -9` that adopts the orphaned Asterisk, a start
refused because the SIP port is taken, and how soon a caller whose controller lost
its ARI websocket mid-menu is in the dialplan's fallback.

    .venv/bin/python bench/lifecycle_bench.py [--rounds 3]

Writes bench/results/lifecycle.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ivr.app import instance_name  # noqa: E402
from ivr.asterisk.instance import Instance  # noqa: E402
from ivr.asterisk.sandbox import AsteriskInstall, provision  # noqa: E402
from ivr.domain.events import EventKind  # noqa: E402
from tests.integration import sipp  # noqa: E402
from tests.integration.cli_process import CliProcess  # noqa: E402
from tests.integration.harness import HotlineUnderTest, Ports, render_test_config  # noqa: E402

RESULTS = ROOT / "bench" / "results"
IN_HOURS = "2026-11-23T10:00:00"


def summary(values: list[float], digits: int = 2) -> dict[str, Any]:
    return {"runs": [round(v, digits) for v in values],
            "median": round(statistics.median(values), digits)}


async def starts(install: AsteriskInstall, rounds: int) -> dict[str, Any]:
    fresh, adopt, refused = [], [], []
    for _ in range(rounds):
        workdir = Path(tempfile.mkdtemp(prefix="hotline-lifecycle-"))
        config = workdir / "hotline.toml"
        ports = Ports()
        config.write_text(render_test_config(ports, workdir / "data"))
        try:
            began = time.monotonic()
            first = await CliProcess.start("run", "-c", str(config))
            await first.wait_for(r"^hotline up")
            fresh.append(time.monotonic() - began)
            first.send(signal.SIGKILL)
            await first.exit_code()

            began = time.monotonic()
            second = await CliProcess.start("run", "-c", str(config))
            await second.wait_for(r"^hotline up")
            adopt.append(time.monotonic() - began)
            assert "adopted Asterisk pid" in second.text, second.text
            assert await second.stop() == 0

            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as squatter:
                squatter.bind(("127.0.0.1", ports.sip))
                began = time.monotonic()
                third = await CliProcess.start("run", "-c", str(config))
                assert await third.exit_code() == 1, third.text
                refused.append(time.monotonic() - began)
        finally:
            instance = Instance.create(install, instance_name(workdir / "data"), workdir / "data")
            shutil.rmtree(instance.host, ignore_errors=True)
            shutil.rmtree(workdir, ignore_errors=True)
    return {
        "fresh_start_to_up_s": summary(fresh),
        "restart_after_kill9_adopting_to_up_s": summary(adopt),
        "refused_sip_port_taken_to_exit_s": summary(refused),
    }


async def dropped_websocket(install: AsteriskInstall, rounds: int) -> dict[str, Any]:
    hotline = HotlineUnderTest(install, Path(tempfile.mkdtemp(prefix="hotline-drop-")))
    await hotline.start()
    hotline.set_now(IN_HOURS)
    handover: list[float] = []
    try:
        for index in range(rounds):
            controller = hotline.controller
            assert controller is not None
            await asyncio.wait_for(controller.ari.connected.wait(), 10)
            mark = hotline.tap.mark()
            caller = await sipp.call(hotline.call_dir(f"drop{index}"), hotline.ports.sip,
                                     "95007", hold_ms=5000)
            greeted = await hotline.tap.wait_for(
                EventKind.prompt_played, since=mark, prompt="greeting,menu"
            )
            socket_ = controller.ari.events_socket
            assert socket_ is not None
            began = time.monotonic()
            await socket_.close()
            await hotline.tap.wait_for(
                EventKind.controller_absent, since=mark, linkedid=greeted.linkedid
            )
            handover.append((time.monotonic() - began) * 1000)
            assert await caller.wait(30) == 0, caller.log()
    finally:
        await hotline.stop()
        if hotline.stack.instance is not None:
            shutil.rmtree(hotline.stack.instance.host, ignore_errors=True)
    return {"websocket_closed_to_fallback_ms": summary(handover, 1)}


async def main(rounds: int) -> dict[str, Any]:
    install = provision(say=print)
    return {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "asterisk": install.version,
        "rounds": rounds,
        **await starts(install, rounds),
        **await dropped_websocket(install, rounds + 2),
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    outcome = asyncio.run(main(args.rounds))
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "lifecycle.json").write_text(json.dumps(outcome, indent=2, ensure_ascii=False))
    print(json.dumps(outcome, indent=2, ensure_ascii=False))
