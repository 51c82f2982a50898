"""Two Asterisk nodes behind Kamailio with one journal: killing node A's Asterisk while
calls run at 10 calls/s loses no call that starts after the dispatcher's probe interval
(every one is answered, by node B), the calls that were on A are journaled as ended
when A died (cause 38, on node A), and every SIPp call has exactly one journal record,
also after A is started again and its durable record reconciled. See
`failover_drill.py` for the phases; `bench/failover.py` runs the same drill longer."""

from __future__ import annotations

import os
import shutil
import uuid
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from ivr.asterisk.sandbox import AsteriskInstall
from ivr.auth.roles import Role
from ivr.auth.tokens import TokenStore
from ivr.proxy.process import kamailio_binary
from tests.faults.failover_drill import run_drill
from tests.integration.conftest import IN_CI
from tests.integration.harness import HotlineUnderTest

pytestmark = pytest.mark.asterisk

PG_URL = os.environ.get("HOTLINE_TEST_DATABASE_URL", "")


@pytest.fixture
async def journal_url() -> AsyncIterator[str]:
    """A fresh PostgreSQL database when one is configured (the shared journal of a real
    two-node deployment), else the SQLite default ("")."""
    if not PG_URL:
        yield ""
        return
    name = f"hotline_nodes_{uuid.uuid4().hex[:10]}"
    admin = create_async_engine(PG_URL, isolation_level="AUTOCOMMIT")
    async with admin.connect() as conn:
        await conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield PG_URL.rsplit("/", 1)[0] + f"/{name}"
    finally:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await admin.dispose()


@pytest.fixture
async def two_nodes(
    asterisk_install: AsteriskInstall, tmp_path: Path, journal_url: str
) -> AsyncIterator[HotlineUnderTest]:
    try:
        kamailio_binary()
    except RuntimeError as exc:
        if IN_CI:
            pytest.fail(str(exc))
        pytest.skip(str(exc))
    under_test = HotlineUnderTest(
        asterisk_install, tmp_path, nodes=2, database_url=journal_url, probe_interval=1,
        capacity=60,
    )
    await under_test.start()
    try:
        yield under_test
    finally:
        await under_test.stop()
        if not os.environ.get("HOTLINE_KEEP"):
            for node in under_test.hotline.nodes:
                if node.stack.instance is not None:
                    shutil.rmtree(node.stack.instance.host, ignore_errors=True)


async def test_killing_one_node_loses_no_call_after_the_probe_interval(
    two_nodes: HotlineUnderTest,
) -> None:
    result = await run_drill(two_nodes, before=20, after=40, back=10, rate=10.0)
    before, during, after, back = (
        result.phases[p] for p in ("before", "during", "after", "back")
    )

    # both nodes took calls while both were up, and the journal knows which had which
    assert before.failed == 0 and before.cut == 0 and before.ok == 20
    assert set(before.by_node) == {"a", "b"} and min(before.by_node.values()) >= 5
    # the kill cut the calls that were on A, and only those
    assert during.cut >= 1 and during.failed == 0
    assert during.cut_journaled == during.cut
    # after the probe interval: every call answered, all by B
    assert after.ok == 40 and after.failed == 0 and after.cut == 0
    assert after.by_node == {"b": 40}
    # one record per call, every one ended; A's record read back adds no call
    assert result.lost == 0 and result.doubles == 0
    assert result.journal_records == before.placed + during.placed + after.placed
    # A back: the proxy's probes found it, calls spread over both nodes again
    assert back.ok == 10 and back.failed == 0 and set(back.by_node) == {"a", "b"}
    assert result.records_after_restart == result.journal_records + back.placed

    # the API and /metrics merge both nodes by default and split by node on request
    await split_by_node_over_http(two_nodes, result.records_after_restart)


async def split_by_node_over_http(hut: HotlineUnderTest, records: int) -> None:
    assert hut.journal is not None
    token = await TokenStore(hut.journal.store.engine).create(
        "failover-test", Role.viewer, datetime.now(UTC)
    )
    base = f"http://127.0.0.1:{hut.ports.service}"
    headers = {"Authorization": f"Bearer {token.secret}"}
    async with aiohttp.ClientSession(base, headers=headers) as http:
        async with http.get("/api/calls", params={"limit": "1000"}) as response:
            assert response.status == 200, await response.text()
            merged = (await response.json())["calls"]
        async with http.get("/api/calls", params={"limit": "1000", "node": "a"}) as response:
            on_a = (await response.json())["calls"]
        async with http.get("/metrics") as response:
            text_metrics = await response.text()
        today = datetime.now(hut.config.hotline.zone).date().isoformat()
        async with http.get("/api/reports/day", params={"day": today}) as response:
            assert response.status == 200, await response.text()
            day = await response.json()
    nodes = Counter(call["node"] for call in merged)
    assert len(merged) == records and set(nodes) == {"a", "b"}
    assert len(on_a) == nodes["a"] and {call["node"] for call in on_a} == {"a"}
    families = {f.name: f for f in text_string_to_metric_families(text_metrics)}
    by_node: Counter[str] = Counter()
    for sample in families["hotline_node_calls_today"].samples:
        by_node[sample.labels["node"]] += int(sample.value)
    assert by_node == nodes
    up = {s.labels["node"]: s.value for s in families["hotline_node_up"].samples}
    assert up == {"a": 1.0, "b": 1.0}  # A is back
    # the day's report: merged as ever, and the same calls split by node beside it
    per_node = {node: part["offered"] for node, part in day["per_node"].items()}
    assert per_node == nodes and day["total"]["offered"] == sum(nodes.values())
