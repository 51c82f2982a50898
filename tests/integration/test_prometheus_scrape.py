"""A real Prometheus (Debian's) scrapes the service's own /metrics while SIPp places
calls with known outcomes; the numbers Prometheus stores match the truth and `hotline report`."""

from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest

from ivr.domain.events import EventKind
from ivr.journal.queries import report, today_range

from . import sipp
from .harness import HotlineUnderTest, until
from .sipp import Press, free_port
from .test_callflow import IN_HOURS, SATURDAY_NIGHT, start_agents, stop_all

pytestmark = pytest.mark.asterisk
RULES = Path(__file__).resolve().parents[2] / "metrics" / "prometheus" / "rules.yml"


@pytest.fixture
async def prometheus(fresh: HotlineUnderTest, tmp_path: Path) -> AsyncIterator[str]:
    binary = shutil.which("prometheus")
    if not binary:
        if os.environ.get("CI") == "true":
            pytest.fail("prometheus is not installed (apt-get install prometheus)")
        pytest.skip("prometheus is not installed")
    # the service's own /metrics, as `hotline run` serves it
    metrics_port, prom_port = fresh.ports.service, free_port()
    (tmp_path / "prometheus.yml").write_text(
        "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\n"
        f"rule_files: ['{RULES}']\n"
        "scrape_configs:\n  - job_name: hotline\n"
        f"    static_configs: [{{targets: ['127.0.0.1:{metrics_port}']}}]\n"
    )
    process = await asyncio.create_subprocess_exec(
        binary, f"--config.file={tmp_path / 'prometheus.yml'}",
        f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{prom_port}",
        stdout=asyncio.subprocess.DEVNULL, stderr=open(tmp_path / "prometheus.log", "wb"),  # noqa: SIM115
    )
    url = f"http://127.0.0.1:{prom_port}"
    try:
        await wait_until_scraping(url)
        yield url
    finally:
        process.terminate()
        await process.wait()


async def query(url: str, promql: str) -> dict[str, float]:
    async with aiohttp.ClientSession() as session, session.get(
        f"{url}/api/v1/query", params={"query": promql}
    ) as response:
        body = await response.json()
    assert body["status"] == "success", body
    return {
        ",".join(f"{k}={v}" for k, v in sorted(r["metric"].items())
                 if k not in ("__name__", "instance", "job")):
        float(r["value"][1]) for r in body["data"]["result"]
    }


async def wait_until_scraping(url: str, timeout: float = 30.0) -> None:
    deadline = asyncio.get_running_loop().time() + timeout
    while True:
        try:
            if await query(url, 'up{job="hotline"} == 1'):
                return
        except (aiohttp.ClientError, AssertionError):
            pass
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError("Prometheus never scraped the exporter")
        await asyncio.sleep(0.5)


async def test_prometheus_sees_the_calls_and_agrees_with_the_report(
    fresh: HotlineUnderTest, prometheus: str
) -> None:
    assert fresh.journal is not None
    offered_before = sum((await query(prometheus, "hotline_calls_offered_total")).values())
    # one call answered by an agent after ~6 s, one voicemail-less off-hours hang-up
    fresh.set_now(IN_HOURS)
    workdir = fresh.call_dir("prom")
    agents = await start_agents(fresh, workdir, ring_ms=4000)
    try:
        mark = fresh.tap.mark()
        answered = await sipp.call(workdir, fresh.ports.sip, "95007", name="answered",
                                   digits=[Press("0", 1500)], hold_ms=9000)
        assert await answered.wait(60) == 0, answered.log()
        await fresh.tap.wait_for(EventKind.call_ended, since=mark)
    finally:
        await stop_all(agents)
    fresh.set_now(SATURDAY_NIGHT)
    mark = fresh.tap.mark()
    gone = await sipp.call(workdir, fresh.ports.sip, "95007", name="gone", hold_ms=1500)
    assert await gone.wait(30) == 0, gone.log()
    await fresh.tap.wait_for(EventKind.call_ended, since=mark)
    await fresh.journal.writer.flush()

    async def scraped_both() -> bool:
        offered = sum((await query(prometheus, "hotline_calls_offered_total")).values())
        return offered - offered_before >= 2

    await until(scraped_both, timeout=30)  # the next scrapes after the journal has both
    offered = sum((await query(prometheus, "hotline_calls_offered_total")).values())
    assert offered - offered_before == 2
    by_outcome = await query(prometheus, 'hotline_calls_total{line="main"}')
    assert by_outcome["line=main,mode=ivr,outcome=answered_by_agent"] >= 1
    assert by_outcome["line=main,mode=ivr,outcome=abandoned"] >= 1

    now = datetime.now(UTC)
    day = await report(fresh.journal.store, now - timedelta(days=2), now + timedelta(hours=1),
                       zone="UTC", targets=fresh.config.targets.values)
    total_offered = sum((await query(prometheus, "hotline_calls_offered_total")).values())
    assert total_offered == day.tally.offered
    within = sum((await query(prometheus, "hotline_calls_within_three_rings_total")).values())
    assert within == day.tally.answered_within_three_rings
    ratio = await query(
        prometheus, 'hotline_ratio{line="all",kind="transfer_answer",period="today"}'
    )
    # "today" is the hotline's calendar day (Asia/Shanghai): after 16:00 UTC the module's
    # earlier calls belong to yesterday there
    zone = fresh.config.hotline.timezone
    today = await report(fresh.journal.store, *today_range(datetime.now(UTC), zone),
                         zone=zone, targets=fresh.config.targets.values)
    assert today.kpi.transfer_answer_rate.value is not None  # this test's answered call
    assert next(iter(ratio.values())) == pytest.approx(today.kpi.transfer_answer_rate.value)
    # the 5-minute rule group evaluates every 30 s: the unanswered share of these calls
    deadline = asyncio.get_running_loop().time() + 45
    while not (rules := await query(prometheus, "hotline:no_answer_ratio:5m")):
        assert asyncio.get_running_loop().time() < deadline, "recording rules never evaluated"
        await asyncio.sleep(2)
    assert 0.0 <= next(iter(rules.values())) <= 1.0
