"""Several Asterisk nodes behind Kamailio, one journal: `[[nodes]]` and `[proxy]` are
checked like the rest of the config (no `[[nodes]]` is one node, as before); each node's
Asterisk gets its own ports and systemname; Kamailio's config is rendered from the same
file (dispatcher, OPTIONS probes, failover to the next node) and Kamailio itself accepts
it; the journal knows each call's node from its linkedid, and searches, reports and
the per-node counts split by it while the merged figures stay the rollup's."""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from ivr.api.call_search import CallFilter, CallSearch
from ivr.asterisk.instance import Instance
from ivr.asterisk.render import render_configs
from ivr.asterisk.sandbox import AsteriskInstall
from ivr.config import HotlineConfig, parse_config
from ivr.domain.nodes import node_of
from ivr.domain.record import Outcome
from ivr.journal.commands import period_report
from ivr.journal.queries import by_node, report
from ivr.journal.service import open_store
from ivr.journal.store import Store
from ivr.live import LiveState
from ivr.proxy.render import ProxyFiles, dispatcher_list, kamailio_cfg, render_proxy
from ivr.secrets import load_secrets
from tests.unit.test_config import example_text, problems_of
from tests.unit.test_outcomes import MODES, T0, CallScript, answered_by_agent

NODES = """
[proxy]
sip_port = 5070
probe_interval_seconds = 3

[[nodes]]
name = "a"
sip_port = 5071
http_port = 8091
ami_port = 5041

[[nodes]]
name = "b"
systemname = "nodeb"
sip_port = 5072
http_port = 8092
ami_port = 5042
"""


def two_nodes(extra: str = NODES) -> HotlineConfig:
    return parse_config(example_text() + extra, Path("hotline.toml"))


def test_a_config_without_nodes_is_one_unnamed_node_as_before() -> None:
    config = parse_config(example_text(), Path("hotline.toml"))
    assert config.nodes == () and config.node_names == {}
    assert config.asterisk.systemname is None


def test_each_node_runs_the_config_on_its_own_ports_rtp_share_and_systemname() -> None:
    config = two_nodes()
    assert config.node_names == {"a": "a", "nodeb": "b"}
    a, b = (config.for_node(node).asterisk for node in config.nodes)
    assert (a.sip_port, a.http_port, a.ami_port, a.systemname) == (5071, 8091, 5041, "a")
    assert (b.sip_port, b.http_port, b.ami_port, b.systemname) == (5072, 8092, 5042, "nodeb")
    assert a.rtp_end < b.rtp_start and a.rtp_start == config.asterisk.rtp_start
    assert b.rtp_end <= config.asterisk.rtp_end
    assert config.for_node(config.nodes[1]).lines == config.lines


def test_asterisk_is_told_each_nodes_systemname(tmp_path: Path) -> None:
    config = two_nodes()
    instance = Instance.create(AsteriskInstall(tmp_path / "root", "Asterisk 22"), "t", tmp_path)
    secrets = load_secrets(tmp_path / "data")
    sounds = {name: instance.sounds / name for name in (
        "greeting", "menu", "off_hours", "invalid", "voicemail", "callback", "queue", "busy")}
    texts = render_configs(config.for_node(config.nodes[1]), secrets, instance, sounds)
    assert "\nsystemname = nodeb\n" in texts["asterisk.conf"]
    assert ":5072\n" in texts["pjsip.conf"]
    one = render_configs(parse_config(example_text()), secrets, instance, sounds)
    assert "systemname" not in one["asterisk.conf"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        (("name = \"b\"", "name = \"a\""), "nodes: name 'a' appears twice"),
        (("systemname = \"nodeb\"", "systemname = \"a\""), "systemname 'a' appears twice"),
        (("sip_port = 5072", "sip_port = 5070"), "proxy.sip_port 5070 is also nodes.b.sip_port"),
        (("ami_port = 5042", "ami_port = 5041"), "nodes.b.ami_port 5041 is also"),
        (("systemname = \"nodeb\"", "systemname = \"node-b\""), "nodes.1.systemname"),
        (("probe_interval_seconds = 3", "probe_interval_seconds = 0"), "proxy.probe_interval"),
    ],
)
def test_bad_nodes_are_named(change: tuple[str, str], expected: str) -> None:
    problems = problems_of(example_text() + NODES.replace(*change))
    assert any(expected in problem for problem in problems), problems


