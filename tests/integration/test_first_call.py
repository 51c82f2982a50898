"""Proves the foundation: SIPp calls the public number 95007 on a real Asterisk, the
dialplan answers it, the controller takes it over ARI and plays the greeting and menu,
and the call's events (arrival and answer from the dialplan over AMI, the prompts from
the controller) arrive."""

from __future__ import annotations

import pytest

from ivr.domain.events import EventKind

from . import sipp
from .harness import HotlineUnderTest
from .test_callflow import IN_HOURS

pytestmark = pytest.mark.asterisk


async def test_call_to_public_number_is_answered_by_the_controller(
    fresh: HotlineUnderTest,
) -> None:
    fresh.set_now(IN_HOURS)  # the menu is for hours; the wall clock may be past them
    mark = fresh.tap.mark()
    run = await sipp.call(fresh.call_dir("first"), fresh.ports.sip, "95007", hold_ms=1500)
    code = await run.wait(timeout=30)
    assert code == 0, run.log()
    arrived = await fresh.tap.wait_for(EventKind.call_arrived, since=mark, line="main")
    answered = await fresh.tap.wait_for(EventKind.ivr_answered, since=mark, line="main")
    greeted = await fresh.tap.wait_for(EventKind.prompt_played, since=mark, prompt="greeting,menu")
    assert answered.linkedid == arrived.linkedid == greeted.linkedid
    assert greeted.source == "ari"  # the controller had the call
    assert arrived.data["caller"] == "13800138000"
    await fresh.tap.wait_for(EventKind.call_ended, since=mark)
