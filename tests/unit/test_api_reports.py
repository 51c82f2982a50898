"""Reports: a day, a month, a range; per line and total. The numbers are those of the
journal's `report()` (the same as `hotline report` and the exporter), never
recomputed by the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from ivr.auth.roles import Role
from ivr.journal.queries import day_range, month_range, report
from tests.unit.test_api_support import T0, Harness, a_day, harness


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Harness]:
    # two days: 3 November and, shifted, 5 November
    async with harness(tmp_path, [*a_day(), *_renamed(a_day(T0 + timedelta(days=2)))]) as h:
        yield h


def _renamed(scripts: list[Any]) -> list[Any]:
    for script in scripts:
        script.linkedid = "d2-" + script.linkedid
        script.events = [
            type(e)(script.linkedid, e.kind, e.at, e.source, e.data) for e in script.events
        ]
    return scripts


async def the_journals(api: Harness, start: Any, end: Any, line: str | None = None) -> Any:
    config = api.services.config()
    return await report(api.store, start, end, line=line, zone=config.hotline.zone,
                        targets=config.targets)


def same_numbers(part: dict[str, Any], expected: Any) -> None:
    tally, kpi = expected.tally, expected.kpi
    assert part["offered"] == tally.offered
    assert part["outcomes"] == {o.value: n for o, n in tally.outcomes().items()}
    assert part["rings"] == tally.rings()
    for rate in kpi.all:
        got = part["rates"][rate.name]
        assert (got["numerator"], got["denominator"], got["value"], got["met"], got["target"]) == (
            rate.numerator, rate.denominator, rate.value, rate.met, rate.target
        )
    assert part["answer_time"]["count"] == tally.answer_count
    assert part["answer_time"]["percentiles"]["p50"] == tally.answer_quantile(0.5)
    assert part["answer_time"]["percentiles"]["p90"] == tally.answer_quantile(0.9)
    assert {a["place"]: a["count"] for a in part["abandoned"]} == {
        place.value: n for place, (n, _) in tally.abandoned().items()
    }


async def test_a_day_has_the_numbers_of_hotline_report(api: Harness) -> None:
    response = await api.get("/api/reports/day?day=2026-11-03", Role.viewer)
    assert response.status_code == 200
    body = response.json()
    start, end = day_range("2026-11-03", "Asia/Shanghai")
    expected = await the_journals(api, start, end)
    same_numbers(body["total"], expected.total)
    assert body["total"]["offered"] == 8
    assert body["period"]["kind"] == "day" and body["period"]["zone"] == "Asia/Shanghai"
    assert body["period"]["start"] == "2026-11-02T16:00:00Z"
    assert set(body["per_line"]) == {"main", "legacy"}
    for name, part in body["per_line"].items():
        same_numbers(part, expected.per_line[name])
    assert body["per_line"]["legacy"]["rates"]["manual_answer"]["value"] == 1.0


async def test_hours_and_weekdays(api: Harness) -> None:
    body = (await api.get("/api/reports/month?month=2026-11")).json()
    assert [h["hour"] for h in body["by_hour"]] == list(range(24))
    assert body["by_hour"][10]["offered"] == 16  # 10:00-11:00 local, both days
    assert sum(h["offered"] for h in body["by_hour"]) == 16
    days = {d["name"]: d["offered"] for d in body["by_weekday"]}
    assert days == {"mon": 0, "tue": 8, "wed": 0, "thu": 8, "fri": 0, "sat": 0, "sun": 0}
    start, end = month_range("2026-11", "Asia/Shanghai")
    expected = await the_journals(api, start, end)
    for hour, part in enumerate(body["by_hour"]):
        same_numbers(part, expected.by_hour[hour])
    assert body["ring_time"] and {r["role"] for r in body["ring_time"]} == {"agent", "oncall"}


async def test_a_month_and_a_range_of_one_line(api: Harness) -> None:
    month = (await api.get("/api/reports/month?month=2026-11&line=main")).json()
    assert month["line"] == "main" and month["total"]["offered"] == 14
    assert set(month["per_line"]) == {"main"}
    ranged = (await api.get("/api/reports/range?start=2026-11-04&end=2026-11-05")).json()
    assert ranged["total"]["offered"] == 8
    assert ranged["period"]["label"] == "2026-11-04..2026-11-05"
    start, _ = day_range("2026-11-04", "Asia/Shanghai")
    _, end = day_range("2026-11-05", "Asia/Shanghai")
    same_numbers(ranged["total"], (await the_journals(api, start, end)).total)


async def test_an_empty_period_has_no_rates_rather_than_zero(api: Harness) -> None:
    body = (await api.get("/api/reports/day?day=2027-01-01")).json()
    assert body["total"]["offered"] == 0
    assert all(rate["value"] is None and rate["met"] is None
               for rate in body["total"]["rates"].values())
    assert body["total"]["answer_time"]["percentiles"]["p50"] is None


@pytest.mark.parametrize(
    ("query", "status", "says"),
    [
        ("day?day=2026-02-30", 422, "day: '2026-02-30' is not a day like 2026-11-03"),
        ("day?day=tomorrow", 422, "query.day: 'tomorrow' is not a day like 2026-11-03"),
        ("day?day=0", 422, "query.day: '0' is not a day"),
        ("day", 422, "query.day: Field required"),
        ("day?day=0001-01-01", 422, "(years 1970-2999)"),
        ("month?month=2026-13", 422, "query.month: '2026-13' is not a month like 2026-11"),
        ("month?month=2026-1", 422, "query.month"),
        ("month?month=0000-01", 422, "query.month"),
        ("range?start=2026-11-05&end=2026-11-01", 422, "end must not be before start"),
        ("range?start=2020-01-01&end=2026-01-01", 422, "at most 400 days"),
        ("range?start=2026-11-01", 422, "query.end"),
        ("week?day=2026-11-03", 404, ""),
    ],
)
async def test_bad_periods(api: Harness, query: str, status: int, says: str) -> None:
    response = await api.get(f"/api/reports/{query}")
    assert response.status_code == status
    if says:
        body = response.json()
        assert says in body["detail"] + " ".join(body.get("problems", []))
