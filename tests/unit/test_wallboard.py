"""The wallboard: its snapshot has the numbers of /api/live and of the day report; the
page, served by the real service (uvicorn on loopback) and opened in Debian's headless
chromium, shows them, turns a missed target red, follows changes over SSE without a
reload, and is kept as a screenshot."""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import uvicorn

from ivr.auth.roles import Role
from ivr.journal.queries import today_range
from ivr.journal.report_text import RATE_TITLES
from ivr.live import LiveState
from tests.unit.test_api_support import NOW, Harness, a_day, harness

TODAY_MORNING = datetime(2026, 12, 3, 1, 0, tzinfo=UTC)  # 09:00 in Shanghai; NOW is 12:00
CHROMIUM, CHROMEDRIVER = shutil.which("chromium"), shutil.which("chromedriver")
# where to keep the screenshot (also written to the test's tmp_path in any case)
SCREENSHOT = os.environ.get("HOTLINE_WALLBOARD_SCREENSHOT")


def busy_floor(live: LiveState, joined_ago: float = 42.0) -> None:
    """Two agents (one talking), one caller talking, two waiting for 42 s and 10 s."""
    now = NOW.timestamp()
    for event in [
        {"Event": "QueueMember", "Interface": "PJSIP/agent1", "MemberName": "agent1",
         "Status": "1", "Paused": "0"},
        # as app_queue reports a member added without a name: named by its interface
        {"Event": "QueueMember", "Interface": "PJSIP/agent2", "MemberName": "PJSIP/agent2",
         "Status": "2", "Paused": "0"},
        {"Event": "QueueCallerJoin", "Uniqueid": "u1", "Timestamp": str(now - 100)},
        {"Event": "AgentConnect", "Uniqueid": "u1"},
        {"Event": "QueueCallerJoin", "Uniqueid": "u2", "Timestamp": str(now - joined_ago)},
        {"Event": "QueueCallerJoin", "Uniqueid": "u3", "Timestamp": str(now - 10)},
    ]:
        live.apply(event)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path, a_day(TODAY_MORNING)) as h:
        await h.callbacks.sync()  # tasks for today's voicemails and abandoned calls
        busy_floor(h.live.live)
        yield h


async def the_day_report(api: Harness) -> Any:
    from ivr.journal.queries import report

    config = api.services.config()
    start, end = today_range(NOW, config.hotline.zone)
    return await report(api.store, start, end, zone=config.hotline.zone,
                        targets=config.targets.values)


async def test_the_board_has_the_numbers_of_live_and_of_the_day_report(api: Harness) -> None:
    board = (await api.get("/api/wallboard", Role.viewer)).json()
    live = (await api.get("/api/live", Role.viewer)).json()
    day = await the_day_report(api)
    assert (board["waiting"], board["talking"]) == (live["waiting"], live["talking"]) == (2, 1)
    assert board["longest_wait_seconds"] == 42
    assert [(a["name"], a["state"]) for a in board["agents"]] == [
        ("坐席二", "busy"), ("坐席一", "available")]
    assert board["agents_by_state"] == live["agents_by_state"]
    assert (board["offered"], board["abandoned"]) == (
        day.tally.offered, day.tally.outcome_abandoned)
    assert board["offered"] == 8 and board["abandoned"] > 0
    rates = {rate["name"]: rate for rate in board["rates"]}
    kpi = {rate.name: rate for rate in day.kpi.all}
    for name, shown in rates.items():
        assert (shown["numerator"], shown["denominator"], shown["met"]) == (
            kpi[name].numerator, kpi[name].denominator, kpi[name].met)
    assert rates["transfer_answer"]["met"] is False  # 2 of 4: a missed target
    open_tasks = await api.callbacks.store.open_counts()
    assert board["callbacks_owed"] == sum(open_tasks.values()) > 0


async def test_the_page_and_its_assets_are_served_locally(api: Harness) -> None:
    page = await api.client.get("/wallboard")
    assert page.status_code == 200 and "text/html" in page.headers["content-type"]
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "http://" not in page.text and "https://" not in page.text
    for name in ("wallboard.js", "wallboard.css"):
        assert (await api.client.get(f"/wallboard/{name}")).status_code == 200
    assert (await api.client.get("/wallboard/wallboard.html")).status_code == 404
    assert (await api.client.get("/wallboard/../app.py")).status_code == 404
    assert (await api.client.get("/api/wallboard")).status_code == 401


# -- in a real browser --------------------------------------------------------------------

needs_browser = pytest.mark.skipif(
    not (CHROMIUM and CHROMEDRIVER) and os.environ.get("CI") != "true",
    reason="needs Debian's chromium and chromium-driver (scripts/setup.sh installs them)",
)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@asynccontextmanager
async def served(app: Any, profile: Path) -> AsyncIterator[tuple[int, Any]]:
    """The API on a loopback port (uvicorn, in this event loop) and a headless chromium."""
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve())
    while not server.started:  # uvicorn sets the flag once it listens
        if serving.done():
            serving.result()  # it could not start: its error
        await asyncio.sleep(0.02)
    browser = await asyncio.to_thread(browser_for, profile)
    try:
        yield port, browser
    finally:
        await asyncio.to_thread(browser.quit)
        server.should_exit = True
        await serving


