"""Calls: search by time range, line, outcome, caller number and service, page by page;
one call with its timeline; CSV export that parses. Bad input is a clear 422."""

from __future__ import annotations

import csv
import io
from collections.abc import AsyncIterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from ivr.auth.roles import Role
from ivr.domain.events import EventKind
from tests.unit.test_api_support import T0, Harness, a_day, answered, harness, in_progress

MINUTE = timedelta(minutes=1)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path, [*a_day(), in_progress("c-now", T0 + 70 * MINUTE)]) as h:
        yield h


async def linkedids(api: Harness, query: str, role: Role = Role.supervisor) -> list[str]:
    response = await api.get(f"/api/calls?{query}", role)
    assert response.status_code == 200, response.text
    return [call["linkedid"] for call in response.json()["calls"]]


async def test_calls_come_newest_first(api: Harness) -> None:
    found = await linkedids(api, "")
    assert found[:3] == ["c-now", "c-anonymous", "c-completed"]
    assert len(found) == 9


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("line=legacy", ["c-legacy"]),
        ("outcome=voicemail", ["c-anonymous", "c-voicemail"]),
        ("outcome=answered_by_agent&line=main", ["c-answered-2", "c-answered-1"]),
        ("caller=13900001111", ["c-answered-2"]),
        ("caller=2222", ["c-abandoned"]),
        ("caller=%2B8613900001111", []),
        ("service=emergency", ["c-emergency"]),
        ("service=repair", ["c-answered-2", "c-answered-1"]),
        ("callback_needed=true", ["c-anonymous", "c-emergency", "c-abandoned", "c-voicemail"]),
        ("in_progress=true", ["c-now"]),
        # local times (Asia/Shanghai): T0 is 10:00 on 3 November
        ("since=2026-11-03T10:40&until=2026-11-03T10:52",
         ["c-completed", "c-emergency"]),
        ("since=2026-11-03T02:40:00Z&until=2026-11-03T02:52:00Z",
         ["c-completed", "c-emergency"]),
        ("since=2026-11-03T10:40%2B08:00&until=2026-11-03T10:52%2B08:00",
         ["c-completed", "c-emergency"]),
        ("until=2026-11-03", []),
        ("since=2026-11-04", []),
        ("line=nowhere", []),
    ],
)
async def test_search(api: Harness, query: str, expected: list[str]) -> None:
    assert await linkedids(api, query) == expected


async def test_pages_follow_the_cursor_to_the_end(api: Harness) -> None:
    seen, cursor, pages = [], "", 0
    while True:
        response = await api.get(f"/api/calls?limit=2{cursor}")
        body = response.json()
        seen += [call["linkedid"] for call in body["calls"]]
        pages += 1
        if body["next_cursor"] is None:
            break
        cursor = f"&cursor={body['next_cursor']}"
    assert pages == 5 and seen == await linkedids(api, "limit=100")


async def test_calls_at_the_same_instant_are_not_lost_between_pages(tmp_path: Path) -> None:
    same = [answered(f"c{n}", T0) for n in range(5)]
    async with harness(tmp_path, same) as api:
        first = (await api.get("/api/calls?limit=3")).json()
        second = (await api.get(f"/api/calls?limit=3&cursor={first['next_cursor']}")).json()
        found = [c["linkedid"] for c in first["calls"] + second["calls"]]
        assert sorted(found) == [f"c{n}" for n in range(5)] and second["next_cursor"] is None


@pytest.mark.parametrize(
    ("query", "says"),
    [
        ("since=yesterday", "query.since: 'yesterday' is not a date or time like 2026-11-03"),
        ("until=2026-13-01", "query.until: '2026-13-01' is not a date or time"),
        ("since=0001-01-01T00:00:00%2B05:00", "(years 1970-2999)"),
        ("since=2026-02-30", "since: '2026-02-30' is not a date or time like"),
        ("since=2026-11-04&until=2026-11-03", "until must be after since"),
        ("cursor=bm9wZQ", "cursor is not one this API gave out"),
        ("cursor=%%%", "cursor is not one this API gave out"),
        ("caller=12a45", "query.caller: '12a45' is not 3 to 32 digits"),
    ],
)
async def test_bad_input_is_a_clear_422(api: Harness, query: str, says: str) -> None:
    response = await api.get(f"/api/calls?{query}")
    assert response.status_code == 422
    body = response.json()
    assert says in " ".join([body["detail"], *body["problems"]])


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("outcome=lost", "query.outcome"),
        ("limit=0", "query.limit"),
        ("limit=100000", "query.limit"),
        ("caller=12", "query.caller"),
        ("caller=12a45", "query.caller"),
        ("in_progress=maybe", "query.in_progress"),
        ("line=" + "x" * 65, "query.line"),
    ],
)
async def test_invalid_parameters_name_the_field(api: Harness, query: str, field: str) -> None:
    response = await api.get(f"/api/calls?{query}")
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "the request is not valid"
    assert body["problems"][0].startswith(field + ":")


