"""Call-backs through a real carrier trunk: the agent's phone (SIPp) answers, the
dialplan dials the customer through `[carrier]` (a SIPp UAS) with the hotline's number
as caller ID, the carrier answers, and the attempt is recorded with its result. And the
toll-fraud guard on both sides: the service refuses a spoofed international caller
without ringing anyone; the dialplan refuses it too when the service is bypassed."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from ivr.auth.roles import Role
from ivr.auth.tokens import TokenStore
from ivr.callbacks.domain import CallbackTask, Priority, Reason
from ivr.callbacks.originate import AriOriginator
from ivr.callbacks.store import CallbackStore

from . import sipp
from .harness import HotlineUnderTest, eventually, until

CUSTOMER = "13812348000"
SPOOFED = "0088213123456789"


async def _plant(fresh: HotlineUnderTest, linkedid: str, caller: str) -> None:
    assert fresh.journal is not None
    now = datetime.now(UTC)
    task = CallbackTask(
        linkedid=linkedid, created_at=now, arrived_at=now - timedelta(minutes=5),
        line="main", caller=caller, service="repair", reason=Reason.voicemail,
        priority=Priority.repair, due_at=now + timedelta(hours=1),
    )
    assert await CallbackStore(fresh.journal.store.engine).insert_tasks([task]) == 1


async def _admin(fresh: HotlineUnderTest) -> httpx.AsyncClient:
    assert fresh.journal is not None
    token = (await TokenStore(fresh.journal.store.engine).create(
        f"carrier-test-{uuid.uuid4().hex[:8]}", Role.admin, datetime.now(UTC))).secret
    return httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{fresh.ports.service}",
        headers={"Authorization": f"Bearer {token}"},
    )


async def test_a_call_back_reaches_the_carrier_and_is_recorded(fresh: HotlineUnderTest) -> None:
    linkedid = f"carrier-{datetime.now(UTC).timestamp():.0f}"
    await _plant(fresh, linkedid, CUSTOMER)
    workdir = fresh.call_dir("carrier")
    carrier = await sipp.carrier(workdir, fresh.ports.carrier, number=CUSTOMER,
                                 caller_id="95007", talk_ms=1000)
    agent = await sipp.phone(workdir, fresh.ports.agent1, name="agent1", ring_ms=300)
    async with await _admin(fresh) as client:
        try:
            response = await client.post(f"/api/callbacks/{linkedid}/call",
                                         json={"agent": "agent1"})
            assert response.status_code == 202, response.text
            # the carrier got the INVITE for the customer from 95007 and answered
            assert await carrier.wait(30) == 0, carrier.log()

            async def recorded() -> bool:
                task: dict[str, Any] = (await client.get(f"/api/callbacks/{linkedid}")).json()
                return task["status"] == "done"

            await until(recorded, timeout=20)
            task = (await client.get(f"/api/callbacks/{linkedid}")).json()
            attempt = task["attempts"][0]
            assert (attempt["result"], attempt["by"]) == ("reached", "asterisk")
            assert "ANSWER" in attempt["note"]
            assert fresh.hotline.api is not None
            dials = await fresh.hotline.api.callbacks.guard.dials(linkedid)
            assert [(d["number"], d["agent"], d["status"]) for d in dials] == [
                (CUSTOMER, "agent1", "answer")
            ]
        finally:
            await agent.stop()
            await carrier.stop()


async def test_a_spoofed_international_caller_is_never_dialled(fresh: HotlineUnderTest) -> None:
    assert fresh.hotline.api is not None
    guard = fresh.hotline.api.callbacks.guard
    linkedid = f"spoofed-{datetime.now(UTC).timestamp():.0f}"
    await _plant(fresh, linkedid, SPOOFED)
    workdir = fresh.call_dir("spoofed")
    carrier = await sipp.carrier(workdir, fresh.ports.carrier, number=SPOOFED, caller_id="95007")
    agent = await sipp.phone(workdir, fresh.ports.agent1, name="agent1", ring_ms=300)
    before = guard.refused()
    async with await _admin(fresh) as client:
        try:
            # the service: refused before any phone rings
            response = await client.post(f"/api/callbacks/{linkedid}/call",
                                         json={"agent": "agent1"})
            assert response.status_code == 422 and "international" in response.json()["detail"]
            metrics = (await client.get("/metrics")).text
            international = before["international"] + 1
            assert f'hotline_outbound_refused_total{{reason="international"}} {international}.0' \
                in metrics
            # the dialplan, with the service bypassed: the agent answers, nothing goes out
            await AriOriginator(fresh.hotline.ari, agent_ring_seconds=10).originate(
                "agent1", SPOOFED, linkedid
            )
            await eventually(lambda: guard.refused()["dialplan"] == before["dialplan"] + 1, 20)
            assert carrier.process.returncode is None  # still waiting for an INVITE
            messages = workdir / "carrier_messages.log"
            assert not messages.exists() or "INVITE" not in messages.read_text()
            dials = await guard.dials(linkedid)
            assert [(d["status"], d["reason"]) for d in dials] == [
                ("refused", "international"), ("refused", "dialplan")
            ]
        finally:
            await agent.stop()
            await carrier.stop()
