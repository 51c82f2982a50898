"""The R4/R5 rates from counted calls: their parts, their targets, and no value at all
when nothing was counted."""

from __future__ import annotations

import pytest

from ivr.domain.rates import Direction, Rate, RateCounts, kpi
from ivr.domain.targets import Targets


def test_a_rate_with_nothing_to_count_has_no_value_and_no_verdict() -> None:
    result = kpi(RateCounts())
    for rate in result.headline:
        assert rate.value is None
        assert rate.met is None
    assert result.offered == 0


def test_each_rate_uses_the_numerator_and_denominator_of_spec_section_3() -> None:
    counts = RateCounts(
        offered=110,
        unanswered=2,
        human_requested=60,
        answered_by_person=52,
        answered_within_three_rings=45,
        busy=3,
        ring_attempts=70,
        ring_attempts_within_three_rings=45,
        rings_counted=52,
        rings_sum=130,
        queued=58,
        queue_ms_sum=58 * 18_500,
        answered_in_service_level=47,
        answered_with_wait=52,
        wait_ms_sum=52 * 22_000,
        handled=52,
        handling_ms_sum=52 * 340_000,
        ivr_line_offered=100,
        ivr_line_ivr_answered=99,
        ivr_line_human_requested=50,
        ivr_line_answered_by_person=43,
        manual_line_offered=10,
        manual_line_answered_by_person=9,
    )
    result = kpi(counts, Targets())
    assert (result.auto_answer_rate.numerator, result.auto_answer_rate.denominator) == (99, 100)
    assert result.transfer_answer_rate.value == pytest.approx(43 / 50)
    assert result.manual_answer_rate.value == pytest.approx(0.9)
    assert result.no_answer_rate.value == pytest.approx(2 / 110)
    # the headline: calls answered within three rings / calls answered by a person
    assert result.within_three_rings_rate.value == pytest.approx(45 / 52)
    assert result.busy_rate.value == pytest.approx(3 / 110)
    assert result.ring_attempts_within_three_rings.value == pytest.approx(45 / 70)
    assert result.average_rings.value == pytest.approx(2.5)
    assert result.average_queue_seconds.value == pytest.approx(18.5)
    assert result.service_level.value == pytest.approx(47 / 58)
    assert result.average_speed_of_answer_seconds.value == pytest.approx(22.0)
    assert result.average_handling_seconds.value == pytest.approx(340.0)
    assert [rate.met for rate in result.headline] == [True, True, True, False, True]
    assert [rate.met for rate in result.all[5:]] == [False, False, True, True, True, False,
                                                     False]


@pytest.mark.parametrize(("seconds", "met"), [(209.999, False), (210, True), (330, True),
                                              (330.001, False)])
def test_handling_time_is_judged_against_its_band(seconds: float, met: bool) -> None:
    counts = RateCounts(handled=1, handling_ms_sum=round(seconds * 1000))
    rate = kpi(counts).average_handling_seconds
    assert rate.met is met
    assert (rate.target, rate.upper) == (210.0, 330.0)


def test_averages_are_judged_as_upper_bounds_in_their_own_units() -> None:
    at_target = kpi(RateCounts(rings_counted=4, rings_sum=12, queued=2, queue_ms_sum=40_000))
    assert (at_target.average_rings.value, at_target.average_rings.met) == (3.0, True)
    assert at_target.average_queue_seconds.met is True
    above = kpi(RateCounts(rings_counted=4, rings_sum=13, queued=2, queue_ms_sum=40_002))
    assert above.average_rings.met is False
    assert above.average_queue_seconds.met is False


def test_hitting_a_target_exactly_meets_it() -> None:
    assert Rate("transfer_answer", 85, 100, 0.85).met is True
    assert Rate("transfer_answer", 17, 20, 0.85).met is True
    assert Rate("auto_answer", 49, 50, 0.98).met is True
    assert Rate("auto_answer", 979, 1000, 0.98).met is False


def test_the_no_answer_target_is_an_upper_bound_of_zero() -> None:
    none_lost = Rate("no_answer", 0, 500, 0.0, Direction.at_most)
    one_lost = Rate("no_answer", 1, 500, 0.0, Direction.at_most)
    assert (none_lost.value, none_lost.met) == (0.0, True)
    assert one_lost.met is False


def test_targets_come_from_the_config() -> None:
    targets = Targets(auto_answer=0.99, transfer_answer=0.5, manual_answer=0.95,
                      no_answer=0.01, within_three_rings=0.7)
    result = kpi(RateCounts(offered=100, unanswered=1, ivr_line_offered=100,
                            ivr_line_ivr_answered=98), targets)
    assert [rate.target for rate in result.headline] == [0.99, 0.5, 0.95, 0.01, 0.7]
    assert result.auto_answer_rate.met is False
    assert result.no_answer_rate.met is True
    assert result.ring_attempts_within_three_rings.target == 0.7


def test_a_rate_of_lines_of_the_other_mode_stays_empty() -> None:
    """A hotline with IVR lines only has no manual answer rate (not 0%, not 100%)."""
    result = kpi(RateCounts(offered=10, ivr_line_offered=10, ivr_line_ivr_answered=10))
    assert result.manual_answer_rate.value is None
    assert result.auto_answer_rate.value == 1.0