def test_run_with_nodes_makes_up_the_missing_ones_next_to_asterisks_ports() -> None:
    config = parse_config(example_text(), Path("hotline.toml"))
    two = config.with_nodes(2)
    a = config.asterisk
    assert [n.name for n in two.nodes] == ["a", "b"]
    assert [n.sip_port for n in two.nodes] == [a.sip_port + 1, a.sip_port + 2]
    assert two.proxy.sip_port == a.sip_port  # callers dial the number they always did
    assert config.with_nodes(1).nodes[0].sip_port == a.sip_port + 1
    assert two_nodes().with_nodes(2).nodes == two_nodes().nodes  # named ones are kept


def test_the_proxy_dispatches_over_the_nodes_probes_them_and_fails_over(tmp_path: Path) -> None:
    config = two_nodes()
    files = ProxyFiles(tmp_path / "proxy")
    assert dispatcher_list(config).splitlines()[1:] == [
        "1 sip:127.0.0.1:5071 0 0 node=a",
        "1 sip:127.0.0.1:5072 0 0 node=b",
    ]
    cfg = kamailio_cfg(config, files)
    assert "listen=udp:127.0.0.1:5070\n" in cfg
    assert 'modparam("dispatcher", "ds_ping_interval", 3)' in cfg
    # a manual line's caller may ring unanswered in the queue: the proxy outwaits it
    waited = config.queue.max_wait_seconds * 1000
    assert int(re.search(r'"fr_inv_timer", (\d+)\)', cfg)[1]) > waited
    assert int(re.search(r'"max_inv_lifetime", (\d+)\)', cfg)[1]) > waited
    assert f'modparam("dispatcher", "list_file", "{files.dispatcher_list}")' in cfg
    failure = cfg[cfg.index("failure_route[NODE_DOWN]"):]
    assert "ds_mark_dst(\"ip\")" in failure and "ds_next_dst()" in failure
    render_proxy(config, files)
    assert files.config.read_text() == cfg and files.run.is_dir()
    assert oct(files.config.stat().st_mode & 0o777) == "0o640"


@pytest.mark.skipif(not shutil.which("kamailio") and not Path("/usr/sbin/kamailio").exists(),
                    reason="kamailio is not installed (scripts/setup.sh installs it)")
def test_kamailio_itself_accepts_the_rendered_config(tmp_path: Path) -> None:
    files = ProxyFiles(tmp_path / "proxy")
    render_proxy(two_nodes(), files)
    binary = shutil.which("kamailio") or "/usr/sbin/kamailio"
    checked = subprocess.run(
        [binary, "-c", "-f", str(files.config), "-Y", str(files.run)],
        capture_output=True, text=True, timeout=30,
    )
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_a_linkedid_names_its_node_by_the_systemname_in_front() -> None:
    nodes = {"a": "a", "nodeb": "b"}
    assert node_of("a-1764590000.42", nodes) == "a"
    assert node_of("nodeb-1764590000.7", nodes) == "b"
    assert node_of("1764590000.42", nodes) is None  # one node without a systemname
    assert node_of("other-1764590000.1", nodes) is None
    assert node_of("a-", nodes) is None


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[Store]:
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/journal.sqlite3", line_modes=MODES)
    store.nodes = {"a": "a", "nodeb": "b"}
    await store.migrate()
    yield store
    await store.close()


