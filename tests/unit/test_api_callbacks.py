"""Callbacks over the API: tasks by priority and age, attempts (the two-days rule
across a month boundary), dismissal, the monthly rate, calling back via the agent."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.auth.roles import Role
from tests.unit.test_api_support import (
    LANDLINE,
    MOBILE,
    Harness,
    a_day,
    harness,
)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path) as h:
        yield h


async def test_tasks_appear_after_a_sync_emergency_first(api: Harness) -> None:
    assert (await api.get("/api/callbacks")).json()["tasks"] == []
    synced = await api.post("/api/callbacks/sync")
    assert synced.json() == {"created": 4, "dismissed": 0}
    assert (await api.post("/api/callbacks/sync")).json() == {"created": 0, "dismissed": 0}
    tasks = (await api.get("/api/callbacks")).json()["tasks"]
    assert [(t["linkedid"], t["priority"], t["reason"]) for t in tasks] == [
        ("c-emergency", "emergency", "emergency_failed"),
        ("c-voicemail", "normal", "voicemail"),
        ("c-abandoned", "normal", "abandoned"),
    ]
    assert tasks[0]["caller"] == LANDLINE and tasks[0]["overdue"] is True
    everything = (await api.get("/api/callbacks?status=all")).json()["tasks"]
    assert len(everything) == 4
    dismissed = (await api.get("/api/callbacks?status=dismissed")).json()["tasks"]
    assert [t["linkedid"] for t in dismissed] == ["c-anonymous"]
    only = (await api.get("/api/callbacks?priority=emergency")).json()["tasks"]
    assert [t["linkedid"] for t in only] == ["c-emergency"]
    paged = (await api.get("/api/callbacks?limit=1&offset=1")).json()["tasks"]
    assert [t["linkedid"] for t in paged] == ["c-voicemail"]


async def test_failed_on_30_november_and_1_december_is_failed(api: Harness) -> None:
    await api.post("/api/callbacks/sync")
    first = await api.post(
        "/api/callbacks/c-abandoned/attempts",
        json={"result": "no_answer", "at": "2026-11-30T23:50:00", "note": "rang out"},
    )
    assert first.status_code == 201
    body = first.json()
    assert body["status"] == "open"
    assert body["attempts"][0]["at"] == "2026-11-30T15:50:00Z"  # local time was meant
    assert body["attempts"][0]["local_date"] == "2026-11-30"
    assert body["attempts"][0]["by"] == "test-admin"
    second = await api.post(
        "/api/callbacks/c-abandoned/attempts",
        json={"result": "unreachable", "at": "2026-12-01T00:10:00+08:00"},
    )
    body = second.json()
    assert body["status"] == "failed" and body["closed_at"] == "2026-11-30T16:10:00Z"
    assert body["failed_days"] == ["2026-11-30", "2026-12-01"]
    closed = await api.post("/api/callbacks/c-abandoned/attempts", json={"result": "reached"})
    assert closed.status_code == 409
    assert "already failed" in closed.json()["detail"]


async def test_two_failures_on_one_day_keep_it_open_until_reached(api: Harness) -> None:
    await api.post("/api/callbacks/sync")
    for at in ("2026-12-01T07:50:00+08:00", "2026-12-01T08:10:00+08:00"):
        response = await api.post("/api/callbacks/c-voicemail/attempts",
                                  json={"result": "busy", "at": at})
        assert response.json()["status"] == "open"
    done = await api.post("/api/callbacks/c-voicemail/attempts", json={"result": "reached"})
    assert done.json()["status"] == "done"
    assert done.json()["closed_at"] == "2026-12-03T04:00:00Z"  # the harness's now
    # the calls arrived in November: that month owes their callbacks
    rate = (await api.get("/api/callbacks/rate?month=2026-11")).json()
    assert (rate["owed"], rate["called_back"], rate["done"], rate["still_open"]) == (3, 1, 1, 2)
    assert rate["rate"] == pytest.approx(1 / 3)  # two tasks never called lower it
    assert rate["anonymous"] == 1  # dismissed at the sync: no number to call
    december = (await api.get("/api/callbacks/rate?month=2026-12")).json()
    assert (december["owed"], december["rate"], december["attempts"]) == (0, None, 3)
    assert "never called lowers it" in rate["definition"]


@pytest.mark.parametrize(
    ("body", "status", "says"),
    [
        ({"result": "maybe"}, 422, "body.result"),
        ({}, 422, "body.result"),
        ({"result": "busy", "at": "soon"}, 422, "body.at"),
        ({"result": "busy", "at": "2026-12-31T00:00:00+08:00"}, 422, "in the future"),
        ({"result": "busy", "at": "2026-11-01T00:00:00+08:00"}, 422, "before the call"),
        ({"result": "busy", "at": "0001-01-01T00:00:00"}, 422, "the year must be"),
        ({"result": "busy", "note": "x" * 501}, 422, "body.note"),
        ({"result": "busy", "who": "me"}, 422, "body.who"),
    ],
)
async def test_bad_attempts_are_422_and_change_nothing(
    api: Harness, body: dict[str, str], status: int, says: str
) -> None:
    await api.post("/api/callbacks/sync")
    response = await api.post("/api/callbacks/c-abandoned/attempts", json=body)
    assert response.status_code == status
    answer = response.json()
    assert says in answer["detail"] + " ".join(answer["problems"])
    assert (await api.get("/api/callbacks/c-abandoned")).json()["attempts"] == []


async def test_unknown_tasks_are_404(api: Harness) -> None:
    await api.post("/api/callbacks/sync")
    assert (await api.get("/api/callbacks/c-answered-1")).status_code == 404
    response = await api.post("/api/callbacks/nope/attempts", json={"result": "busy"})
    assert response.status_code == 404 and "no callback task" in response.json()["detail"]
    assert (await api.post("/api/callbacks/nope/dismiss", json={"note": "x"})).status_code == 404
    assert (await api.post("/api/callbacks/nope/call", json={"agent": "agent1"})).status_code == 404


async def test_dismissing_a_task(api: Harness) -> None:
    await api.post("/api/callbacks/sync")
    empty = await api.post("/api/callbacks/c-voicemail/dismiss", json={"note": ""})
    assert empty.status_code == 422
    response = await api.post("/api/callbacks/c-voicemail/dismiss",
                              json={"note": "customer called again"})
    assert response.json()["status"] == "dismissed"
    assert response.json()["close_note"] == "customer called again (test-admin)"
    again = await api.post("/api/callbacks/c-voicemail/dismiss", json={"note": "twice"})
    assert again.status_code == 409


async def test_calling_back_rings_the_agent_first(api: Harness) -> None:
    await api.post("/api/callbacks/sync")
    response = await api.post("/api/callbacks/c-voicemail/call", json={"agent": "agent1"})
    assert response.status_code == 202
    assert response.json()["channel_id"] == "callback-1"
    assert api.originator.calls == [("agent1", MOBILE, "c-voicemail")]


@pytest.mark.parametrize(
    ("linkedid", "body", "status", "says"),
    [
        ("c-voicemail", {"agent": "agent9"}, 422, "unknown agent 'agent9'; agents: agent1, agent2"),
        ("c-voicemail", {"agent": "PJSIP/agent1"}, 422, "body.agent"),
        ("c-voicemail", {"agent": "agent1&PJSIP/x"}, 422, "body.agent"),
        ("c-voicemail", {}, 422, "body.agent"),
        ("c-anonymous", {"agent": "agent1"}, 409, "already dismissed"),
    ],
)
async def test_calling_back_refused(
    api: Harness, linkedid: str, body: dict[str, str], status: int, says: str
) -> None:
    await api.post("/api/callbacks/sync")
    response = await api.post(f"/api/callbacks/{linkedid}/call", json=body)
    assert response.status_code == status
    answer = response.json()
    assert says in answer["detail"] + " ".join(answer["problems"])
    assert api.originator.calls == []


async def test_asterisk_refusing_is_502_and_no_originator_503(api: Harness) -> None:
    await api.post("/api/callbacks/sync")
    api.originator.fail = "Asterisk refused the call (400)"
    response = await api.post("/api/callbacks/c-voicemail/call", json={"agent": "agent1"})
    assert response.status_code == 502 and "refused" in response.json()["detail"]
    api.app.state.hotline.originator = None
    response = await api.post("/api/callbacks/c-voicemail/call", json={"agent": "agent1"})
    assert response.status_code == 503


async def test_an_unknown_status_is_422(api: Harness) -> None:
    assert (await api.get("/api/callbacks?status=closed")).status_code == 422


@pytest.mark.parametrize("month", ["2026-13", "26-11", "2026/11", ""])
async def test_the_rate_needs_a_month(api: Harness, month: str) -> None:
    assert (await api.get(f"/api/callbacks/rate?month={month}")).status_code == 422


async def test_a_viewer_reads_tasks_but_records_nothing(api: Harness) -> None:
    await api.post("/api/callbacks/sync")
    assert (await api.get("/api/callbacks", Role.viewer)).status_code == 200
    response = await api.post("/api/callbacks/c-voicemail/attempts", Role.viewer,
                              json={"result": "reached"})
    assert response.status_code == 403


async def test_tasks_follow_new_calls(tmp_path: Path) -> None:
    async with harness(tmp_path, a_day()[:3]) as api:
        assert (await api.post("/api/callbacks/sync")).json()["created"] == 0
