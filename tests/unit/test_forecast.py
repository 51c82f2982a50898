"""The staffing forecast (R9): Erlang C against published values and by hand, arrivals
per half hour by kind of day (holidays and adjusted working days apart), the roster's
shortfall and the reminder about next month's roster, and `hotline forecast` over a
journal seeded with calls of known rates."""

from __future__ import annotations

import csv
import io
import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ivr.cli import app
from ivr.config import load_config
from ivr.domain.forecast import (
    ADJUSTED,
    HOLIDAY,
    History,
    forecast_days,
    history_days,
    open_slots,
    profile_of,
)
from ivr.domain.roster import (
    RosterError,
    coverage,
    parse_roster,
    roster_notice,
    shortfalls,
)
from ivr.domain.staffing import answered_within, staffing, waiting_probability
from ivr.journal.forecast import month_forecast
from ivr.journal.service import open_store
from tests.unit.test_api_support import answered, config_file

# -- Erlang C -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("agents", "published"),
    # the Erlang C table for 10 erlangs (e.g. 100 calls in half an hour of 180 s each)
    [(11, 0.6821), (12, 0.4494), (13, 0.2853), (14, 0.1741), (15, 0.1020)],
)
def test_the_probability_of_waiting_is_the_published_erlang_c(
    agents: int, published: float
) -> None:
    assert waiting_probability(agents, 10.0) == pytest.approx(published, abs=5e-5)


def test_erlang_c_by_hand_for_two_erlangs_and_three_agents() -> None:
    # B(3, 2) = (8/6) / (1 + 2 + 2 + 8/6) = 4/19; C = 3B / (3 - 2(1 - B)) = 4/9
    assert waiting_probability(3, 2.0) == pytest.approx(4 / 9, rel=1e-12)
    # SL(20 s) = 1 - C * exp(-(N - A) * 20 / AHT) with AHT 60 s
    assert answered_within(3, 2.0, 20, 60) == pytest.approx(1 - 4 / 9 * math.exp(-20 / 60))


def test_the_textbook_example_needs_fourteen_agents_for_80_in_20() -> None:
    # 100 calls in 30 minutes, 180 s each, 80% answered within 20 s: 13 agents give
    # 79.6%, 14 give 88.8% (the worked example of the Erlang C method)
    assert answered_within(13, 10.0, 20, 180) == pytest.approx(0.7956, abs=5e-5)
    need = staffing(100, 180, service_level=0.80, service_level_seconds=20)
    assert need.agents == 14
    assert need.erlangs == pytest.approx(10.0)
    assert need.service_level == pytest.approx(0.8884, abs=5e-5)
    assert need.occupancy == pytest.approx(10 / 14)


def test_no_calls_need_no_agent_and_one_call_needs_one() -> None:
    assert staffing(0, 240).agents == 0
    assert staffing(0.2, 240).agents == 1


def test_the_transfer_answer_target_can_need_more_agents_than_the_service_level() -> None:
    service_level_only = staffing(60, 300, service_level=0.5, answer_target=0.0)
    # impatient callers (they give up after 10 s on average): 85% must be answered by then
    both = staffing(60, 300, service_level=0.5, answer_target=0.85, patience_seconds=10)
    assert both.agents > service_level_only.agents
    assert both.answered is not None and both.answered >= 0.85
    fewer = answered_within(both.agents - 1, both.erlangs, 10, 300)
    assert fewer < 0.85


# -- arrivals by kind of day ------------------------------------------------------------------

EXAMPLE = Path(__file__).resolve().parents[2] / "hotline.example.toml"


def test_history_days_are_whole_weeks_before_the_end() -> None:
    days = history_days(date(2026, 11, 1), 2)
    assert (days[0], days[-1], len(days)) == (date(2026, 10, 18), date(2026, 10, 31), 14)