async def test_one_call_with_its_timeline(api: Harness) -> None:
    response = await api.get("/api/calls/c-emergency")
    assert response.status_code == 200
    body = response.json()
    call = body["call"]
    assert (call["outcome"], call["oncall_result"], call["callback_needed"]) == (
        "abandoned", "failed", True
    )
    assert call["attempts"][0]["who"] == "张" and call["attempts"][0]["result"] == "noanswer"
    kinds = [event["kind"] for event in body["timeline"]]
    assert kinds[0] == "call_arrived" and kinds[-1] == "call_ended"
    assert "oncall_chain_failed" in kinds
    times = [datetime.fromisoformat(event["at"]) for event in body["timeline"]]
    assert times == sorted(times)


async def test_a_call_in_progress_has_no_outcome_yet(api: Harness) -> None:
    call = (await api.get("/api/calls/c-now")).json()["call"]
    assert call["in_progress"] is True and call["outcome"] is None


@pytest.mark.parametrize("linkedid", ["nope", "1762135200.999", "%20", "x" * 64])
async def test_an_unknown_call_is_404(api: Harness, linkedid: str) -> None:
    response = await api.get(f"/api/calls/{linkedid}")
    assert response.status_code == 404
    assert "no call" in response.json()["detail"]


async def test_a_linkedid_too_long_is_422(api: Harness) -> None:
    assert (await api.get("/api/calls/" + "x" * 65)).status_code == 422


async def test_the_csv_export_parses(api: Harness) -> None:
    response = await api.get("/api/calls.csv?line=main")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    assert response.text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert [row["linkedid"] for row in rows] == [
        "c-anonymous", "c-completed", "c-emergency", "c-abandoned", "c-voicemail",
        "c-answered-2", "c-answered-1",
    ]  # finished calls only
    first = next(row for row in rows if row["linkedid"] == "c-answered-1")
    assert first["arrived_local"] == "2026-11-03 10:00:00"
    assert first["arrived_utc"] == "2026-11-03T02:00:00+00:00"
    assert (first["outcome"], first["answered_by"], first["rings"]) == (
        "answered_by_agent", "agent1", "1"
    )
    assert first["within_three_rings"] == "1" and first["wait_seconds"] == "4.000"
    slow = next(row for row in rows if row["linkedid"] == "c-answered-2")
    assert (slow["rings"], slow["within_three_rings"]) == ("5", "0")


async def test_the_csv_export_follows_the_filters_and_the_limit(api: Harness) -> None:
    response = await api.get("/api/calls.csv?outcome=voicemail&limit=1")
    rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
    assert len(rows) == 2 and rows[1][0] == "c-anonymous"
    bad = await api.get("/api/calls.csv?since=soon")
    assert bad.status_code == 422


async def test_a_large_export_streams_in_batches(tmp_path: Path) -> None:
    many = [answered(f"c{n:04d}", T0 + n * MINUTE) for n in range(1203)]
    async with harness(tmp_path, many) as api:
        response = await api.get("/api/calls.csv")
        rows = list(csv.reader(io.StringIO(response.text.lstrip("\ufeff"))))
        assert len(rows) == 1204
        assert len({row[0] for row in rows[1:]}) == 1203


async def test_the_post_call_survey_score_is_in_the_call_and_the_export(tmp_path: Path) -> None:
    rated = answered("c-rated", T0)
    rated.at(50, EventKind.survey_offered)
    rated.at(53, EventKind.survey_answered, score=3)
    async with harness(tmp_path, [rated, answered("c-unrated", T0 + MINUTE)]) as api:
        calls = (await api.get("/api/calls")).json()["calls"]
        assert {c["linkedid"]: c["survey_score"] for c in calls} == {
            "c-rated": 3, "c-unrated": None,
        }
        response = await api.get("/api/calls.csv")
        rows = list(csv.DictReader(io.StringIO(response.text.lstrip("\ufeff"))))
        assert {row["linkedid"]: row["survey_score"] for row in rows} == {
            "c-rated": "3", "c-unrated": "",
        }
