"""Compliance findings for R1-R3, and the `hotline check` command."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from typer.testing import CliRunner

from ivr.cli import app
from ivr.compliance import (
    Finding,
    check_compliance,
    describe_week_span,
    required_consultation_hours,
)
from tests.unit.test_config import example_config, example_text, variant

DAY = 24 * 60


def errors(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.field, f.message) for f in findings if f.level == "error"]


def hotline(**changes: Any) -> dict[str, Any]:
    return {**example_config().hotline.model_dump(), **changes}


def consultation(*periods: tuple[str, str, str]) -> dict[str, Any]:
    return {"consultation": [{"days": d, "start": s, "end": e} for d, s, e in periods]}


def test_the_example_config_has_no_errors() -> None:
    findings = check_compliance(example_config())
    assert errors(findings) == []
    # R1 out of the box: emergency and repair ring the on-call staff outside hours
    assert findings == []


# -- R3 service hours --------------------------------------------------------------------


def test_the_minimum_hours_depend_on_the_company() -> None:
    def rule(households: int, new: bool) -> tuple[float, bool]:
        config = variant(hotline=hotline(households=households, new_company=new))
        r = required_consultation_hours(config)
        return r.hours, r.continuous

    assert rule(500, True) == (8, False)
    assert rule(500, False) == (10, True)
    assert rule(5000, True) == (10, True)
    assert rule(100_000, False) == (10, True)
    assert rule(100_001, False) == (12, True)


def test_a_large_company_needs_twelve_continuous_hours_every_day() -> None:
    config = variant(hours=consultation(("mon-sun", "08:00", "18:00")))
    assert errors(check_compliance(config)) == [
        (
            "hours.consultation",
            "mon, tue, wed, thu, fri, sat, sun: only 10 continuous hours of consultation; "
            "R3 requires at least 12 continuous hours a day for a company with more than "
            "100,000 households",
        )
    ]


def test_a_lunch_break_breaks_continuity() -> None:
    config = variant(
        hotline=hotline(households=5000),
        hours=consultation(("mon-sun", "08:00", "12:00"), ("mon-sun", "12:30", "20:00")),
    )
    [(field, message)] = errors(check_compliance(config))
    assert field == "hours.consultation"
    assert "only 7.5 continuous hours" in message and "an operating company" in message


def test_a_new_small_company_may_have_eight_hours_with_a_break() -> None:
    hours = consultation(("mon-sun", "08:00", "12:00"), ("mon-sun", "13:00", "17:00"))
    new = variant(hotline=hotline(households=600, new_company=True), hours=hours)
    assert errors(check_compliance(new)) == []
    old = variant(hotline=hotline(households=600), hours=hours)
    assert "only 4 continuous hours" in errors(check_compliance(old))[0][1]


def test_a_day_without_hours_is_an_error() -> None:
    config = variant(hours=consultation(("mon-fri", "08:00", "20:00")))
    assert errors(check_compliance(config)) == [
        (
            "hours.consultation",
            "sat, sun: no consultation hours at all; R3 requires at least 12 continuous "
            "hours a day for a company with more than 100,000 households",
        )
    ]


def test_hours_past_midnight_count_for_the_day_they_start() -> None:
    config = variant(hours=consultation(("mon-sun", "12:00", "02:00")))
    assert errors(check_compliance(config)) == []


def test_closing_on_public_holidays_is_allowed() -> None:
    config = variant(holidays={"country": "CN", "public_holidays": True, "closed": ["2026-12-31"]})
    assert errors(check_compliance(config)) == []


# -- on call -----------------------------------------------------------------------------


def oncall(*covers: list[tuple[str, str, str]]) -> list[dict[str, Any]]:
    return [
        {
            "name": f"duty {n}",
            "endpoint": f"duty{n}",
            "covers": [{"days": d, "start": s, "end": e} for d, s, e in periods],
        }
        for n, periods in enumerate(covers, start=1)
    ]


def test_a_gap_in_the_oncall_roster_is_named() -> None:
    config = variant(
        oncall=oncall(
            [("mon-fri", "00:00", "24:00")],
            [("sat", "08:00", "24:00"), ("sun", "00:00", "24:00")],
        )
    )
    assert errors(check_compliance(config)) == [
        (
            "oncall",
            "sat 00:00-08:00 has nobody on call; the [[oncall]] covers must together cover "
            "every minute of the week (R1: emergency at any hour)",
        )
    ]


def test_a_night_gap_over_midnight_is_one_finding() -> None:
    config = variant(
        oncall=oncall([("mon-fri", "06:00", "22:00")], [("sat-sun", "00:00", "24:00")])
    )
    gaps = [message.split(" has ")[0] for _, message in errors(check_compliance(config))]
    assert gaps == [
        "mon 00:00-06:00",  # Sunday is covered to midnight: Monday's early hours are open
        "mon 22:00-tue 06:00",
        "tue 22:00-wed 06:00",
        "wed 22:00-thu 06:00",
        "thu 22:00-fri 06:00",
        "fri 22:00-24:00",
    ]


def test_nobody_on_call_leaves_emergency_without_a_route() -> None:
    fields = [field for field, _ in errors(check_compliance(variant(oncall=[])))]
    assert fields == ["oncall", "hotline.night_transfer", "menu.keys.1"]


def test_emergency_must_be_reachable_and_transferred_at_night() -> None:
    menu = {**example_config().menu.model_dump(), "keys": {"1": "repair", "0": "person"}}
    config = variant(menu=menu, hotline=hotline(night_transfer=[]))
    assert [field for field, _ in errors(check_compliance(config))] == [
        "menu.keys",
        "hotline.night_transfer",
    ]


# -- menu routes -------------------------------------------------------------------------


def test_keys_that_need_a_person_need_agents() -> None:
    findings = errors(check_compliance(variant(agents=[])))
    assert [field for field, _ in findings] == [
        "menu.keys.2",
        "menu.keys.3",
        "menu.keys.4",
        "menu.keys.5",
        "menu.keys.0",
        "menu.default",
        "lines.1",
    ]
    assert findings[0][1] == "repair needs a person, but there are no [[agents]]"
    assert findings[-1][1] == "manual line 88886666 has no [[agents]] to ring"


# -- the off-hours prompt (R2) -----------------------------------------------------------


def prompts(**changes: Any) -> dict[str, Any]:
    return {**example_config().prompts.model_dump(exclude_none=True), **changes}


def test_an_off_hours_prompt_without_hours_or_numbers_is_an_error() -> None:
    config = variant(prompts=prompts(off_hours={"text": "现在是非服务时间，请留言。"}))
    assert errors(check_compliance(config)) == [
        (
            "prompts.off_hours.text",
            "the off-hours prompt must state the service hours ({hours}), the emergency "
            "number ({emergency_number}), the repair number ({repair_number}) (R2)",
        )
    ]


def test_literal_numbers_and_hours_are_accepted() -> None:
    text = "服务时间每天8点至20点，法定节假日除外。紧急情况请拨打9 5 0 0 7。"
    assert errors(check_compliance(variant(prompts=prompts(off_hours={"text": text})))) == []
    hours_only = "服务时间{hours}。紧急情况请拨打{emergency_number}。"
    config = variant(
        prompts=prompts(off_hours={"text": hours_only}), hotline=hotline(repair_number="96777")
    )
    assert errors(check_compliance(config)) == [
        (
            "prompts.off_hours.text",
            "the off-hours prompt must state the repair number ({repair_number}) (R2)",
        )
    ]


def test_a_recorded_off_hours_prompt_gets_a_warning() -> None:
    config = variant(prompts=prompts(off_hours={"file": "off_hours.wav"}))
    findings = [f for f in check_compliance(config) if f.field == "prompts.off_hours.file"]
    assert [f.level for f in findings] == ["warning"]
    assert "每天8点至20点" in findings[0].message and "95007" in findings[0].message


def test_repair_at_night_is_no_warning_when_transferred() -> None:
    config = variant(hotline=hotline(night_transfer=["emergency", "repair"]))
    assert check_compliance(config) == []


# -- naming spans of the week ------------------------------------------------------------


def test_describe_week_span() -> None:
    assert describe_week_span((5 * DAY, 5 * DAY + 8 * 60)) == "sat 00:00-08:00"
    assert describe_week_span((4 * DAY + 22 * 60, 5 * DAY + 6 * 60)) == "fri 22:00-sat 06:00"
    assert describe_week_span((6 * DAY, 7 * DAY)) == "sun 00:00-24:00"
    assert describe_week_span((6 * DAY + 22 * 60, 7 * DAY + 6 * 60)) == "sun 22:00-mon 06:00"
    assert describe_week_span((6 * DAY + 20 * 60, 8 * DAY)) == "sun 20:00-mon 24:00"
    assert describe_week_span((0, 7 * DAY)) == "the whole week"


# -- hotline check -----------------------------------------------------------------------


def test_check_passes_the_example(tmp_path: Path) -> None:
    path = tmp_path / "hotline.toml"
    path.write_text(example_text(), encoding="utf-8")
    result = CliRunner().invoke(app, ["check", "--config", str(path)])
    assert result.exit_code == 0, result.output
    assert result.output.splitlines()[-1] == (
        "OK: 2 line(s), 2 agent(s), 2 on call; consultation mon-sun 08:00-20:00; 0 warning(s)"
    )


def test_check_fails_with_the_field_of_each_error(tmp_path: Path) -> None:
    path = tmp_path / "hotline.toml"
    text = example_text().replace('end = "20:00"', 'end = "17:00"')
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["check", "--config", str(path)])
    assert result.exit_code == 1
    assert "error: hours.consultation: mon, tue, wed, thu, fri, sat, sun: only 9 continuous" in (
        result.output
    )
    assert "OK" not in result.output


def test_check_reports_an_invalid_config_with_status_2(tmp_path: Path) -> None:
    path = tmp_path / "hotline.toml"
    path.write_text(example_text().replace("capacity = 60", "capacity = -1"), encoding="utf-8")
    result = CliRunner().invoke(app, ["check", "--config", str(path)])
    assert result.exit_code == 2
    assert "lines.0.capacity" in result.output
