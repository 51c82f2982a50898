"""The callback cycle of work orders (R7): due times by the seed, a task when an order
closes, failure only on two local days, the satisfaction survey, the month's 回访率 =
callbacks made / orders closed and its 回访不满意 table."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.auth.roles import Role
from ivr.clock import FixedClock
from ivr.domain.callback_cycle import CallbackRules, callback_rate
from tests.unit.test_api_support import NOW, Harness, harness

SHANGHAI = ZoneInfo("Asia/Shanghai")
SYNC = "/api/orders/sync?since=2026-11-01"  # the harness's calls are a month old


def local(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("closed", "due"),
    [
        ("2026-12-02T07:30", "2026-12-02T18:00"),  # closed in the morning: that afternoon
        ("2026-12-02T11:59", "2026-12-02T18:00"),
        ("2026-12-02T12:00", "2026-12-03T18:00"),  # closed in the afternoon: the next one
        ("2026-12-02T23:40", "2026-12-03T18:00"),
    ],
)
def test_emergencies_are_called_back_the_afternoon_after_closing(closed: str, due: str) -> None:
    assert CallbackRules().due("emergency", False, local(closed), None, SHANGHAI) == local(due)


def test_others_within_five_days_of_the_work_done() -> None:
    rules = CallbackRules()
    done, closed = local("2026-12-01T10:00"), local("2026-12-02T09:00")
    assert rules.due("repair", False, closed, done, SHANGHAI) == done + timedelta(days=5)
    assert rules.due("repair", False, closed, None, SHANGHAI) == closed + timedelta(days=5)
    only_required = CallbackRules(call_back_others=False, afternoon_starts=time(13, 0))
    assert only_required.due("installation", False, closed, done, SHANGHAI) is None
    assert only_required.due("installation", True, closed, done, SHANGHAI) is not None  # paid
    assert only_required.due("complaint", False, closed, done, SHANGHAI) is not None


def test_the_rate_is_callbacks_made_over_orders_closed() -> None:
    assert callback_rate(3, 4) == 0.75
    assert callback_rate(0, 0) is None


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path) as h:
        synced = await h.post(SYNC, Role.supervisor)
        assert synced.json() == {"created": 3}
        yield h


def clock(api: Harness) -> FixedClock:
    assert isinstance(api.services.clock, FixedClock)
    return api.services.clock


async def close(api: Harness, linkedid: str) -> dict[str, object]:
    orders = (await api.get("/api/orders", Role.supervisor)).json()["orders"]
    order_id = next(o["id"] for o in orders if o["linkedid"] == linkedid)
    for step in ("done", "closed"):
        moved = await api.post(f"/api/orders/{order_id}/status", Role.supervisor,
                               json={"status": step})
        assert moved.status_code == 200, moved.text
    task = await api.get(f"/api/callbacks/order-{order_id}")
    assert task.status_code == 200, task.text
    body: dict[str, object] = task.json()
    return body


async def test_closing_an_emergency_order_makes_its_callback_due_that_afternoon(
    api: Harness,
) -> None:
    task = await close(api, "c-emergency")  # closed at 12:00 local: the next afternoon
    assert (task["reason"], task["priority"], task["status"]) == ("work_order", "emergency",
                                                                 "open")
    assert task["due_at"] == "2026-12-04T10:00:00Z"  # 18:00 in Shanghai
    assert task["caller"] == "02164441234" and task["order_id"]


async def test_two_failures_one_local_day_leave_it_open_two_days_fail_it(api: Harness) -> None:
    task = await close(api, "c-answered-1")
    url = f"/api/callbacks/{task['linkedid']}/attempts"
    clock(api).at = NOW + timedelta(hours=5)  # 17:00 local
    for at in ("2026-12-03T15:00:00", "2026-12-03T16:30:00"):
        response = await api.post(url, json={"result": "busy", "at": at})
        assert response.json()["status"] == "open"
    clock(api).at = NOW + timedelta(days=1)
    failed = await api.post(url, json={"result": "unreachable", "at": "2026-12-04T09:00:00"})
    assert failed.json()["status"] == "failed"
    assert failed.json()["failed_days"] == ["2026-12-03", "2026-12-04"]


async def test_satisfaction_rate_and_the_dissatisfaction_table(api: Harness) -> None:
    first = await close(api, "c-answered-1")
    await close(api, "c-answered-2")
    await close(api, "c-emergency")
    clock(api).at = NOW + timedelta(hours=5)
    surveyed = await api.post(
        f"/api/callbacks/{first['linkedid']}/attempts",
        json={"result": "reached", "satisfaction": "dissatisfied",
              "satisfaction_note": "维修员迟到两小时"},
    )
    assert surveyed.status_code == 201, surveyed.text
    assert surveyed.json()["satisfaction"] == "dissatisfied"
    refused = await api.post(
        "/api/callbacks/order-2/attempts",
        json={"result": "busy", "satisfaction": "satisfied"},
    )
    assert refused.status_code == 422  # nobody to ask
    rate = (await api.get("/api/callbacks/rate?month=2026-12")).json()
    assert (rate["orders_closed"], rate["order_callbacks_made"], rate["dissatisfied"]) == (3, 1, 1)
    assert rate["order_rate"] == pytest.approx(1 / 3)  # two orders closed, never called
    table = (await api.get("/api/callbacks/dissatisfied?month=2026-12", Role.supervisor)).json()
    (row,) = table["rows"]
    assert (row["caller"], row["department"], row["satisfaction_note"]) == (
        "13812348000", "维修部", "维修员迟到两小时")
    assert row["called_at"] == "2026-12-03 17:00"
    csv = await api.get("/api/callbacks/dissatisfied?month=2026-12&format=csv", Role.supervisor)
    assert csv.headers["content-type"].startswith("text/csv")
    assert csv.text.splitlines()[0].startswith("called_at,task,order_id")
    assert "维修员迟到两小时" in csv.text
    assert (await api.get("/api/callbacks/dissatisfied?month=2026-12",
                          Role.viewer)).status_code == 403
    november = (await api.get("/api/callbacks/dissatisfied?month=2026-11",
                              Role.supervisor)).json()
    assert november["rows"] == []


def test_the_callbacks_month_commands(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from ivr.cli import app as cli
    from tests.unit.test_api_support import config_file

    config = str(config_file(tmp_path))
    runner = CliRunner()
    rate = runner.invoke(cli, ["callbacks", "rate", "--month", "2026-12", "-c", config])
    assert rate.exit_code == 0, rate.output
    assert "回访率 - = 0 callbacks made / 0 work orders closed" in rate.stdout
    table = runner.invoke(cli, ["callbacks", "dissatisfied", "--month", "2026-12", "-c", config,
                                "--format", "csv"])
    assert table.exit_code == 0 and table.stdout.startswith("called_at,task,order_id")
    bad = runner.invoke(cli, ["callbacks", "dissatisfied", "--month", "2026-13", "-c", config])
    assert bad.exit_code == 2 and "not a month" in bad.output


async def test_an_order_closed_elsewhere_gets_its_task_at_the_catch_up(api: Harness) -> None:
    from ivr.api.context import ApiContext, catch_up_order_callbacks
    from ivr.orders.domain import OrderStatus
    from ivr.orders.service import Actor, OrdersService
    from ivr.orders.store import OrderStore

    ctx: ApiContext = api.app.state.hotline
    cli = OrdersService(OrderStore(api.store.engine), ctx.config, clock(api))  # no listener
    (order,) = await cli.orders(service="emergency")
    await cli.move(order.id, Actor("cli", True), OrderStatus.closed, "fixed on the phone")
    assert (await api.get(f"/api/callbacks/order-{order.id}")).status_code == 404
    assert await catch_up_order_callbacks(ctx.orders, ctx.callbacks) == 1
    assert await catch_up_order_callbacks(ctx.orders, ctx.callbacks) == 0
    task = (await api.get(f"/api/callbacks/order-{order.id}")).json()
    assert (task["reason"], task["order_id"]) == ("work_order", order.id)


async def test_the_month_document_shows_the_rate_the_dissatisfied_and_the_spot_checks(
    api: Harness,
) -> None:
    """The monthly report document (R7, R8): 回访率 over the orders closed in the month,
    the dissatisfaction table with callers masked (documents are printed and passed on),
    and the quarter's spot-check score once three checkers have checked."""
    first = await close(api, "c-answered-1")
    await close(api, "c-emergency")
    clock(api).at = NOW + timedelta(hours=5)
    reached = await api.post(
        f"/api/callbacks/{first['linkedid']}/attempts",
        json={"result": "reached", "satisfaction": "dissatisfied",
              "satisfaction_note": "维修员迟到两小时"},
    )
    assert reached.status_code == 201, reached.text
    for checker, dials in (("甲", ["person"]), ("乙", ["busy", "person"]), ("丙", ["ivr"])):
        entered = await api.post("/api/spotchecks", Role.supervisor, json={
            "checker": checker,
            "dials": [{"at": f"2026-12-03T1{n}:00:00+08:00", "result": result}
                      for n, result in enumerate(dials)],
        })
        assert entered.status_code == 201, entered.text
    document = await api.get("/api/reports/document?month=2026-12&format=json",
                             Role.supervisor)
    assert document.status_code == 200, document.text
    data = document.json()
    callbacks = data["callbacks"]
    assert (callbacks["orders_closed"], callbacks["order_callbacks_made"]) == (2, 1)
    assert callbacks["order_rate"] == pytest.approx(1 / 2)
    (row,) = data["dissatisfied"]
    assert (row["caller"], row["department"], row["satisfaction_note"]) == (
        "138****8000", "维修部", "维修员迟到两小时")
    spot = data["spot_checks"]
    assert spot["quarter"] == "2026Q4"
    assert {c["checker"]: c["score"] for c in spot["checkers"]} == {"甲": 20, "乙": 16, "丙": 20}
    assert spot["score"] == pytest.approx(56 / 3, abs=0.01)
    text = (await api.get("/api/reports/document?month=2026-12&format=text",
                          Role.supervisor)).text
    assert "callback rate (回访率) 50.00%" in text
    assert "dissatisfied callbacks (回访不满意): 1" in text and "13812348000" not in text
