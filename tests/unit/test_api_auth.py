"""Every /api path needs a token (401 without one), a role that may (403 otherwise);
health needs none; a viewer sees every caller number masked (R10)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.auth.roles import Role
from tests.unit.test_api_support import LANDLINE, MOBILE, Harness, harness

MASKED_MOBILE = "138****8000"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path) as h:
        await h.callbacks.sync()
        yield h


def api_routes(h: Harness) -> list[tuple[str, str]]:
    """Every operation of the OpenAPI document under /api."""
    routes: list[tuple[str, str]] = []
    for path, operations in h.app.openapi()["paths"].items():
        if path.startswith("/api"):
            concrete = re.sub(r"\{[^}]+\}", "c-voicemail", path)
            routes.extend((method.upper(), concrete) for method in operations)
    return routes


async def test_every_api_path_needs_a_token(api: Harness) -> None:
    routes = api_routes(api)
    assert len(routes) >= 20
    for method, path in routes:
        response = await api.client.request(method, path)
        assert response.status_code == 401, (method, path)
        assert response.headers["www-authenticate"] == "Bearer"
        assert "token" in response.json()["detail"]


async def test_the_openapi_document_says_so(api: Harness) -> None:
    document = api.app.openapi()
    assert document["components"]["securitySchemes"]["token"] == {
        "type": "http", "scheme": "bearer", "description": document["components"][
            "securitySchemes"]["token"]["description"]
    }
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            secured = bool(operation.get("security"))
            assert secured is path.startswith("/api"), (method, path)


@pytest.mark.parametrize(
    "header",
    [
        "Bearer hl_not-a-token",
        "Bearer ",
        "Basic YWxpY2U6c2VjcmV0",
        "hl_only",
        "Bearer " + "x" * 9000,
    ],
)
async def test_a_wrong_token_is_401(api: Harness, header: str) -> None:
    response = await api.client.get("/api/calls", headers={"Authorization": header})
    assert response.status_code == 401


async def test_a_revoked_token_is_401_at_once(api: Harness) -> None:
    tokens = api.app.state.hotline.tokens
    assert (await api.get("/api/me", Role.viewer)).json() == {
        "name": "test-viewer", "role": "viewer"
    }
    await tokens.revoke("test-viewer", api.services.clock.now())
    assert (await api.get("/api/me", Role.viewer)).status_code == 401


async def test_health_needs_no_token(api: Harness) -> None:
    assert (await api.client.get("/health/live")).json() == {"status": "ok"}
    assert (await api.client.get("/health/ready")).status_code == 200


SUPERVISOR_ONLY = [
    ("GET", "/api/config"),
    ("GET", "/api/config/check"),
    ("POST", "/api/config/validate"),
    ("GET", "/api/voicemails/c-voicemail/audio"),
]
ADMIN_ONLY = [
    ("PUT", "/api/config"),
    ("POST", "/api/config/reload"),
    ("POST", "/api/callbacks/sync"),
    ("POST", "/api/callbacks/c-voicemail/attempts"),
    ("POST", "/api/callbacks/c-voicemail/dismiss"),
    ("POST", "/api/callbacks/c-voicemail/call"),
    ("POST", "/api/voicemails/c-voicemail/handled"),
]


@pytest.mark.parametrize(("method", "path"), SUPERVISOR_ONLY + ADMIN_ONLY)
async def test_a_viewer_may_not(api: Harness, method: str, path: str) -> None:
    response = await api.client.request(method, path, headers=api.auth(Role.viewer))
    assert response.status_code == 403
    assert "role" in response.json()["detail"]


@pytest.mark.parametrize(("method", "path"), ADMIN_ONLY)
async def test_a_supervisor_may_not_change_things(api: Harness, method: str, path: str) -> None:
    response = await api.client.request(method, path, headers=api.auth(Role.supervisor))
    assert response.status_code == 403
    assert response.json()["detail"] == "this needs the admin role; the token has supervisor"


@pytest.mark.parametrize(
    "path",
    ["/api/calls", "/api/calls/c-answered-1", "/api/calls.csv", "/api/reports/day?day=2026-11-03",
     "/api/live", "/api/callbacks", "/api/callbacks/rate?month=2026-11", "/api/voicemails",
     "/api/me"],
)
async def test_a_viewer_may_read(api: Harness, path: str) -> None:
    assert (await api.get(path, Role.viewer)).status_code == 200


async def test_a_supervisor_reads_everything(api: Harness) -> None:
    for path in ["/api/config", "/api/config/check", "/api/calls?caller=8000"]:
        assert (await api.get(path, Role.supervisor)).status_code == 200


# -- masking ---------------------------------------------------------------------------


def no_clear_number(text: str) -> None:
    for number in (MOBILE, LANDLINE, "13900001111", "13700002222"):
        assert number not in text


async def test_a_viewer_sees_masked_numbers_in_calls_and_timelines(api: Harness) -> None:
    listed = await api.get("/api/calls", Role.viewer)
    callers = {c["linkedid"]: c["caller"] for c in listed.json()["calls"]}
    assert callers["c-answered-1"] == MASKED_MOBILE
    assert callers["c-emergency"] == "021****1234"
    assert callers["c-anonymous"] == ""
    no_clear_number(listed.text)
    detail = await api.get("/api/calls/c-answered-1", Role.viewer)
    assert detail.json()["call"]["caller"] == MASKED_MOBILE
    arrival = detail.json()["timeline"][0]
    assert arrival["kind"] == "call_arrived" and arrival["data"]["caller"] == MASKED_MOBILE
    no_clear_number(detail.text)
    clear = await api.get("/api/calls/c-answered-1", Role.supervisor)
    assert clear.json()["timeline"][0]["data"]["caller"] == MOBILE


async def test_a_viewer_sees_masked_numbers_in_the_csv(api: Harness) -> None:
    response = await api.get("/api/calls.csv", Role.viewer)
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert {row["caller"] for row in rows} >= {MASKED_MOBILE, "021****1234"}
    no_clear_number(response.text)


async def test_a_viewer_sees_masked_numbers_in_tasks_voicemails_and_live(api: Harness) -> None:
    for path in ["/api/callbacks", "/api/callbacks/c-voicemail", "/api/voicemails",
                 "/api/voicemails/c-voicemail", "/api/live"]:
        response = await api.get(path, Role.viewer)
        assert response.status_code == 200, path
        assert MASKED_MOBILE in response.text or "021****1234" in response.text, path
        no_clear_number(response.text)
    tasks = (await api.get("/api/callbacks", Role.supervisor)).json()["tasks"]
    assert MOBILE in json.dumps(tasks)


async def test_a_viewer_may_not_search_by_number(api: Harness) -> None:
    response = await api.get("/api/calls?caller=8000", Role.viewer)
    assert response.status_code == 403
    assert "caller number" in response.json()["detail"]
    response = await api.get("/api/calls.csv?caller=8000", Role.viewer)
    assert response.status_code == 403
