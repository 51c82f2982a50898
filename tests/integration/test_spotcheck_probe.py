"""The prober on real calls (SPEC R8's connection rule): in hours it connects on the
first dial (20); with the line's capacity filled by a SIPp caller it hears a busy tone,
redials after the configured interval (shortened here; the rule's 3 minutes in the
shipped config) and connects (16); a target that only rings (an agent's phone nobody
answers, no IVR and no voicemail behind it) is a no-answer on each of the four dials (0).
Each check is stored as the prober's, and the hotline's own journal sees the probe's
calls as calls like any caller's."""

from __future__ import annotations

import pytest

from ivr.domain.events import EventKind
from ivr.domain.spotcheck import DialResult

from . import sipp
from .harness import HotlineUnderTest
from .test_callflow import IN_HOURS

pytestmark = pytest.mark.asterisk


async def test_a_probe_in_hours_connects_on_the_first_dial(fresh: HotlineUnderTest) -> None:
    fresh.set_now(IN_HOURS)
    assert fresh.hotline.prober is not None
    mark = fresh.tap.mark()
    check = await fresh.hotline.prober.probe(number="95007")
    assert [d.result for d in check.dials] == [DialResult.ivr]
    assert check.connection_score == 20 and check.kind == "probe"
    arrived = await fresh.tap.wait_for(EventKind.call_arrived, since=mark, caller="10000")
    assert arrived.data["line"] == "main"


async def test_a_full_line_is_busy_then_the_redial_connects(fresh: HotlineUnderTest) -> None:
    await fresh.reload(redial_seconds="2.5")
    assert fresh.hotline.prober is not None
    try:
        mark = fresh.tap.mark()
        # the "small" line carries one call: a SIPp caller holds it for 2 s
        holder = await sipp.call(fresh.call_dir("probe-busy"), fresh.ports.sip, "95009",
                                 name="holder", hold_ms=2000)
        await fresh.tap.wait_for(EventKind.ivr_answered, since=mark)
        check = await fresh.hotline.prober.probe(number="95009")
        assert await holder.wait(30) == 0, holder.log()
    finally:
        await fresh.reload()
    assert [d.result for d in check.dials] == [DialResult.busy, DialResult.ivr]
    gap = (check.dials[1].at - check.dials[0].at).total_seconds()
    assert gap >= 2.5  # no sooner than the interval
    assert check.connection_score == 16
    assert fresh.tap.find(EventKind.call_rejected_busy)[-1].data["line"] == "small"


async def test_a_target_that_only_rings_is_no_answer_four_times(
    fresh: HotlineUnderTest,
) -> None:
    await fresh.reload(probe_dial="PJSIP/{number}", ring_seconds="2", redial_seconds="0.5")
    assert fresh.hotline.prober is not None
    phone = await sipp.phone(fresh.call_dir("probe-ring"), fresh.ports.agent1, name="agent1",
                             mode="noanswer")
    try:
        check = await fresh.hotline.prober.probe(number="agent1", checker="prober-ring")
    finally:
        await phone.stop()
        await fresh.reload()
    assert [d.result for d in check.dials] == [DialResult.no_answer] * 4
    assert check.connection_score == 0
    assert fresh.hotline.spotchecks is not None
    quarter = await fresh.hotline.spotchecks.quarter(check.quarter)
    assert "prober-ring" in {c.checker for c in quarter.checkers}


async def test_hotline_probe_dials_from_its_own_process(fresh: HotlineUnderTest) -> None:
    """`hotline probe` (what an operator runs beside `hotline run`) dials over the running
    Asterisk's ARI and stores its check where the service reads it."""
    from .cli_process import run_cli

    code, out = await run_cli("probe", "--checker", "cli-prober", "-c", str(fresh.config_path))
    assert code == 0, out
    assert "by cli-prober (probe): ivr -> connection 20/20" in out
    assert fresh.hotline.spotchecks is not None
    latest = await fresh.hotline.spotchecks.latest_by_checker()
    assert latest[("cli-prober", "probe")].connection_score == 20
