"""Work orders (R6): the steps and their times, orders opened from the IVR's choice,
and who may take and change them (agents their own calls', supervisors all)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ivr.auth.roles import Role
from ivr.auth.tokens import TokenStore
from ivr.orders.domain import OrderRefused, OrderStatus, WorkOrder, age_band, order_for_call
from tests.unit.test_api_support import NOW, Harness, harness
from tests.unit.test_journal_store import Database
from tests.unit.test_journal_store import database as database  # the fixture

T = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
SYNC = "/api/orders/sync?since=2026-11-01"  # the harness's calls are a month old


def an_order() -> WorkOrder:
    return order_for_call(linkedid="c1", caller="13812348000", service="repair", now=T,
                          departments={"repair": "维修部"})


def test_an_order_moves_forward_and_keeps_each_time() -> None:
    order = an_order()
    assert (order.department, order.taken_by, order.status) == ("维修部", "ivr", OrderStatus.open)
    order = order.move(OrderStatus.dispatched, T + timedelta(minutes=5))
    order = order.move(OrderStatus.done, T + timedelta(hours=2))
    order = order.move(OrderStatus.closed, T + timedelta(hours=3), "checked")
    assert order.dispatched_at == T + timedelta(minutes=5)
    assert order.done_at == T + timedelta(hours=2)
    assert order.closed_at == T + timedelta(hours=3) and order.note == "checked"
    with pytest.raises(OrderRefused, match="already closed"):
        order.move(OrderStatus.closed, T + timedelta(hours=4))
    with pytest.raises(OrderRefused, match="is closed"):
        order.edit(T + timedelta(hours=4), address="x")


def test_no_step_back_and_no_step_before_the_order() -> None:
    done = an_order().move(OrderStatus.done, T + timedelta(minutes=1))
    with pytest.raises(OrderRefused, match="cannot become dispatched"):
        done.move(OrderStatus.dispatched, T + timedelta(minutes=2))
    with pytest.raises(OrderRefused, match="before the order"):
        an_order().move(OrderStatus.done, T - timedelta(minutes=1))
    with pytest.raises(OrderRefused, match="cannot be edited"):
        an_order().edit(T, status="closed")


@pytest.mark.parametrize(
    ("age", "band"),
    [(timedelta(minutes=59), "under_1h"), (timedelta(hours=1), "1h_to_4h"),
     (timedelta(hours=23), "4h_to_24h"), (timedelta(days=3), "over_24h")],
)
def test_age_bands(age: timedelta, band: str) -> None:
    assert age_band(age) == band


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path) as h:
        tokens = TokenStore(h.store.engine)
        for name in ("agent1", "agent2"):  # an agent's token is named as their endpoint
            h.tokens[name] = (await tokens.create(name, Role.agent, NOW)).secret  # type: ignore[index]
        yield h


def as_agent(api: Harness, name: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {api.tokens[name]}"}  # type: ignore[index]


async def test_the_ivr_choice_opens_orders_once(api: Harness) -> None:
    assert (await api.post("/api/orders/sync", Role.supervisor)).json() == {"created": 0}
    assert (await api.post(SYNC, Role.supervisor)).json() == {"created": 3}  # a month ago
    assert (await api.post(SYNC, Role.supervisor)).json() == {"created": 0}
    orders = (await api.get("/api/orders", Role.supervisor)).json()["orders"]
    taken = sorted((o["linkedid"], o["service"], o["department"], o["urgency"]) for o in orders)
    assert taken == [
        ("c-answered-1", "repair", "维修部", "normal"),
        ("c-answered-2", "repair", "维修部", "normal"),
        ("c-emergency", "emergency", "抢险中心", "emergency"),
    ]
    assert all(o["status"] == "open" and o["taken_by"] == "ivr" for o in orders)


async def test_agents_change_their_own_calls_orders_supervisors_all(api: Harness) -> None:
    await api.post(SYNC, Role.supervisor)
    orders = {o["linkedid"]: o["id"] for o in
              (await api.get("/api/orders", Role.supervisor)).json()["orders"]}
    mine = orders["c-answered-1"]  # agent1 answered it
    edit = {"address": "幸福路 8 号 3-201", "problem": "灶具打不着火", "paid": True}
    changed = await api.client.patch(f"/api/orders/{mine}", json=edit,
                                     headers=as_agent(api, "agent1"))
    assert changed.status_code == 200, changed.text
    assert (changed.json()["address"], changed.json()["paid"]) == (edit["address"], True)
    other = await api.client.patch(f"/api/orders/{mine}", json=edit,
                                   headers=as_agent(api, "agent2"))
    assert other.status_code == 403
    listed = await api.client.get("/api/orders", headers=as_agent(api, "agent2"))
    assert listed.json()["orders"] == []  # agent2 answered none of them
    emergency = orders["c-emergency"]  # nobody's call: a supervisor's
    refused = await api.client.post(f"/api/orders/{emergency}/status",
                                    json={"status": "dispatched"},
                                    headers=as_agent(api, "agent1"))
    assert refused.status_code == 403
    moved = await api.client.post(f"/api/orders/{emergency}/status",
                                  json={"status": "dispatched"},
                                  headers=api.auth(Role.supervisor))
    assert moved.json()["status"] == "dispatched" and moved.json()["dispatched_at"]
    back = await api.client.post(f"/api/orders/{emergency}/status",
                                 json={"status": "dispatched"},
                                 headers=api.auth(Role.supervisor))
    assert back.status_code == 409
    assert (await api.get("/api/orders", Role.viewer)).status_code == 403


async def test_an_agent_takes_an_order_on_their_call_or_without_one(api: Harness) -> None:
    await api.post(SYNC, Role.supervisor)
    twice = await api.client.post("/api/orders", json={"service": "repair",
                                                       "linkedid": "c-answered-1"},
                                  headers=as_agent(api, "agent1"))
    assert twice.status_code == 409  # one order per call
    not_theirs = await api.client.post("/api/orders", json={"service": "complaint",
                                                            "linkedid": "c-completed"},
                                       headers=as_agent(api, "agent1"))
    assert not_theirs.status_code == 403
    walk_in = await api.client.post(
        "/api/orders",
        json={"service": "installation", "caller": "13900001111", "address": "新区 1 栋",
              "problem": "新装燃气表"},
        headers=as_agent(api, "agent2"),
    )
    assert walk_in.status_code == 201, walk_in.text
    body = walk_in.json()
    assert (body["taken_by"], body["department"], body["linkedid"]) == ("agent2", "报装部", None)
    unknown = await api.post("/api/orders", json={"service": "repair", "linkedid": "nope"})
    assert unknown.status_code == 404
    nothing = await api.post("/api/orders", json={"service": "repair"})
    assert nothing.status_code == 422


def test_the_orders_commands(tmp_path: Path) -> None:
    import asyncio

    from typer.testing import CliRunner

    from ivr.cli import app as cli
    from ivr.config import load_config
    from ivr.journal.service import open_store
    from tests.unit.test_api_support import a_day, config_file

    config = config_file(tmp_path)

    async def journal() -> None:
        store = open_store(load_config(config))
        await store.migrate()
        await store.ingest([e for script in a_day() for e in script.events])
        await store.close()

    asyncio.run(journal())
    runner = CliRunner()
    recent = runner.invoke(cli, ["orders", "sync", "-c", str(config)])
    assert "0 work order(s) opened" in recent.stdout, recent.output  # a month ago: too old
    synced = runner.invoke(cli, ["orders", "sync", "-c", str(config), "--since", "2026-11-01"])
    assert synced.exit_code == 0 and "3 work order(s) opened" in synced.stdout, synced.output
    listed = runner.invoke(cli, ["orders", "list", "-c", str(config), "--format", "csv"])
    assert listed.exit_code == 0 and len(listed.stdout.strip().splitlines()) == 4  # header + 3
    assert "c-emergency" in listed.stdout and "抢险中心" in listed.stdout
    closed = runner.invoke(cli, ["orders", "status", "1", "closed", "--note", "duplicate",
                                 "-c", str(config)])
    assert closed.exit_code == 0 and "closed" in closed.stdout, closed.output
    again = runner.invoke(cli, ["orders", "status", "1", "done", "-c", str(config)])
    assert again.exit_code == 2 and "cannot become done" in again.output
    still = runner.invoke(cli, ["orders", "list", "-c", str(config), "--status", "not_closed"])
    assert len(still.stdout.strip().splitlines()) == 3  # the header and two open orders


async def test_orders_outbox_and_the_guard_on_every_backend(
    database: Database,
) -> None:
    """SQLite and, with HOTLINE_TEST_DATABASE_URL, PostgreSQL (its own schema)."""
    from ivr.callbacks.outbound import OutboundGuard, OutboundRefused
    from ivr.config import load_config
    from ivr.domain.outbound import OutboundRules
    from ivr.orders.service import Actor, OrdersService
    from ivr.orders.store import OrderStore
    from tests.unit.test_api_support import EXAMPLE

    config = load_config(EXAMPLE)
    store = database.store()
    await store.migrate()
    try:
        orders = OrdersService(OrderStore(store.engine), lambda: config)
        order = await orders.create(Actor("lead", True), service="repair", caller="13812348000")
        closed = await orders.move(order.id, Actor("lead", True), OrderStatus.closed, "dup")
        assert closed.closed_at is not None
        day = closed.closed_at
        assert await orders.store.closed_between(day - timedelta(hours=1),
                                                 day + timedelta(hours=1)) == 1
        zone = config.hotline.zone
        guard = OutboundGuard(store.engine, lambda: OutboundRules(per_task=1), lambda: zone)
        await guard.permit("t1", "13812348000", "agent1")
        with pytest.raises(OutboundRefused):
            await guard.permit("t1", "13812348000", "agent1")
        await guard.load_counts()
        assert guard.refused()["task_limit"] == 1
    finally:
        await store.close()


async def test_the_sync_opens_a_batch_of_orders_at_once_on_every_backend(
    database: Database,
) -> None:
    """The sync's batch: one order per call with its hand-off messages, calls that have
    an order skipped, and None (nothing stored) when a call's order appears between the
    check and the insert, so the sync goes one by one."""
    from ivr.orders.store import Message, OrderStore

    def handoff(order: WorkOrder, event: str) -> list[Message]:
        return [Message(event, "webhook", "http://127.0.0.1:9/hook", order.linkedid or "")]

    def order_of(linkedid: str) -> WorkOrder:
        return order_for_call(linkedid=linkedid, caller="13812348000", service="repair",
                              now=T, departments={"repair": "维修部"})

    store = database.store()
    await store.migrate()
    try:
        orders = OrderStore(store.engine)
        await orders.create(order_of("b2"), handoff, "order.created")  # an agent's, first
        stored = await orders.create_for_calls(
            [order_of(f"b{n}") for n in range(1, 5)], handoff, "order.created")
        assert stored is not None
        assert sorted(o.linkedid or "" for o in stored) == ["b1", "b3", "b4"]
        for order in stored:
            assert (await orders.of_call(order.linkedid or "")) == order  # ids as stored
        payloads = sorted(m.payload for m in await orders.messages(limit=10))
        assert payloads == ["b1", "b2", "b3", "b4"]  # each order once, with its hand-off
        assert await orders.create_for_calls([order_of("b1")], handoff, "x") == []

        # the insert meets an order of one of its calls (an agent's, stored between the
        # check and the insert; here the batch names one call twice): nothing is stored
        assert await orders.create_for_calls(
            [order_of("b6"), order_of("b5"), order_of("b5")], handoff, "order.created") is None
        assert await orders.of_call("b6") is None  # rolled back: the sync goes one by one
    finally:
        await store.close()
