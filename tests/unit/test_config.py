"""Config errors name the field and the line; the shipped example is valid.

`example_config` and `variant` are shared with the schedule and compliance tests.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ivr.config import ConfigError, HotlineConfig, load_config, parse_config

EXAMPLE = Path(__file__).resolve().parents[2] / "hotline.example.toml"


def example_text() -> str:
    return EXAMPLE.read_text(encoding="utf-8")


def example_config() -> HotlineConfig:
    return parse_config(example_text(), EXAMPLE)


def variant(**sections: Any) -> HotlineConfig:
    """The example with whole sections replaced, validated like a loaded file."""
    raw = example_config().model_dump()
    raw.update(sections)
    return HotlineConfig.model_validate(raw)


def problems_of(text: str) -> list[str]:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, Path("hotline.toml"))
    return caught.value.problems


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    """1-based line number of the n-th line containing `needle`."""
    hits = [n for n, line in enumerate(text.splitlines(), start=1) if needle in line]
    return hits[occurrence - 1]


def test_the_example_config_loads() -> None:
    config = load_config(EXAMPLE)
    assert config.hotline.timezone == "Asia/Shanghai"
    assert [line.number for line in config.lines] == ["95007", "88886666"]
    assert config.service.data_dir.is_absolute()


def test_a_bad_capacity_in_the_second_line_names_the_line_and_the_field() -> None:
    text = example_text().replace("capacity = 10", "capacity = 0")
    problems = problems_of(text)
    assert len(problems) == 1
    assert problems[0].startswith(f"line {line_of(text, 'capacity = 0')}: lines.1.capacity:")
    assert "greater than or equal to 1" in problems[0]


def test_an_unknown_key_is_rejected_with_its_line() -> None:
    text = example_text().replace("new_company = false", "new_company = false\nnew_compnay = 1")
    assert problems_of(text) == [
        f"line {line_of(text, 'new_compnay')}: hotline.new_compnay: Extra inputs are not permitted"
    ]


def test_an_unknown_section_is_rejected() -> None:
    problems = problems_of(example_text() + "\n[holiday]\nclosed = []\n")
    assert len(problems) == 1 and "holiday: Extra inputs are not permitted" in problems[0]


def test_a_bad_time_zone_is_named() -> None:
    text = example_text().replace('timezone = "Asia/Shanghai"', 'timezone = "Asia/Beijing"')
    assert problems_of(text) == [
        f"line {line_of(text, 'Asia/Beijing')}: hotline.timezone: unknown time zone 'Asia/Beijing'"
    ]


@pytest.mark.parametrize(
    ("period", "field", "complaint"),
    [
        ('{ days = "mon-sun", start = "08:00", end = "25:00" }', "end", "between 00:00 and 24:00"),
        ('{ days = "mon-sun", start = "8h", end = "20:00" }', "start", "not a time of day"),
        ('{ days = "mon-fry", start = "08:00", end = "20:00" }', "days", "unknown day"),
        ('{ days = "mon-sun", start = "08:00", end = "08:00" }', "", "the period is empty"),
        ('{ days = "mon-sun", from = "08:00" }', "from", "Extra inputs"),
    ],
)
def test_a_bad_period_names_the_field(period: str, field: str, complaint: str) -> None:
    good = '{ days = "mon-sun", start = "08:00", end = "20:00" }'
    text = example_text().replace(good, period)
    problems = problems_of(text)
    assert len(problems) == 1
    where = f"line {line_of(text, 'consultation = [')}: hours.consultation.0"
    assert problems[0].startswith(where + (f".{field}:" if field else ":"))
    assert complaint in problems[0]


def test_an_unknown_prompt_placeholder_is_a_config_error() -> None:
    text = example_text().replace("欢迎致电{name}", "欢迎致电{hotline}")
    problems = problems_of(text)
    assert len(problems) == 1
    assert problems[0].startswith(f"line {line_of(text, '{hotline}')}: prompts.greeting:")
    assert "unknown placeholder {hotline}" in problems[0]


def test_a_stray_brace_in_a_prompt_is_a_config_error() -> None:
    text = example_text().replace("欢迎致电{name}。", "欢迎致电{name。")
    assert "stray brace" in problems_of(text)[0]


def test_an_unknown_holiday_country_is_a_config_error() -> None:
    text = example_text().replace('country = "CN"', 'country = "XX"')
    assert problems_of(text) == [
        f"line {line_of(text, 'country = ')}: holidays.country: "
        "no public holidays known for country 'XX'; use a code like CN"
    ]


def test_a_date_both_closed_and_open_is_rejected() -> None:
    text = example_text().replace("closed = []", 'closed = ["2026-12-31"]')
    text = text.replace("open = []", 'open = ["2026-12-31"]')
    assert "both closed and open" in problems_of(text)[0]


def test_invalid_toml_is_reported_as_such() -> None:
    assert problems_of("[hotline\n")[0].startswith("not valid TOML")


def test_recorded_prompt_files_are_relative_to_the_config_file(tmp_path: Path) -> None:
    text = example_text().replace(
        'greeting = { text = "您好，欢迎致电{name}。" }', 'greeting = { file = "sounds/hello.wav" }'
    )
    path = tmp_path / "etc" / "hotline.toml"
    path.parent.mkdir()
    path.write_text(text, encoding="utf-8")
    config = load_config(path)
    assert config.prompts.greeting.file == tmp_path / "etc" / "sounds" / "hello.wav"


def test_a_line_named_all_is_refused_it_names_every_line_in_reports() -> None:
    text = example_text().replace('name = "legacy"', 'name = "all"')
    problems = problems_of(text)
    assert any("may not be named 'all'" in problem for problem in problems), problems


def test_the_announcement_key_must_be_free_and_have_its_prompt() -> None:
    taken = example_text().replace('announcement_key = "9"', 'announcement_key = "1"')
    assert any("also a key of menu.keys" in p for p in problems_of(taken))
    silent = "\n".join(
        line for line in example_text().splitlines() if not line.startswith("announcement =")
    )
    assert any("needs a [prompts] announcement" in p for p in problems_of(silent))


def test_the_targets_of_every_measure_have_the_seeds_defaults() -> None:
    targets = example_config().targets.values
    assert (targets.auto_answer, targets.transfer_answer, targets.manual_answer) == (
        0.98, 0.85, 0.90
    )
    assert (targets.no_answer, targets.average_rings, targets.average_queue_seconds) == (
        0.0, 3.0, 20.0
    )
    assert (targets.service_level, targets.service_level_seconds) == (0.80, 20.0)
    assert (targets.handling_min_seconds, targets.handling_max_seconds) == (210.0, 330.0)
    band = example_text().replace("handling_min_seconds = 210", "handling_min_seconds = 400")
    assert any("handling_min_seconds is above" in p for p in problems_of(band))