def test_arrivals_are_learnt_by_weekday_holiday_and_adjusted_working_day() -> None:
    schedule = load_config(EXAMPLE).schedule
    days = history_days(date(2026, 10, 12), 4)  # 2026-09-14 .. 2026-10-11
    kinds = {day: schedule.day_kind(day) for day in days}
    assert kinds[date(2026, 10, 1)] == "holiday"
    assert kinds[date(2026, 10, 10)] == "adjusted_workday"  # a Saturday, 调休
    ten = 20  # 10:00-10:30
    counts: dict[tuple[date, int], int] = {}
    for day, kind in kinds.items():
        profile = profile_of(day, kind)
        counts[(day, ten)] = {"mon": 40, HOLIDAY: 4, ADJUSTED: 30, "sat": 8}.get(profile, 20)
    history = History(kinds, agent_calls=counts, offered=counts, handled=10,
                      handling_ms_sum=10 * 180_000)
    wanted = [date(2026, 12, 7), date(2027, 1, 1), date(2026, 12, 12), date(2026, 12, 9),
              date(2026, 10, 10)]

    def is_open(day: date, slot: int) -> bool:
        return 16 <= slot < 40  # 08:00-20:00

    assumptions, slots = forecast_days(wanted, schedule.day_kind, is_open, history)
    at_ten = {s.day: s for s in slots if s.slot == ten}
    assert assumptions.handling_seconds == 180 and assumptions.handling_from_history
    # a Monday: the mean of the history's ordinary Mondays (four, none a holiday)
    assert (at_ten[date(2026, 12, 7)].profile, at_ten[date(2026, 12, 7)].staffing.calls) == (
        "mon", 40)
    # New Year's Day is a holiday: the history's holidays (Mid-Autumn and National Day)
    assert at_ten[date(2027, 1, 1)].profile == HOLIDAY
    assert at_ten[date(2027, 1, 1)].staffing.calls == 4
    # a Saturday learns from ordinary Saturdays only (not the holiday ones, not 调休)
    assert at_ten[date(2026, 12, 12)].staffing.calls == 8
    assert at_ten[date(2026, 10, 10)].profile == ADJUSTED
    assert at_ten[date(2026, 10, 10)].staffing.calls == 30
    monday = at_ten[date(2026, 12, 7)]
    # 4 erlangs: 6 agents wait 28.5% of calls, SL 1 - 0.285 * e^(-2 * 20 / 180) = 77.2%;
    # 7 agents wait 13.5%, SL 90.3%
    assert monday.agents == 7
    assert monday.staffing.service_level == pytest.approx(0.9032, abs=5e-5)
    assert answered_within(6, 4.0, 20, 180) == pytest.approx(0.7720, abs=5e-5)
    # a closed half hour needs nobody; a half hour without calls neither
    assert all(s.agents == 0 for s in slots if s.slot < 16 or s.slot != ten)


def test_open_half_hours_of_the_schedule() -> None:
    assert open_slots([(480, 1200)]) == frozenset(range(16, 40))
    assert open_slots([(485, 500)]) == frozenset({16})  # touched, not whole
    assert open_slots([(1320, 1560)]) == frozenset({44, 45, 46, 47})


# -- the roster -----------------------------------------------------------------------------

ROSTER = """date,start,end,agent
2026-12-07,08:00,12:00,王芳
2026-12-07,10:00,10:30,李雷
2026-12-07,22:00,02:00,夜班
"""


def test_a_roster_covers_the_half_hours_of_its_shifts() -> None:
    shifts = parse_roster(ROSTER)
    on_duty = coverage(shifts)
    assert on_duty[(date(2026, 12, 7), 20)] == {"王芳", "李雷"}
    assert on_duty[(date(2026, 12, 7), 23)] == {"王芳"}
    assert (date(2026, 12, 7), 24) not in on_duty
    assert on_duty[(date(2026, 12, 8), 3)] == {"夜班"}  # past midnight: the next date


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "empty"),
        ("day,from,to,who\n", "header"),
        ("date,start,end,agent\n2026-12-40,08:00,12:00,a\n", "row 2"),
        ("date,start,end,agent\n2026-12-07,8h,12:00,a\n", "'8h' is not a time"),
        ("date,start,end,agent\n2026-12-07,08:00,12:00,\n", "name is empty"),
    ],
)
def test_a_bad_roster_is_refused_naming_the_row(text: str, message: str) -> None:
    with pytest.raises(RosterError, match=message):
        parse_roster(text)


def test_the_roster_is_short_where_the_forecast_needs_more() -> None:
    schedule = load_config(EXAMPLE).schedule
    days = history_days(date(2026, 12, 1), 2)
    history = History({d: schedule.day_kind(d) for d in days},
                      agent_calls={(d, 20): 40 for d in days}, handled=1,
                      handling_ms_sum=180_000)
    _, slots = forecast_days([date(2026, 12, 7)], schedule.day_kind,
                             lambda d, s: 16 <= s < 40, history)
    short = shortfalls(slots, parse_roster(ROSTER))
    assert [(s.day, s.slot, s.needed, s.rostered, s.missing) for s in short] == [
        (date(2026, 12, 7), 20, 7, 2, 5)
    ]


