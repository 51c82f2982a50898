"""`hotline run --nodes 2`, as an operator starts it: Kamailio on the callers' port and
two Asterisk nodes, one journal; real calls through the proxy land on both nodes and are
journaled with their node; `hotline reload` renders and reloads both nodes; Ctrl-C stops
the proxy and both nodes."""

from __future__ import annotations

import os
import re
import shutil
import signal
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest

from ivr.app import instance_name
from ivr.asterisk.instance import Instance, cli
from ivr.asterisk.running import find_running
from ivr.asterisk.sandbox import AsteriskInstall
from ivr.config import parse_config
from ivr.domain.nodes import node_of
from ivr.journal.service import open_store
from ivr.proxy.process import kamailio_binary

from . import sipp
from .cli_process import CliProcess, run_cli
from .conftest import IN_CI
from .harness import Ports, nodes_toml, render_test_config

pytestmark = pytest.mark.asterisk


@pytest.fixture
def config_path(asterisk_install: AsteriskInstall, tmp_path: Path) -> Iterator[Path]:
    try:
        kamailio_binary()
    except RuntimeError as exc:
        if IN_CI:
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    ports = Ports()
    path = tmp_path / "hotline.toml"
    nodes = nodes_toml(ports, 2, 1)
    path.write_text(render_test_config(ports, tmp_path / "data") + nodes)
    (tmp_path / "hotline.capacity7.toml").write_text(
        render_test_config(ports, tmp_path / "data", capacity="7") + nodes
    )
    yield path
    base = instance_name(tmp_path / "data")
    for node in ("a", "b"):
        instance = Instance.create(asterisk_install, f"{base}-{node}", tmp_path / "data")
        left = find_running(instance)
        if left is not None:
            os.kill(left.pid, signal.SIGKILL)
        if not os.environ.get("HOTLINE_KEEP"):
            shutil.rmtree(instance.host, ignore_errors=True)


async def test_run_with_two_nodes_spreads_calls_reloads_both_and_stops_everything(
    config_path: Path, tmp_path: Path, asterisk_install: AsteriskInstall
) -> None:
    config = parse_config(config_path.read_text(), config_path)
    run = await CliProcess.start("run", "-c", str(config_path), "--nodes", "2")
    await run.wait_for(r"^hotline up")
    proxy = await run.wait_for(r"proxy +kamailio pid (\d+) on 127\.0\.0\.1:(\d+)")
    assert int(proxy[2]) == config.proxy.sip_port
    await run.wait_for(r"node a +sip 127\.0\.0\.1:\d+, ARI .*systemname a")
    await run.wait_for(r"node b ")
    await run.wait_for(rf"call main +sip:95007@127\.0\.0\.1:{config.proxy.sip_port} ")

    caller = await sipp.call(tmp_path / "sipp", config.proxy.sip_port, "95007",
                             hold_ms=1000, calls=4, rate=4)
    assert await caller.wait(60) == 0, caller.log()

    # a reload renders and reloads every node (each on its own ports)
    config_path.write_text((tmp_path / "hotline.capacity7.toml").read_text())
    code, said = await run_cli("reload", "-c", str(config_path))
    assert code == 0, said
    base = instance_name(tmp_path / "data")
    for node in ("a", "b"):
        instance = Instance.create(asterisk_install, f"{base}-{node}", tmp_path / "data")
        dialplan = await cli(instance, "dialplan show 95007@hotline-public")
        assert "} > 7]" in dialplan, (node, dialplan)
    assert await run.stop() == 0, run.text
    kamailio_pid = int(proxy[1])
    assert not Path(f"/proc/{kamailio_pid}").exists() or not re.search(
        rb"kamailio", Path(f"/proc/{kamailio_pid}/cmdline").read_bytes()
    ), "the proxy stops with the hotline"

    store = open_store(config)
    try:
        records = await store.calls(limit=100)
    finally:
        await store.close()
    nodes = Counter(node_of(r.linkedid, config.node_names) for r in records)
    assert nodes == {"a": 2, "b": 2}  # round robin over both nodes
    assert all(r.outcome is not None for r in records)