def browser_for(profile: Path) -> Any:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM or "/usr/bin/chromium"
    for flag in ("--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--window-size=1600,900",
                 f"--user-data-dir={profile}"):
        options.add_argument(flag)
    driver = Service(executable_path=CHROMEDRIVER or "/usr/bin/chromedriver")
    return webdriver.Chrome(options=options, service=driver)


@needs_browser
async def test_the_wallboard_in_chromium_follows_the_floor_live(
    api: Harness, tmp_path: Path
) -> None:
    async with served(api.app, tmp_path / "profile") as (port, browser):
        await follows_the_floor(api, port, browser, tmp_path)


async def follows_the_floor(api: Harness, port: int, browser: Any, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    async def in_browser(work: Callable[[], Any]) -> Any:
        return await asyncio.to_thread(work)

    def shown(element_id: str) -> str:
        return str(browser.find_element(By.ID, element_id).text)

    def until(condition: Callable[[], bool], timeout: float = 15) -> None:
        WebDriverWait(browser, timeout, poll_frequency=0.1).until(lambda _: condition())

    token = api.tokens[Role.viewer]
    await in_browser(lambda: browser.get(f"http://127.0.0.1:{port}/wallboard#token={token}"))
    await in_browser(lambda: until(lambda: shown("waiting") == "2"))
    board = (await api.get("/api/wallboard", Role.viewer)).json()
    live = (await api.get("/api/live", Role.viewer)).json()
    day = await the_day_report(api)
    assert "token=" not in browser.current_url  # the token is not left on screen
    assert shown("waiting") == str(live["waiting"])
    assert shown("talking") == str(live["talking"])
    assert shown("longest-wait") == "42 s"
    assert shown("offered") == str(day.tally.offered)
    assert shown("abandoned") == str(day.tally.outcome_abandoned)
    assert shown("callbacks-owed") == str(board["callbacks_owed"])
    agents = browser.find_elements(By.CSS_SELECTOR, "#agents li")
    assert [(a.find_element(By.CLASS_NAME, "name").text, a.get_attribute("class"))
            for a in agents] == [("坐席二", "busy"), ("坐席一", "available")]
    kpi = {rate.name: rate for rate in day.kpi.all}
    for tile in browser.find_elements(By.CSS_SELECTOR, "#rates .rate"):
        name = tile.get_attribute("data-rate")
        rate = board["rates"][[r["name"] for r in board["rates"]].index(name)]
        assert tile.find_element(By.CLASS_NAME, "label").text == RATE_TITLES[name]
        assert tile.find_element(By.CLASS_NAME, "value").text == rate["shown"]
        want = {True: "met", False: "missed", None: "none"}[kpi[name].met]
        assert want in tile.get_attribute("class").split()
    missed = browser.find_element(By.CSS_SELECTOR, '[data-rate="transfer_answer"]')
    colour = missed.find_element(By.CLASS_NAME, "value").value_of_css_property("color")
    assert colour.startswith("rgba(255, 77, 77"), colour  # red
    if SCREENSHOT:
        browser.save_screenshot(SCREENSHOT)
    screenshot = tmp_path / "wallboard.png"
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 20_000  # a drawn page, not a blank one
    loaded = browser.execute_script("return performance.timeOrigin")
    # the floor changes: the longest-waiting caller is answered, another agent logs in
    api.live.live.apply({"Event": "AgentConnect", "Uniqueid": "u2"})
    api.live.live.apply({"Event": "QueueMemberAdded", "Interface": "PJSIP/agent3",
                         "MemberName": "agent3", "Status": "1", "Paused": "0"})
    await in_browser(lambda: until(lambda: shown("waiting") == "1"))
    assert shown("talking") == "2" and shown("longest-wait") == "10 s"
    names = [e.text for e in browser.find_elements(By.CSS_SELECTOR, "#agents li .name")]
    assert "agent3" in names  # an endpoint the config does not name is shown as it is
    assert browser.execute_script("return performance.timeOrigin") == loaded  # no reload
    assert int(browser.find_element(By.TAG_NAME, "body").get_attribute("data-updates")) >= 2


@needs_browser
async def test_without_a_token_the_page_says_how_to_get_one(api: Harness, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    async with served(api.app, tmp_path / "profile") as (port, browser):
        await asyncio.to_thread(browser.get, f"http://127.0.0.1:{port}/wallboard#token=hl_bad")
        login = browser.find_element(By.ID, "login")
        await asyncio.to_thread(
            WebDriverWait(browser, 15).until, lambda _: login.is_displayed()
        )
        assert "viewer token" in login.text


async def test_an_open_stream_does_not_hold_the_service_from_stopping(api: Harness) -> None:
    """A wall screen keeps its stream open for days: stopping the service must not wait
    for it (uvicorn otherwise waits for every open connection)."""
    import httpx

    from ivr.api.server import GRACE_SECONDS, HttpServer

    port = _free_port()
    server = HttpServer(api.app, "127.0.0.1", port)
    await server.start()
    headers = api.auth(Role.viewer)
    client = httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30)
    async with client, client.stream("GET", "/api/wallboard/stream", headers=headers) as stream:
        assert stream.headers["content-type"].startswith("text/event-stream")
        lines = stream.aiter_lines()
        assert await anext(lines) == "event: board"
        assert (await anext(lines)).startswith('data: {"hotline": ')
        began = asyncio.get_running_loop().time()
        await server.stop()
        took = asyncio.get_running_loop().time() - began
        assert took < GRACE_SECONDS + 2, f"the service took {took:.1f} s to stop"
