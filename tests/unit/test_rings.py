"""Rings to answer (SPEC §3, R5): floor(wait / cadence) + 1, and "within three rings"
means answered before the fourth ring began."""

from __future__ import annotations

import pytest

from ivr.domain.rings import answered_within_three_rings, ring_bucket, rings_to_answer


@pytest.mark.parametrize(
    ("wait", "rings"),
    [(0.0, 1), (4.999999, 1), (5.0, 2), (9.9, 2), (10.0, 3), (14.9, 3), (15.0, 4), (42.0, 9)],
)
def test_rings_at_the_default_cadence_of_five_seconds(wait: float, rings: int) -> None:
    assert rings_to_answer(wait) == rings


def test_fourteen_point_nine_seconds_is_within_three_rings_and_fifteen_is_not() -> None:
    assert answered_within_three_rings(14.9)
    assert rings_to_answer(14.9) == 3
    assert not answered_within_three_rings(15.0)
    assert rings_to_answer(15.0) == 4


@pytest.mark.parametrize("cadence", [0.1, 0.3, 1.0, 3.0, 4.5, 5.0, 6.0, 7.3])
@pytest.mark.parametrize("rings", [1, 2, 3, 4, 5])
def test_the_two_definitions_agree_exactly_at_every_ring_boundary(
    cadence: float, rings: int
) -> None:
    """At wait = n * cadence a new ring starts, even where n * cadence is not exact in
    binary floating point (0.3 * 3 = 0.8999999999999999)."""
    boundary = rings * cadence
    for wait in (boundary - 1e-6, boundary, boundary + 1e-6):
        assert answered_within_three_rings(wait, cadence) == (rings_to_answer(wait, cadence) <= 3)
    assert rings_to_answer(boundary, cadence) == rings + 1


def test_a_configured_cadence_changes_the_count() -> None:
    assert rings_to_answer(12.0, cadence=4.0) == 4
    assert not answered_within_three_rings(12.0, cadence=4.0)
    assert answered_within_three_rings(12.0, cadence=6.0)


def test_clock_skew_between_sources_is_an_immediate_answer() -> None:
    assert rings_to_answer(-0.2) == 1
    assert answered_within_three_rings(-0.2)


def test_a_cadence_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        rings_to_answer(3.0, cadence=0)


def test_ring_buckets_end_with_six_or_more() -> None:
    assert [ring_bucket(n) for n in (1, 2, 5, 6, 7, 40)] == [1, 2, 5, 6, 6, 6]
