"""The agent's desk in Debian's headless chromium with a real call: a SIPp caller
chooses repair, agent1's SIPp phone answers, the desk page pops the call (caller, IVR
choice), the agent fills the work order and saves it, and a real webhook receiver on
loopback gets the order, signed, once per delivery."""

from __future__ import annotations

import asyncio
import json
import os
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from ivr.auth.roles import Role
from ivr.auth.tokens import TokenStore
from ivr.domain.events import EventKind
from ivr.orders.outbox import DELIVERY_HEADER, SIGNATURE_HEADER, sign, webhook_secret
from tests.unit.test_wallboard import CHROMEDRIVER, CHROMIUM, browser_for

from . import sipp
from .harness import HotlineUnderTest
from .sipp import Press, free_port
from .test_callflow import IN_HOURS

ADDRESS = "幸福路 8 号 3 单元 201"
PROBLEM = "灶具点不着火，闻到轻微燃气味"


async def test_the_desk_pops_the_call_and_the_order_reaches_the_department(
    fresh: HotlineUnderTest, tmp_path: Path
) -> None:
    if not (CHROMIUM and CHROMEDRIVER):
        if os.environ.get("CI") == "true":
            pytest.fail("chromium and chromium-driver are not installed (scripts/setup.sh)")
        pytest.skip("needs Debian's chromium and chromium-driver")
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    assert fresh.journal is not None
    received: list[tuple[str, bool, dict[str, Any]]] = []
    secret = b""

    async def webhook(request: web.Request) -> web.Response:
        raw = await request.read()
        ok = request.headers[SIGNATURE_HEADER] == sign(secret, raw)
        received.append((request.headers[DELIVERY_HEADER], ok, json.loads(raw)))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/orders", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    config = fresh.write_config(
        outbox=f'[outbox]\nwebhook_url = "http://127.0.0.1:{port}/orders"\nretry_seconds = 0.2\n'
    )
    fresh.hotline.apply(config)
    secret = webhook_secret(config.outbox, config.service.data_dir)
    tokens = TokenStore(fresh.journal.store.engine)
    issued = await tokens.create("agent1", Role.agent, datetime.now(UTC))
    fresh.set_now(IN_HOURS)
    workdir = fresh.call_dir("desk")
    phone = await sipp.phone(workdir, fresh.ports.agent1, name="agent1", ring_ms=1000)
    browser = await asyncio.to_thread(browser_for, tmp_path / f"profile-{uuid.uuid4().hex[:6]}")

    def shown(element_id: str) -> str:
        return str(browser.find_element(By.ID, element_id).text)

    async def until(condition: Callable[[], bool], timeout: float = 30) -> None:
        await asyncio.to_thread(
            WebDriverWait(browser, timeout, poll_frequency=0.1).until, lambda _: condition()
        )

    try:
        base = f"http://127.0.0.1:{fresh.ports.service}"
        await asyncio.to_thread(browser.get, f"{base}/desk#token={issued.secret}")
        await until(lambda: shown("status") == "live" and shown("agent") == "agent1")
        mark = fresh.tap.mark()
        caller = await sipp.call(workdir, fresh.ports.sip, "95007", name="customer",
                                 digits=[Press("2", 1500)], hold_ms=15000)
        await fresh.tap.wait_for(EventKind.agent_answered, since=mark, timeout=30)
        # the page pops the call: the caller and what they chose in the IVR
        await until(lambda: shown("caller") == "13800138000")
        assert "repair" in shown("choice")
        assert browser.find_element(By.ID, "service").get_attribute("value") == "repair"
        browser.find_element(By.ID, "address").send_keys(ADDRESS)
        browser.find_element(By.ID, "problem").send_keys(PROBLEM)
        browser.find_element(By.ID, "save").click()
        await until(lambda: shown("saved") == "saved 已保存", timeout=15)
        order_id = int(browser.find_element(By.TAG_NAME, "body").get_attribute("data-saved"))

        def handed_off() -> bool:
            return any(body["order"]["id"] == order_id and body["order"]["address"] == ADDRESS
                       for _, _, body in received)

        for _ in range(300):  # the outbox delivers in the background
            if handed_off():
                break
            await asyncio.sleep(0.05)
        assert handed_off(), received
        final = next(body for _, _, body in received if body["order"]["address"] == ADDRESS)
        order = final["order"]
        assert (order["taken_by"], order["service"], order["problem"], order["caller"]) == (
            "agent1", "repair", PROBLEM, "13800138000")
        assert order["department"] == "维修部"
        assert all(ok for _, ok, _ in received)  # every delivery signed with the secret
        deliveries = [delivery for delivery, _, _ in received]
        assert len(deliveries) == len(set(deliveries))  # none sent twice
        assert await caller.wait(60) == 0, caller.log()
    finally:
        await asyncio.to_thread(browser.quit)
        await phone.stop()
        await tokens.revoke(str(issued.info.id), datetime.now(UTC))
        fresh.hotline.apply(fresh.write_config())
        await runner.cleanup()
