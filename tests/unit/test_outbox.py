"""The work orders' hand-off through the transactional outbox, against a real aiohttp
webhook receiver and a real SMTP server (aiosmtpd) on loopback: signed JSON, retries
with backoff, dead letters, and exactly one delivery to each receiver across a restart
between the order and its delivery."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from aiosmtpd.controller import Controller

from ivr.clock import FixedClock
from ivr.config import HotlineConfig, load_config_text
from ivr.journal.store import Store
from ivr.orders.outbox import (
    DELIVERY_HEADER,
    SIGNATURE_HEADER,
    Deliverer,
    sign,
    webhook_secret,
)
from ivr.orders.service import Actor, OrdersService
from ivr.orders.store import OrderStore
from tests.integration.sipp import free_port
from tests.unit.test_api_support import EXAMPLE

SUPERVISOR = Actor("lead", everyone=True)


@dataclass
class Receiver:
    """A department's webhook: answers `fail` 500s first, then 200s."""

    fail: int = 0
    bodies: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    signatures_ok: list[bool] = field(default_factory=list)
    times: list[float] = field(default_factory=list)
    got: asyncio.Event = field(default_factory=asyncio.Event)
    secret: bytes = b""

    async def handle(self, request: web.Request) -> web.Response:
        raw = await request.read()
        self.times.append(asyncio.get_running_loop().time())
        if self.fail > 0:
            self.fail -= 1
            return web.Response(status=500, text="not now")
        self.signatures_ok.append(request.headers[SIGNATURE_HEADER] == sign(self.secret, raw))
        self.bodies.append((request.headers[DELIVERY_HEADER], json.loads(raw)))
        self.got.set()
        return web.Response(status=204)


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[EmailMessage] = []
        self.got = asyncio.Event()
        self._loop = asyncio.get_running_loop()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        mail = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        assert isinstance(mail, EmailMessage)
        self.messages.append(mail)
        self._loop.call_soon_threadsafe(self.got.set)
        return "250 OK"


@dataclass
class World:
    tmp: Path
    store: Store
    config: HotlineConfig
    receiver: Receiver
    mailbox: Mailbox

    def service(self) -> tuple[OrdersService, Deliverer]:
        """The orders service and its deliverer as a (re)started process builds them."""
        orders = OrdersService(OrderStore(self.store.engine), lambda: self.config)
        return orders, Deliverer(orders, lambda: self.config)


async def delivered(orders: OrdersService, count: int) -> None:
    """Until `count` messages are marked delivered (after the receivers acknowledged)."""
    for _ in range(200):
        if (await orders.store.outbox_counts())["delivered"] >= count:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"fewer than {count} messages delivered in 10 s")


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    receiver = Receiver()
    app = web.Application()
    app.router.add_post("/orders", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    web_port, smtp_port = free_port(), free_port()
    await web.TCPSite(runner, "127.0.0.1", web_port).start()
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    text = EXAMPLE.read_text(encoding="utf-8") + f"""
[outbox]
webhook_url = "http://127.0.0.1:{web_port}/orders"
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
mail_from = "hotline@gas.example"
mail_to = {{ "抢险中心" = "qiangxian@gas.example" }}
retry_seconds = 0.05
retry_max_seconds = 0.4
max_attempts = 4
"""
    config = load_config_text(text.replace('data_dir = "var"', f'data_dir = "{tmp_path}"'),
                              tmp_path / "hotline.toml")
    receiver.secret = webhook_secret(config.outbox, config.service.data_dir)
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/journal.sqlite3")
    await store.migrate()
    try:
        yield World(tmp_path, store, config, receiver, mailbox)
    finally:
        smtp.stop()
        await runner.cleanup()
        await store.close()


async def test_the_secret_is_generated_private(world: World) -> None:
    secret_file = world.config.service.data_dir / "outbox-webhook.secret"
    assert secret_file.stat().st_mode & 0o777 == 0o600
    assert len(world.receiver.secret) == 64


async def test_an_emergency_order_reaches_both_exactly_once_across_a_restart(
    world: World,
) -> None:
    orders, _ = world.service()  # the first process: takes the order, then dies
    order = await orders.create(SUPERVISOR, service="emergency", caller="13812348000",
                                address="幸福路 8 号", problem="闻到燃气味")
    pending = await orders.store.messages()
    assert sorted(m.receiver for m in pending) == ["email", "webhook"]  # with the order
    assert world.receiver.bodies == [] and world.mailbox.messages == []

    orders, deliverer = world.service()  # the restarted process
    deliverer.start()
    try:
        await asyncio.wait_for(world.receiver.got.wait(), 10)
        await asyncio.wait_for(world.mailbox.got.wait(), 10)
        await delivered(orders, 2)
    finally:
        await deliverer.stop()
    delivery, body = world.receiver.bodies[0]
    assert body["event"] == "order.created" and body["order"]["id"] == order.id
    assert body["order"]["department"] == "抢险中心" and body["order"]["urgency"] == "emergency"
    assert world.receiver.signatures_ok == [True]
    mail = world.mailbox.messages[0]
    assert mail["To"] == "qiangxian@gas.example"
    mail_id = next(m.id for m in await orders.store.messages() if m.receiver == "email")
    assert mail["Message-ID"] == f"<outbox-{mail_id}@hotline>" and delivery != str(mail_id)
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None and "闻到燃气味" in text.get_content()

    orders, deliverer = world.service()  # another restart: nothing is sent again
    assert await deliverer.deliver_due() == 0
    assert len(world.receiver.bodies) == 1 and len(world.mailbox.messages) == 1
    assert (await orders.store.outbox_counts()) == {"pending": 0, "delivered": 2, "dead": 0}


async def test_a_failing_webhook_is_retried_with_backoff_then_delivered_once(
    world: World,
) -> None:
    world.receiver.fail = 2
    orders, deliverer = world.service()
    await orders.create(SUPERVISOR, service="repair", caller="13812348000")  # no mail_to
    deliverer.start()
    try:
        await delivered(orders, 1)
    finally:
        await deliverer.stop()
    assert len(world.receiver.times) == 3 and len(world.receiver.bodies) == 1
    times = world.receiver.times
    first, second = times[1] - times[0], times[2] - times[1]
    assert first >= 0.05 and second >= 0.1  # 0.05 s, then doubled
    (message,) = await orders.store.messages()
    assert message.attempts == 3 and message.delivered_at is not None


async def test_a_receiver_that_never_answers_makes_a_dead_letter(world: World) -> None:
    world.receiver.fail = 100
    orders, _ = world.service()
    order = await orders.create(SUPERVISOR, service="installation", caller="13812348000")
    clock = FixedClock(datetime.now(UTC))
    deliverer = Deliverer(orders, lambda: world.config, clock)
    for _ in range(4):
        await deliverer.deliver_due()
        assert await deliverer.deliver_due() == 0  # the next try waits for its backoff
        clock.at += timedelta(seconds=0.41)
    (message,) = await orders.store.messages(dead=True)
    assert message.order_id == order.id and message.attempts == 4
    assert "500" in message.last_error
    assert deliverer.counts() == {"pending": 0, "delivered": 0, "dead": 1}
    world.receiver.fail = 0
    assert await deliverer.retry(message.id)
    assert not await deliverer.retry(message.id)  # no longer dead
    assert await deliverer.deliver_due() == 1
    await deliverer.stop()
    assert len(world.receiver.bodies) == 1
