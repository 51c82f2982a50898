"""An emergency call opens a work order from the IVR's choice, and its hand-off reaches
a real webhook receiver and a real SMTP server (aiosmtpd) on loopback exactly once,
with the service's HTTP side (order sync, outbox delivery) restarted between the
order and its delivery."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
from typing import Any

from aiohttp import web
from aiosmtpd.controller import Controller

from ivr.domain.events import EventKind
from ivr.orders.outbox import DELIVERY_HEADER

from . import sipp
from .harness import HotlineUnderTest
from .sipp import Press, free_port
from .test_callflow import IN_HOURS


class Mailbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        self.messages.append(
            email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        )
        return "250 OK"


async def test_an_emergency_call_is_handed_off_once_across_a_restart(
    fresh: HotlineUnderTest,
) -> None:
    assert fresh.journal is not None and fresh.hotline.api is not None
    hooks: list[tuple[str, dict[str, Any]]] = []

    async def webhook(request: web.Request) -> web.Response:
        hooks.append((request.headers[DELIVERY_HEADER], json.loads(await request.read())))
        return web.Response(status=204)

    app = web.Application()
    app.router.add_post("/orders", webhook)
    runner = web.AppRunner(app)
    await runner.setup()
    web_port, smtp_port = free_port(), free_port()
    await web.TCPSite(runner, "127.0.0.1", web_port).start()
    mailbox = Mailbox()
    smtp = Controller(mailbox, hostname="127.0.0.1", port=smtp_port)
    smtp.start()
    fresh.hotline.apply(fresh.write_config(outbox=f"""[outbox]
webhook_url = "http://127.0.0.1:{web_port}/orders"
smtp_host = "127.0.0.1"
smtp_port = {smtp_port}
mail_to = {{ "抢险中心" = "qiangxian@gas.example" }}
retry_seconds = 0.2
"""))
    try:
        await fresh.hotline.api.deliverer.stop()  # the order is taken, not yet delivered
        fresh.set_now(IN_HOURS)
        workdir = fresh.call_dir("emergency-order")
        mark = fresh.tap.mark()
        caller = await sipp.call(workdir, fresh.ports.sip, "95007", name="emergency",
                                 caller="13912345678", digits=[Press("1", 1500)], hold_ms=5000)
        choice = await fresh.tap.wait_for(EventKind.menu_choice, since=mark, timeout=30,
                                          service="emergency")
        assert await caller.wait(60) == 0, caller.log()
        await fresh.journal.writer.flush()
        orders = fresh.hotline.api.orders
        await orders.sync()
        order = await orders.store.of_call(choice.linkedid)
        assert order is not None and order.service == "emergency"
        assert (order.caller, order.department, order.taken_by) == ("13912345678", "抢险中心",
                                                                    "ivr")
        pending = await orders.store.messages(order_id=order.id)
        assert sorted(m.receiver for m in pending) == ["email", "webhook"]
        assert hooks == [] and mailbox.messages == []

        await fresh.hotline.stop_http()  # the restart, with the hand-off still pending
        await fresh.hotline.start_http()
        api = fresh.hotline.api
        assert api is not None
        for _ in range(200):  # until both of this order's messages are acknowledged
            messages = await api.orders.store.messages(order_id=order.id)
            if all(m.delivered_at is not None for m in messages):
                break
            await asyncio.sleep(0.05)
        mine = [body for _, body in hooks if body["order"]["id"] == order.id]
        assert len(mine) == 1 and mine[0]["event"] == "order.created"
        mails = [m for m in mailbox.messages if m["To"] == "qiangxian@gas.example"]
        assert len(mails) == 1 and f"工单 {order.id} emergency" in mails[0]["Subject"]
        assert await api.deliverer.deliver_due() == 0  # acknowledged: never sent again
        assert len(hooks) == 1 and len(mailbox.messages) == 1
    finally:
        fresh.hotline.apply(fresh.write_config())
        smtp.stop()
        await runner.cleanup()
