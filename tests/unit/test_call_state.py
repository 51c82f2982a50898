"""The call's state machine refuses impossible moves; a digit flood is bounded."""

from __future__ import annotations

import pytest

from ivr.callflow.call import MAX_PENDING_DIGITS, Call, CallState, IllegalTransition


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