@pytest.mark.parametrize(
    ("today", "exists", "expected"),
    [
        (date(2026, 11, 22), False, None),
        (date(2026, 11, 23), False, "the roster for 2026-12 does not exist yet: it is due by "
                                    "the 26th (3 days left)"),
        (date(2026, 11, 23), True, "the roster for 2026-12 exists"),
        (date(2026, 11, 26), False, "the roster for 2026-12 does not exist: it is due today"),
        (date(2026, 12, 27), False, "the roster for 2027-01 does not exist: it was due on"),
    ],
)
def test_next_months_roster_is_asked_for_from_the_23rd(
    today: date, exists: bool, expected: str | None
) -> None:
    notice = roster_notice(today, exists)
    if expected is None:
        assert notice is None
    else:
        assert notice is not None and notice.startswith(expected)


# -- over the journal -----------------------------------------------------------------------

MONDAY_TEN = datetime(2026, 9, 7, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
HANDLING = 50 + load_config(EXAMPLE).queue.wrapup_seconds  # talk + wrap-up of `answered`


async def seeded(tmp_path: Path, per_monday: int) -> Path:
    """Eight ordinary Mondays before November 2026 (none a holiday), each with
    `per_monday` calls for an agent between 10:00 and 10:30."""
    path = config_file(tmp_path)
    config = load_config(path)
    config.service.data_dir.mkdir(parents=True, exist_ok=True)
    store = open_store(config)
    await store.migrate()
    events = []
    for week in range(8):
        monday = MONDAY_TEN + timedelta(weeks=week)
        for n in range(per_monday):
            script = answered(f"w{week}-{n}", monday + timedelta(seconds=15 * n))
            events.extend(script.events)
    await store.ingest(events)
    await store.close()
    return path


async def test_the_month_forecast_reads_the_journal(tmp_path: Path) -> None:
    path = await seeded(tmp_path, per_monday=12)
    config = load_config(path)
    store = open_store(config)
    try:
        forecast = await month_forecast(store, config, "2026-11", date(2026, 12, 1))
    finally:
        await store.close()
    a = forecast.assumptions
    assert a.history_days == 56 and a.history_start == date(2026, 9, 6)
    # the seeded calls: answered 10 s in, ended at 60 s, then the queue's wrap-up
    assert a.handling_seconds == pytest.approx(HANDLING)
    mondays = [s for s in forecast.slots if s.day.weekday() == 0 and s.slot == 20]
    assert len(mondays) == 5  # 2, 9, 16, 23 and 30 November
    for slot in mondays:
        assert slot.staffing.calls == 12
        assert slot.agents == staffing(12, HANDLING).agents
    assert sum(s.agents for s in forecast.slots) == 5 * staffing(12, HANDLING).agents


def test_hotline_forecast_prints_the_table_writes_csv_and_finds_the_shortfall(
    tmp_path: Path,
) -> None:
    import asyncio

    path = asyncio.run(seeded(tmp_path, per_monday=100))
    roster = tmp_path / "roster.csv"
    roster.write_text("date,start,end,agent\n2026-11-02,08:00,20:00,王芳\n", encoding="utf-8")
    out = tmp_path / "forecast.csv"
    result = CliRunner().invoke(app, ["forecast", "--month", "2026-11", "-c", str(path),
                                      "--roster", str(roster), "--csv", str(out)])
    needed = staffing(100, HANDLING).agents
    assert result.exit_code == 1, result.output  # the roster is short
    assert "staffing forecast for 2026-11" in result.output
    assert f"10:00-10:30    .{needed:>3}  .  ." in result.output  # Sun 1, Mon 2 Nov
    assert f"2026-11-02 10:00-10:30: needs {needed}, rostered 1" in result.output
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8"))))
    assert len(rows) == 30 * 48
    row = next(r for r in rows if (r["date"], r["half_hour"]) == ("2026-11-09", "10:00-10:30"))
    assert (row["agent_calls"], row["agents"], row["rostered"], row["short"]) == (
        "100.000", str(needed), "0", str(needed))
    bad = CliRunner().invoke(app, ["forecast", "--month", "2026-13", "-c", str(path)])
    assert bad.exit_code == 2 and "not a month" in bad.output


# -- the API ---------------------------------------------------------------------------------


async def test_the_api_gives_the_forecast_to_supervisors_with_the_rosters_shortfall(
    tmp_path: Path,
) -> None:
    from ivr.auth.roles import Role
    from tests.unit.test_api_support import harness

    async with harness(tmp_path) as api:  # calls on Tuesday 3 November; now 3 December
        config = api.services.config()
        rosters = config.service.data_dir / "rosters"
        rosters.mkdir(parents=True)
        (rosters / "2026-12.csv").write_text(
            "date,start,end,agent\n2026-12-01,08:00,10:00,王芳\n", encoding="utf-8")
        assert (await api.get("/api/forecast?month=2026-12", Role.viewer)).status_code == 403
        response = await api.get("/api/forecast?month=2026-12", Role.supervisor)
        assert response.status_code == 200, response.text
        body = response.json()
        expected = await month_forecast(api.store, config, "2026-12", date(2026, 12, 3))
        assert len(body["half_hours"]) == 31 * 48
        assert [h["agents"] for h in body["half_hours"]] == [s.agents for s in expected.slots]
        tuesday_ten = next(h for h in body["half_hours"]
                           if (h["date"], h["half_hour"]) == ("2026-12-01", "10:00-10:30"))
        assert tuesday_ten["agent_calls"] > 0 and tuesday_ten["agents"] >= 1
        assert tuesday_ten["rostered"] == 0
        assert {"date": "2026-12-01", "half_hour": "10:00-10:30",
                "needed": tuesday_ten["agents"], "rostered": 0} in body["shortfalls"]
        assert body["roster"].endswith("2026-12.csv")
        assert (body["next_month_roster_exists"], body["roster_notice"]) == (False, None)
        as_csv = await api.get("/api/forecast?month=2026-12&format=csv", Role.supervisor)
        assert as_csv.headers["content-type"].startswith("text/csv")
        assert as_csv.text.splitlines()[0].startswith("date,half_hour,day_kind")
        (rosters / "2026-12.csv").write_text("nonsense\n", encoding="utf-8")
        refused = await api.get("/api/forecast?month=2026-12", Role.supervisor)
        assert refused.status_code == 422 and "header" in refused.json()["detail"]


async def test_the_exporter_gives_the_forecast_of_the_current_half_hour(tmp_path: Path) -> None:
    from metrics.exporter import Exporter, Sources

    path = await seeded(tmp_path, per_monday=12)
    config = load_config(path)
    store = open_store(config)
    monday_ten = datetime(2026, 11, 2, 2, 10, tzinfo=UTC)  # Monday 10:10 in Shanghai
    now = [monday_ten]
    try:
        exporter = Exporter(Sources(store=store, config=lambda: config, clock=lambda: now[0]))
        text = (await exporter.render()).decode()
        assert f"hotline_forecast_agents {float(staffing(12, HANDLING).agents)}" in text
        assert "hotline_forecast_calls 12.0" in text
        now[0] = monday_ten.replace(hour=3)  # 11:10: no calls for a person then
        text = (await exporter.render()).decode()
        assert "hotline_forecast_agents 0.0" in text
    finally:
        await store.close()


async def test_an_admin_publishes_the_roster_and_the_forecast_reads_it(tmp_path: Path) -> None:
    from ivr.auth.roles import Role
    from tests.unit.test_api_support import harness

    roster = "date,start,end,agent\n2026-12-01,08:00,10:00,王芳\n2026-12-02,08:00,20:00,李雷\n"
    async with harness(tmp_path) as api:
        url = "/api/forecast/roster?month=2026-12"
        csv_type = {"Content-Type": "text/csv"}
        assert (await api.get(url, Role.supervisor)).status_code == 404
        refused = await api.put(url, Role.supervisor, content=roster, headers=csv_type)
        assert refused.status_code == 403
        saved = await api.put(url, Role.admin, content=roster.encode(), headers=csv_type)
        assert saved.status_code == 200, saved.text
        assert (saved.json()["shifts"], saved.json()["agents"]) == (2, ["李雷", "王芳"])
        back = await api.get(url, Role.supervisor)
        assert back.text == roster and back.headers["content-type"].startswith("text/csv")
        forecast = (await api.get("/api/forecast?month=2026-12", Role.supervisor)).json()
        assert forecast["roster"].endswith("rosters/2026-12.csv")
        cells = {(h["date"], h["half_hour"]): h["rostered"] for h in forecast["half_hours"]}
        assert cells[("2026-12-01", "09:30-10:00")] == 1
        assert cells[("2026-12-01", "10:00-10:30")] == 0
        # a bad roster, or one of another month, changes nothing
        for body, why in (("date,start,end,agent\n2026-12-03,8h,12:00,a\n", "row 2"),
                          ("date,start,end,agent\n2027-01-03,08:00,12:00,a\n", "not in 2026-12"),
                          (b"\xff\xfe", "UTF-8")):
            bad = await api.put(url, Role.admin, content=body, headers=csv_type)
            assert bad.status_code == 422 and why in bad.json()["detail"], bad.text
        assert (await api.get(url, Role.supervisor)).text == roster
        # November's view of next month: the roster for December exists
        config = api.services.config()
        from ivr.journal.forecast import next_month_roster_exists

        assert next_month_roster_exists(config, date(2026, 11, 23))
