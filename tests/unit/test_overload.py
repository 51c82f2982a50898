"""Overload protection: when the controller is behind, a new call is shed to the
dialplan's own menu. The decision (domain), the load the controller measures, the
`[overload]` section, and the dialplan menu a shed caller hears."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ivr.callflow.overload import LoopLag, OverloadGuard, start_age
from ivr.config import ConfigError, load_config, parse_config
from ivr.domain.overload import Load, OverloadBounds, ShedReason, shed_reason

EXAMPLE = Path(__file__).resolve().parents[2] / "hotline.example.toml"
BOUNDS = OverloadBounds(start_age_seconds=0.5, calls_in_flight=100, loop_lag_seconds=0.25)


@pytest.mark.parametrize(
    ("load", "reason"),
    [
        (Load(0.01, 10, 0.002), None),
        (Load(None, 10, 0.002), None),  # no time on the event: the other bounds decide
        (Load(0.5, 99, 0.25), None),  # at the bounds: still taken
        (Load(0.51, 10, 0.0), ShedReason.start_age),
        (Load(0.01, 100, 0.0), ShedReason.in_flight),
        (Load(0.01, 10, 0.3), ShedReason.loop_lag),
        (Load(2.0, 500, 1.0), ShedReason.in_flight),  # all over: the first reason named
    ],
)
def test_a_new_call_is_shed_when_any_bound_is_passed(
    load: Load, reason: ShedReason | None
) -> None:
    assert shed_reason(load, BOUNDS) is reason


def test_a_disabled_guard_sheds_nothing() -> None:
    off = OverloadBounds(enabled=False, calls_in_flight=1)
    assert shed_reason(Load(9.0, 9999, 9.0), off) is None


def test_the_age_of_a_stasis_start_is_read_from_its_ari_timestamp() -> None:
    now = datetime(2026, 12, 1, 13, 0, 0, 500000, tzinfo=UTC)
    assert start_age("2026-12-01T13:00:00.250+0000", now) == pytest.approx(0.25)
    assert start_age("2026-12-01T21:00:00.000+0800", now) == pytest.approx(0.5)
    assert start_age(None, now) is None
    assert start_age("yesterday", now) is None


def test_the_guard_counts_the_calls_it_sheds_by_reason() -> None:
    guard = OverloadGuard(OverloadBounds(calls_in_flight=2, start_age_seconds=0.5))
    fresh = (datetime.now(UTC) - timedelta(milliseconds=5)).strftime("%Y-%m-%dT%H:%M:%S.%f")
    stale = (datetime.now(UTC) - timedelta(seconds=3)).strftime("%Y-%m-%dT%H:%M:%S.%f")
    assert guard.decide(fresh[:-3] + "+0000", 0) is None
    assert guard.decide(stale[:-3] + "+0000", 0) is ShedReason.start_age
    assert guard.decide(fresh[:-3] + "+0000", 2) is ShedReason.in_flight
    assert guard.decide(None, 5) is ShedReason.in_flight
    assert dict(guard.shed) == {"start_age": 1, "in_flight": 2}


async def test_the_loop_lag_monitor_sees_a_loop_held_up() -> None:
    lag = LoopLag()
    lag.start()
    try:
        await asyncio.sleep(0.12)
        assert lag.seconds < 0.05
        time.sleep(0.3)  # something holds the loop (what the writer thread avoids)
        await asyncio.sleep(0.12)
        assert lag.seconds >= 0.2
    finally:
        await lag.stop()


def test_the_overload_section_has_sane_defaults_and_is_validated() -> None:
    config = load_config(EXAMPLE)
    bounds = config.overload.bounds
    assert bounds.enabled
    assert bounds.calls_in_flight >= 1000  # 50 calls/s x ~10 s in the IVR is ~500
    assert 0.1 <= bounds.start_age_seconds <= 2 and 0.1 <= bounds.loop_lag_seconds <= 2
    example = EXAMPLE.read_text()
    assert "\n[overload]" in example  # the example shows the section
    text = example.replace("max_calls_in_flight = 1500", "max_calls_in_flight = 0\nmax_lag = 1")
    with pytest.raises(ConfigError) as failed:
        parse_config(text, EXAMPLE)
    problems = str(failed.value)
    assert "overload.max_calls_in_flight" in problems and "overload.max_lag" in problems
    tight = parse_config(
        example.replace("max_calls_in_flight = 1500", "max_calls_in_flight = 1").replace(
            "max_start_age_ms = 500", "max_start_age_ms = 50"
        ),
        EXAMPLE,
    )
    assert tight.overload.bounds.calls_in_flight == 1
    assert tight.overload.bounds.start_age_seconds == 0.05
