"""The spot check's connection rule (SPEC R8, the seed's 接通情况 20 points), case by case
from the seed, and the quarter's score as the average of three or more checkers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from ivr.domain.spotcheck import (
    Dial,
    DialResult,
    SpotCheckInvalid,
    connection_score,
    quarter_of,
    quarter_score,
    redial_due,
    score_dials,
)

C, B, N = DialResult.ivr, DialResult.busy, DialResult.no_answer
P, V = DialResult.person, DialResult.voicemail
T = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("dials", "points"),
    [
        ([C], 20),  # 一次接通
        ([P], 20),
        ([V], 20),  # a voicemail box is no no-answer (无人应答's own definition)
        ([B, C], 16),  # 二次接通: busy, redialled 3 minutes later
        ([N, C], 16),  # 一次无人接听
        ([B, B, C], 8),  # 三次接通
        ([N, N, C], 8),  # 二次无人接听
        ([N, B, C], 8),  # the 3rd dial, whatever came before
        ([B, B, B, C], 0),  # 四次及以上接通
        ([N, N, N, C], 0),  # 三次及以上无人接听
        ([B, B, B, B], 0),  # never connected
        ([N, N, N, N], 0),
    ],
)
def test_the_seeds_connection_points(dials: list[DialResult], points: int) -> None:
    assert connection_score(dials) == points


def test_a_check_ends_when_it_connects() -> None:
    with pytest.raises(SpotCheckInvalid, match="ends with the dial that connected"):
        connection_score([C, B])
    with pytest.raises(SpotCheckInvalid):
        connection_score([])


def test_a_redial_sooner_than_three_minutes_does_not_count() -> None:
    quick = [Dial(T, B), Dial(T + timedelta(seconds=90), C)]
    with pytest.raises(SpotCheckInvalid, match="no sooner than 180 s"):
        score_dials(quick)
    assert score_dials([Dial(T, B), Dial(T + timedelta(minutes=3), C)]) == 16
    assert score_dials(quick, interval=timedelta(seconds=60)) == 16  # a shortened rule


def test_the_check_goes_on_until_it_connects_or_has_dialled_four_times() -> None:
    assert redial_due([B]) and redial_due([B, N, B])
    assert not redial_due([B, C]) and not redial_due([B, B, B, B]) and not redial_due([])


def test_the_quarter_is_the_average_of_three_or_more_checkers() -> None:
    two = quarter_score("2026Q4", [("a", 20), ("b", 16)])
    assert two.score is None and len(two.checkers) == 2
    three = quarter_score("2026Q4", [("a", 20), ("a", 16), ("b", 16), ("prober", 8)])
    assert [c.score for c in three.checkers] == [18.0, 16.0, 8.0]
    assert three.score == 14.0


def test_quarters_are_local() -> None:
    shanghai = ZoneInfo("Asia/Shanghai")
    assert quarter_of(datetime(2026, 12, 31, 17, 0, tzinfo=UTC), shanghai) == "2027Q1"
    assert quarter_of(datetime(2026, 4, 1, 0, 0, tzinfo=shanghai), shanghai) == "2026Q2"


def test_the_dashboard_draws_each_checkers_score_against_20() -> None:
    from tests.unit.test_grafana_dashboard import dashboard, panels

    found = [
        p for p in panels(dashboard())
        if any("hotline_spotcheck_score" in t["expr"] for t in p.get("targets", []))
    ]
    assert len(found) == 1
    defaults = found[0]["fieldConfig"]["defaults"]
    assert (defaults["min"], defaults["max"]) == (0, 20)
    assert defaults["thresholds"]["steps"][-1]["value"] == 20
    exprs = " ".join(t["expr"] for t in found[0]["targets"])
    assert "hotline_spotcheck_quarter_score" in exprs


# -- the store and the API ------------------------------------------------------------------


async def test_checkers_results_are_entered_scored_and_averaged(tmp_path: object) -> None:
    from pathlib import Path

    from ivr.auth.roles import Role
    from tests.unit.test_api_support import NOW, harness

    assert isinstance(tmp_path, Path)
    at = NOW - timedelta(hours=2)
    async with harness(tmp_path, scripts=[]) as api:
        def check(checker: str, *results: str, gap: float = 180) -> dict[str, object]:
            return {"checker": checker, "dials": [
                {"at": (at + timedelta(seconds=gap * n)).isoformat(), "result": r}
                for n, r in enumerate(results)
            ]}

        assert (await api.post("/api/spotchecks", Role.viewer, json=check("a", "ivr"))
                ).status_code == 403
        first = await api.post("/api/spotchecks", Role.supervisor, json=check("a", "ivr"))
        assert first.status_code == 201, first.text
        assert first.json()["connection_score"] == 20
        assert first.json()["quarter"] == "2026Q4"
        quick = await api.post("/api/spotchecks", Role.supervisor,
                               json=check("b", "busy", "ivr", gap=60))
        assert quick.status_code == 422 and "no sooner than 180 s" in quick.json()["detail"]
        busy = await api.post("/api/spotchecks", Role.supervisor,
                              json={**check("b", "busy", "person"), "listened_score": 70})
        assert busy.json()["connection_score"] == 16 and busy.json()["total"] == 86
        two = (await api.get("/api/spotchecks?quarter=2026Q4", Role.viewer)).json()
        assert two["score"] is None and len(two["checkers"]) == 2  # three are needed
        await api.post("/api/spotchecks", Role.supervisor,
                       json=check("c", "no_answer", "no_answer", "voicemail"))
        three = (await api.get("/api/spotchecks?quarter=2026Q4", Role.viewer)).json()
        assert three["score"] == round((20 + 16 + 8) / 3, 2)
        assert (await api.post("/api/spotchecks/probe", Role.supervisor)).status_code == 403
        assert (await api.post("/api/spotchecks/probe", Role.admin)).status_code == 409
