"""Real calls with known timings, and the night, voicemail and busy paths, end up as
exact call records in the store, and the report counts them as SPEC §3 defines:
rings = floor(wait / 5 s) + 1, where wait runs from the request for a person to the
answer."""

from __future__ import annotations

import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ivr.journal.events import EventKind
from ivr.journal.queries import report
from ivr.journal.record import AbandonPlace, CallRecord, Outcome

from . import sipp
from .harness import HotlineUnderTest
from .sipp import Press
from .test_callflow import IN_HOURS, SATURDAY_NIGHT, start_agents, stop_all

pytestmark = pytest.mark.asterisk


async def record_of(hotline: HotlineUnderTest, linkedid: str) -> CallRecord:
    """The stored record once the call has ended and the journal has written it."""
    await hotline.tap.wait_for(EventKind.call_ended, timeout=60, linkedid=linkedid)
    assert hotline.journal is not None
    await hotline.journal.writer.flush()
    record = await hotline.journal.store.call(linkedid)
    assert record is not None and record.outcome is not None, record
    return record


async def agent_answers_after(hotline: HotlineUnderTest, seconds: float, name: str) -> CallRecord:
    """A caller asks for a person; the agent's phone rings so that the answer comes
    `seconds` after the request (the queue prompt plays first)."""
    hotline.set_now(IN_HOURS)
    workdir = hotline.call_dir(name)
    ring_ms = int(seconds * 1000) - hotline.prompt_ms("queue")
    agents = await start_agents(hotline, workdir, ring_ms=ring_ms)
    try:
        mark = hotline.tap.mark()
        caller = await sipp.call(
            workdir, hotline.ports.sip, "95007", digits=[Press("0", 1500)],
            hold_ms=int(seconds * 1000) + 4000,
        )
        assert await caller.wait(90) == 0, caller.log()
        requested = await hotline.tap.wait_for(EventKind.human_requested, since=mark)
        return await record_of(hotline, requested.linkedid)
    finally:
        await stop_all(agents)


async def test_answer_after_7_seconds_is_two_rings(fresh: HotlineUnderTest) -> None:
    record = await agent_answers_after(fresh, 7.0, "seven")
    assert record.outcome is Outcome.answered_by_agent
    assert record.wait_seconds == pytest.approx(7.0, abs=0.8)
    assert record.rings == 2 and record.within_three_rings is True
    assert record.answered_by in {"agent1", "agent2"}
    assert record.menu_choices and record.menu_choices[0].key == "0"
    assert not record.callback_needed


async def test_answer_after_16_seconds_is_four_rings(fresh: HotlineUnderTest) -> None:
    record = await agent_answers_after(fresh, 16.5, "sixteen")
    assert record.outcome is Outcome.answered_by_agent
    assert record.rings == 4 and record.within_three_rings is False
    assert record.attempts, "each agent ring attempt is recorded"


async def test_caller_abandons_in_the_queue_after_10_seconds(fresh: HotlineUnderTest) -> None:
    fresh.set_now(IN_HOURS)
    workdir = fresh.call_dir("abandon")
    agents = await start_agents(fresh, workdir, ring_ms=0, mode="noanswer")
    try:
        mark = fresh.tap.mark()
        caller = await sipp.call(
            workdir, fresh.ports.sip, "95007", digits=[Press("0", 1500)], hold_ms=10_000
        )
        assert await caller.wait(60) == 0, caller.log()
        requested = await fresh.tap.wait_for(EventKind.human_requested, since=mark)
        record = await record_of(fresh, requested.linkedid)
    finally:
        await stop_all(agents)
    assert record.outcome is Outcome.abandoned
    assert record.abandon_place is AbandonPlace.queue
    assert record.abandon_wait_seconds == pytest.approx(10.0, abs=1.0)
    assert record.callback_needed  # R7: an abandoned call that asked for a person


async def test_a_voicemail_is_recorded_with_its_length(fresh: HotlineUnderTest) -> None:
    fresh.set_now(SATURDAY_NIGHT)
    mark = fresh.tap.mark()
    until_beep = fresh.prompt_ms("off_hours", "voicemail") + 2000 + 1500
    caller = await sipp.call(
        fresh.call_dir("vm-record"), fresh.ports.sip, "95007",
        audio_after_ms=until_beep, audio_ms=6500, hold_ms=500,
    )
    assert await caller.wait(60) == 0, caller.log()
    await fresh.tap.wait_for(EventKind.off_hours, since=mark)
    started = await fresh.tap.wait_for(EventKind.voicemail_started, since=mark)
    assert started.data["urgent"] == "0"
    record = await record_of(fresh, started.linkedid)
    assert record.outcome is Outcome.voicemail
    assert record.off_hours and record.callback_needed
    assert record.voicemail_file and record.voicemail_seconds
    # the file Asterisk wrote is as long as the journal says: the 6.4 s the caller said,
    # give or take the silence detection at its end
    path = fresh.stack.install.host_path(Path(record.voicemail_file))  # type: ignore[union-attr]
    with wave.open(str(path)) as wav:
        seconds = wav.getnframes() / wav.getframerate()
    assert seconds == pytest.approx(record.voicemail_seconds, abs=0.1)
    assert 4.0 < seconds < 10.0


