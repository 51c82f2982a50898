"""The R4/R5 rates from counted calls: their parts, their targets, and no value at all
when nothing was counted."""

from __future__ import annotations

import pytest

from ivr.config import Targets
from ivr.domain.rates import Direction, Rate, RateCounts, kpi


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
    assert result.within_three_rings_rate.value == pytest.approx(45 / 60)
    assert result.within_three_rings_of_answered.value == pytest.approx(45 / 52)
    assert [rate.met for rate in result.headline] == [True, True, True, False, False]


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
    assert result.within_three_rings_of_answered.target == 0.7


def test_a_rate_of_lines_of_the_other_mode_stays_empty() -> None:
    """A hotline with IVR lines only has no manual answer rate (not 0%, not 100%)."""
    result = kpi(RateCounts(offered=10, ivr_line_offered=10, ivr_line_ivr_answered=10))
    assert result.manual_answer_rate.value is None
    assert result.auto_answer_rate.value == 1.0