async def test_the_journal_keeps_each_calls_node_and_splits_by_it(store: Store) -> None:
    calls = [answered_by_agent(f"a-1762135200.{n}", start=T0 + timedelta(minutes=n))
             for n in range(3)]
    calls += [answered_by_agent(f"nodeb-1762135200.{n}", start=T0 + timedelta(minutes=n))
              for n in range(2)]
    on_a = CallScript("a-1762135300.9", start=T0 + timedelta(minutes=9)).arrives().menu()
    calls.append(on_a)  # still in progress on A
    await store.ingest([event for call in calls for event in call.events])

    assert await store.calls_in_progress_on("a") == ["a-1762135300.9"]
    assert await store.calls_in_progress_on("b") == []
    search = CallSearch(store.engine)
    page = await search.page(CallFilter(node="b"), 10)
    assert sorted(r.linkedid for r in page.calls) == ["nodeb-1762135200.0", "nodeb-1762135200.1"]
    assert len((await search.page(CallFilter(), 10)).calls) == 6  # merged by default

    end = T0 + timedelta(hours=1)
    split = await by_node(store, T0, end)
    assert split["a"].tally.offered == 3 and split["a"].tally.in_progress == 1
    assert split["b"].tally.offered == 2
    assert split["b"].tally.outcomes()[Outcome.answered_by_agent] == 2
    merged = await report(store, T0, end)
    assert merged.tally.offered == split["a"].tally.offered + split["b"].tally.offered


def test_the_examples_commented_two_node_block_is_a_valid_config() -> None:
    text = example_text()
    start = text.index("# [proxy]")
    end = text.index("ami_port = 5040", start) + len("ami_port = 5040")
    block = "\n".join(line[2:] if line.startswith("# ") else ""
                      for line in text[start:end].splitlines())
    config = parse_config(text.replace(text[start:end], block), Path("hotline.toml"))
    assert [node.name for node in config.nodes] == ["a", "b"]
    assert config.proxy.sip_port == 5060 and config.proxy.probe_interval_seconds == 2


async def test_the_text_report_splits_by_node_under_the_merged_figures(tmp_path: Path) -> None:
    config = two_nodes().model_copy(update={
        "service": two_nodes().service.model_copy(update={"data_dir": tmp_path}),
    })
    store = open_store(config)  # folds with this config's nodes
    try:
        await store.migrate()
        calls = [answered_by_agent(f"a-1762135200.{n}", start=T0 + timedelta(minutes=n))
                 for n in range(3)]
        calls.append(answered_by_agent("nodeb-1762135200.1", start=T0))
        await store.ingest([event for call in calls for event in call.events])
    finally:
        await store.close()
    text = await period_report(config, day="2026-11-03", month=None, line=None)
    assert "offered calls: 4" in text
    split = text[text.index("per node"):].splitlines()
    assert re.match(r"a +3 ", split[2]) and re.match(r"b +1 ", split[3]), split
    one_node = parse_config(example_text()).model_copy(update={
        "service": config.service,
    })
    assert "per node" not in await period_report(one_node, day="2026-11-03", month=None,
                                                 line=None)


def test_the_live_view_of_two_nodes_is_their_union_and_a_busy_agent_is_busy() -> None:
    a, b = LiveState(), LiveState()
    member = {"Interface": "PJSIP/agent1", "MemberName": "agent1", "Paused": "0"}
    a.apply({"Event": "QueueMember", **member, "Status": "1"})  # free on node a
    b.apply({"Event": "QueueMember", **member, "Status": "2"})  # talking on node b
    b.apply({"Event": "QueueMember", "Interface": "PJSIP/agent2", "Status": "1"})
    a.apply({"Event": "QueueCallerJoin", "Uniqueid": "a-1.1", "Timestamp": "100.0"})
    b.apply({"Event": "QueueCallerJoin", "Uniqueid": "b-1.1", "Timestamp": "90.0"})
    b.apply({"Event": "AgentConnect", "Uniqueid": "b-1.2", "Timestamp": "95.0"})
    merged = LiveState.merged([a, b])
    assert merged.waiting == {"a-1.1", "b-1.1"} and merged.talking == {"b-1.2"}
    assert merged.longest_wait(100.0) == 10.0
    assert merged.agents["PJSIP/agent1"].state == "busy"
    assert merged.agents_by_state()["logged_in"] == 2
    # the last events of both nodes in time order
    assert [e["Event"] for e in merged.recent] == [
        "QueueCallerJoin", "AgentConnect", "QueueCallerJoin"]
    assert LiveState.merged([a]).agents["PJSIP/agent1"].state == "available"