async def test_a_full_line_is_journaled_as_busy(fresh: HotlineUnderTest) -> None:
    fresh.set_now(SATURDAY_NIGHT)
    workdir = fresh.call_dir("busy-record")
    mark = fresh.tap.mark()
    holding = await sipp.call(workdir, fresh.ports.sip, "95009", name="first", hold_ms=4000)
    await fresh.tap.wait_for(EventKind.ivr_answered, since=mark, line="small")
    refused = await sipp.call(workdir, fresh.ports.sip, "95009", name="second", expect=486)
    assert await refused.wait(30) == 0, refused.log()
    assert await holding.wait(30) == 0, holding.log()
    rejected = await fresh.tap.wait_for(EventKind.call_rejected_busy, since=mark)
    record = await record_of(fresh, rejected.linkedid)
    assert record.outcome is Outcome.busy and record.line == "small"
    assert record.counts_as.offered and record.counts_as.unanswered


async def test_night_emergency_answered_by_the_second_on_call(fresh: HotlineUnderTest) -> None:
    fresh.set_now(SATURDAY_NIGHT)
    workdir = fresh.call_dir("oncall-record")
    first = await sipp.phone(workdir, fresh.ports.oncall1, name="oncall1", mode="noanswer")
    second = await sipp.phone(workdir, fresh.ports.oncall2, name="oncall2", ring_ms=1000)
    try:
        mark = fresh.tap.mark()
        caller = await sipp.call(
            workdir, fresh.ports.sip, "95007", digits=[Press("1", 1500)], hold_ms=16000
        )
        assert await caller.wait(60) == 0, caller.log()
        requested = await fresh.tap.wait_for(EventKind.human_requested, since=mark)
        assert requested.data["target"] == "oncall"
        ended = await fresh.tap.wait_for(EventKind.oncall_ring_ended, since=mark, order="1")
        assert ended.data["result"] == "noanswer"
        record = await record_of(fresh, requested.linkedid)
    finally:
        await first.stop()
        await second.stop()
    assert record.outcome is Outcome.answered_by_oncall
    assert record.answered_by == "night two"
    results = [(a.who, a.result) for a in record.attempts]
    assert results[0] == ("night one", "noanswer") and results[-1][0] == "night two"


async def test_the_report_counts_what_the_calls_did(fresh: HotlineUnderTest) -> None:
    """Two scripted calls move the day's report by exactly what they were."""
    assert fresh.journal is not None
    store = fresh.journal.store
    start = datetime.now(UTC) - timedelta(hours=1)
    end = datetime.now(UTC) + timedelta(hours=1)
    await fresh.journal.writer.flush()
    before = (await report(store, start, end, zone=fresh.config.hotline.timezone)).tally
    await agent_answers_after(fresh, 7.0, "report-answered")
    fresh.set_now(IN_HOURS)
    mark = fresh.tap.mark()
    caller = await sipp.call(
        fresh.call_dir("report-menu"), fresh.ports.sip, "95007", hold_ms=1000
    )
    assert await caller.wait(30) == 0, caller.log()
    arrived = await fresh.tap.wait_for(EventKind.call_arrived, since=mark)
    abandoned = await record_of(fresh, arrived.linkedid)
    assert abandoned.outcome is Outcome.abandoned
    assert abandoned.abandon_place is AbandonPlace.menu
    after = (await report(store, start, end, zone=fresh.config.hotline.timezone)).tally
    assert after.offered - before.offered == 2
    assert after.ivr_answered - before.ivr_answered == 2
    assert after.human_requested - before.human_requested == 1
    assert after.answered_by_person - before.answered_by_person == 1
    assert after.answered_within_three_rings - before.answered_within_three_rings == 1
    assert after.rings_2 - before.rings_2 == 1
    assert after.outcome_abandoned - before.outcome_abandoned == 1


async def test_a_controller_restart_during_a_live_call_completes_its_record(
    fresh: HotlineUnderTest,
) -> None:
    """The service goes away while the caller is in the queue and comes back before the
    agent answers: the answer and the end still reach the call's record."""
    fresh.set_now(IN_HOURS)
    workdir = fresh.call_dir("restart")
    agents = await start_agents(fresh, workdir, ring_ms=7000)
    try:
        mark = fresh.tap.mark()
        caller = await sipp.call(
            workdir, fresh.ports.sip, "95007", digits=[Press("0", 1500)], hold_ms=15000
        )
        ringing = await fresh.tap.wait_for(EventKind.agent_ring_started, since=mark)
        await fresh.stop_controller()
        await fresh.start_controller()
        assert await caller.wait(60) == 0, caller.log()
        record = await record_of(fresh, ringing.linkedid)
    finally:
        await stop_all(agents)
    assert record.outcome is Outcome.answered_by_agent
    assert record.rings is not None and record.rings >= 2
