"""The wallboard during real calls: SIPp callers and agent phones on the real Asterisk,
the real controller's live view, the API served by uvicorn on loopback, the page in
Debian's headless chromium. While a caller waits, then talks, the page shows what
/api/live says; after the call, what the day report says. A screenshot is taken during
the call (kept where HOTLINE_WALLBOARD_SCREENSHOT says)."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from ivr.api.app import create_api
from ivr.api.context import ApiServices
from ivr.app import ControllerLiveView
from ivr.auth.roles import Role
from ivr.auth.tokens import TokenStore
from ivr.domain.events import EventKind
from ivr.journal.queries import report, today_range
from tests.unit.test_wallboard import CHROMEDRIVER, CHROMIUM, served

from . import sipp
from .harness import HotlineUnderTest
from .sipp import Press
from .test_callflow import IN_HOURS, start_agents, stop_all

pytestmark = pytest.mark.asterisk
SCREENSHOT = os.environ.get("HOTLINE_WALLBOARD_SCREENSHOT_CALLS")


async def _nothing() -> None:
    return None


async def test_the_wallboard_shows_real_calls_as_the_api_does(
    fresh: HotlineUnderTest, tmp_path: Path
) -> None:
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI") == "true":
            pytest.fail("chromium and chromium-driver are not installed (scripts/setup.sh)")
        pytest.skip("needs Debian's chromium and chromium-driver")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    assert fresh.journal is not None and fresh.controller is not None
    store = fresh.journal.store
    services = ApiServices(
        journal=store,
        config=lambda: fresh.config,
        config_path=fresh.config_path,
        live=ControllerLiveView(lambda: fresh.controller),
        reload=_nothing,
        voicemail_path=lambda path: path,
    )
    app = create_api(services)
    token = (await TokenStore(store.engine).create(
        "wallboard-test", Role.viewer, datetime.now(UTC))).secret
    headers = {"Authorization": f"Bearer {token}"}

    fresh.set_now(IN_HOURS)
    workdir = fresh.call_dir("wallboard")
    # the agents' phones ring 8 s before answering: the caller waits in the queue
    agents = await start_agents(fresh, workdir, ring_ms=8000)
    async with served(app, tmp_path / "profile") as (port, browser):
        base = f"http://127.0.0.1:{port}"

        async def api(path: str) -> Any:
            async with httpx.AsyncClient(base_url=base, headers=headers) as client:
                response = await client.get(path)
                assert response.status_code == 200, response.text
                return response.json()

        def shown(element_id: str) -> str:
            return str(browser.find_element(By.ID, element_id).text)

        async def until(condition: Callable[[], bool], timeout: float = 30) -> None:
            await asyncio.to_thread(
                WebDriverWait(browser, timeout, poll_frequency=0.1).until,
                lambda _: condition(),
            )

        try:
            await asyncio.to_thread(browser.get, f"{base}/wallboard#token={token}")
            await until(lambda: shown("waiting") == "0")
            mark = fresh.tap.mark()
            caller = await sipp.call(workdir, fresh.ports.sip, "95007", name="waiting",
                                     digits=[Press("0", 1500)], hold_ms=18000)
            await fresh.tap.wait_for(EventKind.human_requested, since=mark, timeout=30)
            # waiting: the page and /api/live agree
            await until(lambda: shown("waiting") == "1")
            live = await api("/api/live")
            assert live["waiting"] == 1
            assert shown("longest-wait").endswith(" s")
            # talking, with the agent by their configured name
            await fresh.tap.wait_for(EventKind.agent_answered, since=mark, timeout=30)
            await until(lambda: shown("talking") == "1" and shown("waiting") == "0")
            live = await api("/api/live")
            assert (live["waiting"], live["talking"]) == (0, 1)
            page_agents = {
                (e.find_element(By.CLASS_NAME, "name").text, e.get_attribute("class"))
                for e in browser.find_elements(By.CSS_SELECTOR, "#agents li")
            }
            assert page_agents == {(a["name"], a["state"]) for a in live["agents"]}
            # by their configured names (app_queue knows them as PJSIP/agent1, PJSIP/agent2)
            assert {name for name, _ in page_agents} <= {"agent one", "agent two"}
            assert "busy" in {state for _, state in page_agents}
            screenshot = Path(SCREENSHOT) if SCREENSHOT else tmp_path / "during-call.png"
            assert browser.save_screenshot(str(screenshot))
            assert await caller.wait(60) == 0, caller.log()
            await fresh.tap.wait_for(EventKind.call_ended, since=mark, timeout=30)
            await fresh.journal.writer.flush()
            # after the call: the page's day numbers are the day report's
            zone = fresh.config.hotline.zone
            start, end = today_range(datetime.now(UTC), zone)
            day = await report(store, start, end, zone=zone,
                               targets=fresh.config.targets.values)
            await until(lambda: shown("offered") == str(day.tally.offered)
                        and shown("talking") == "0")
            assert shown("abandoned") == str(day.tally.outcome_abandoned)
            board = await api("/api/wallboard")
            assert board["offered"] == day.tally.offered
            tile = browser.find_element(By.CSS_SELECTOR, '[data-rate="transfer_answer"]')
            rate = day.kpi.transfer_answer_rate
            assert tile.find_element(By.CLASS_NAME, "target").text.endswith(
                f"{rate.numerator} / {rate.denominator}")
        finally:
            await stop_all(agents)
