"""The call's state machine refuses impossible moves; a digit flood is bounded."""

from __future__ import annotations

import pytest

from ivr.callflow.call import (
    MAX_PENDING_DIGITS,
    Call,
    CallGone,
    CallState,
    IllegalTransition,
)


def make_call() -> Call:
    return Call(channel="c1", linkedid="c1", line="main", caller="1")


def test_a_call_walks_answer_menu_route_hangup() -> None:
    call = make_call()
    call.answer()
    call.move_to(CallState.menu)
    assert call.in_ivr and call.place == "menu"
    call.route()
    assert not call.in_ivr
    call.hang_up()
    assert call.state is CallState.hung_up and call.gone.is_set()


def test_a_call_cannot_be_routed_before_it_is_answered() -> None:
    with pytest.raises(IllegalTransition):
        make_call().route()


def test_a_flood_of_digits_is_cut() -> None:
    call = make_call()
    for _ in range(1000):
        call.press("5")
    assert call.digits.qsize() == MAX_PENDING_DIGITS
    call.forget_digits()
    assert call.digits.empty()


def test_a_caller_who_left_first_is_gone_not_an_illegal_move() -> None:
    call = make_call()
    call.hang_up()  # the caller left before the call's task ran
    with pytest.raises(CallGone):
        call.answer()
    assert not call.to_fallback()


def test_a_call_can_be_handed_to_the_fallback_until_it_has_left() -> None:
    for walk in ([], [CallState.answered], [CallState.answered, CallState.menu]):
        call = make_call()
        for state in walk:
            call.move_to(state)
        assert call.to_fallback() and call.state is CallState.fallback and not call.in_ivr
        assert not call.to_fallback()  # once
    routed = make_call()
    routed.answer()
    routed.route()
    assert not routed.to_fallback()  # the dialplan has it already
