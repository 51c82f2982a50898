"""Live view and health: calls in the IVR, waiting, talking, agents, last events (from a
LiveState handed in directly, or the controller's); ready only when ARI and AMI are
connected and the database takes writes."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from types import SimpleNamespace

import pytest

from ivr.api.live_view import StaticLiveView
from ivr.app import ControllerLiveView
from ivr.auth.roles import Role
from ivr.callflow.call import Call, CallState
from ivr.live import LiveState
from tests.unit.test_api_support import MOBILE, Harness, harness


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path) as h:
        yield h


def a_busy_queue(live: LiveState) -> None:
    for event in [
        {"Event": "QueueMember", "Interface": "PJSIP/agent1", "MemberName": "坐席一",
         "Status": "1", "Paused": "0"},
        {"Event": "QueueMember", "Interface": "PJSIP/agent2", "MemberName": "坐席二",
         "Status": "2", "Paused": "0"},
        {"Event": "QueueCallerJoin", "Uniqueid": "u1", "Linkedid": "l1",
         "Timestamp": "1764720000.1"},
        {"Event": "QueueCallerJoin", "Uniqueid": "u2", "Linkedid": "l2"},
        {"Event": "AgentConnect", "Uniqueid": "u1", "Linkedid": "l1"},
    ]:
        live.apply(event)


async def test_live_shows_the_queue_agents_and_the_ivr(api: Harness) -> None:
    a_busy_queue(api.live.live)
    response = await api.get("/api/live", Role.supervisor)
    assert response.status_code == 200
    body = response.json()
    assert (body["waiting"], body["talking"]) == (1, 1)
    assert body["ari_connected"] and body["ami_connected"]
    assert [(a["name"], a["state"]) for a in body["agents"]] == [
        ("坐席一", "available"), ("坐席二", "busy")
    ]
    assert body["agents_by_state"]["logged_in"] == 2
    assert body["in_ivr"] == [{"channel": "PJSIP/anonymous-00000007", "linkedid": "c-live",
                               "line": "main", "caller": MOBILE, "state": "menu"}]
    assert [e["Event"] for e in body["recent_events"]] == [
        "QueueCallerJoin", "QueueCallerJoin", "AgentConnect"
    ]


async def test_a_live_state_can_be_handed_in_directly(tmp_path: Path) -> None:
    async with harness(tmp_path, []) as api:
        state = LiveState()
        a_busy_queue(state)
        api.app.state.hotline.live = StaticLiveView(state)
        body = (await api.get("/api/live", Role.viewer)).json()
        assert (body["waiting"], body["talking"], body["in_ivr"]) == (1, 1, [])


def test_the_controller_view_reads_the_running_controller() -> None:
    connected = asyncio.Event()
    call = Call("PJSIP/anonymous-1", "l9", "main", MOBILE, CallState.menu)
    controller = SimpleNamespace(
        live=LiveState(),
        flow=SimpleNamespace(calls={"PJSIP/anonymous-1": call}),
        ari=SimpleNamespace(connected=connected),
        ami=SimpleNamespace(connected=False),
    )
    view = ControllerLiveView(lambda: controller)  # type: ignore[arg-type,return-value]
    assert view.state() is controller.live
    assert [(c.linkedid, c.state) for c in view.calls_in_ivr()] == [("l9", "menu")]
    assert not view.ari_connected() and not view.ami_connected()
    connected.set()
    controller.ami.connected = True
    assert view.ari_connected() and view.ami_connected()


def test_without_a_controller_the_view_is_empty_and_disconnected() -> None:
    view = ControllerLiveView(lambda: None)
    assert view.calls_in_ivr() == [] and view.state().agents == {}
    assert not view.ari_connected() and not view.ami_connected()


async def test_ready_when_everything_is_up(api: Harness) -> None:
    response = await api.client.get("/health/ready")
    assert response.status_code == 200
    assert response.json() == {
        "ready": True, "checks": {"ari": True, "ami": True, "database": True}, "problems": []
    }


async def test_not_ready_without_ari_or_ami(api: Harness) -> None:
    api.live.ari = False
    response = await api.client.get("/health/ready")
    assert response.status_code == 503
    body = response.json()
    assert body["checks"] == {"ari": False, "ami": True, "database": True}
    assert "ARI is not connected" in body["problems"][0]
    api.live.ari, api.live.ami = True, False
    assert (await api.client.get("/health/ready")).json()["checks"]["ami"] is False
    assert (await api.client.get("/health/live")).status_code == 200  # alive all the same


async def test_not_ready_when_the_database_takes_no_writes(api: Harness) -> None:
    async def refuses() -> None:
        raise OSError("disk full")

    api.app.state.hotline.tokens.check_writable = refuses
    response = await api.client.get("/health/ready")
    assert response.status_code == 503
    assert response.json()["checks"]["database"] is False
    assert "does not take writes" in response.json()["problems"][0]


async def test_a_database_that_went_away_is_503_not_500(api: Harness) -> None:
    token = api.tokens[Role.admin]
    api.config_path.parent.joinpath("journal.sqlite3").unlink()
    for suffix in ("-wal", "-shm"):
        api.config_path.parent.joinpath("journal.sqlite3" + suffix).unlink(missing_ok=True)
    await api.store.engine.dispose()
    response = await api.client.get("/api/calls", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 503
    assert "database" in response.json()["detail"]
