"""Real calls with known timings, and the night, voicemail, busy, announcement and
refused paths, end up as exact call records in the store, counted as SPEC §3 defines:
rings = floor(ring_time / 5 s) + 1 on the answering person's own phone, queue time
from the queue entry, speed of answer from the menu key."""

from __future__ import annotations

import uuid
import wave
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ivr.auth.roles import Role
from ivr.auth.tokens import TokenStore
from ivr.domain.events import EventKind
from ivr.domain.record import AbandonPlace, CallRecord, Outcome
from ivr.journal.queries import day_range, report

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
    """A caller asks for a person (key 0); after the "please hold" prompt the queue rings
    the agent's phone, which rings `seconds` before it is answered."""
    hotline.set_now(IN_HOURS)
    workdir = hotline.call_dir(name)
    agents = await start_agents(hotline, workdir, ring_ms=int(seconds * 1000))
    try:
        mark = hotline.tap.mark()
        caller = await sipp.call(
            workdir, hotline.ports.sip, "95007", digits=[Press("0", 1500)],
            hold_ms=int(seconds * 1000) + hotline.prompt_ms("queue") + 4000,
        )
        assert await caller.wait(90) == 0, caller.log()
        requested = await hotline.tap.wait_for(EventKind.human_requested, since=mark)
        return await record_of(hotline, requested.linkedid)
    finally:
        await stop_all(agents)


async def test_an_agent_phone_ringing_7_seconds_is_two_rings(fresh: HotlineUnderTest) -> None:
    record = await agent_answers_after(fresh, 7.0, "seven")
    assert record.outcome is Outcome.answered_by_agent
    # the agent's own phone rang 7 s: the second ring, within three
    assert record.ring_seconds == pytest.approx(7.0, abs=0.5)
    assert record.rings == 2 and record.within_three_rings is True
    # queue time from the queue entry; speed of answer from the key, "please hold" included
    assert record.queue_seconds == pytest.approx(7.0, abs=0.8)
    assert record.wait_seconds == pytest.approx(7.0 + fresh.prompt_ms("queue") / 1000, abs=1.0)
    assert record.within_service_level is True
    assert record.answered_by in {"agent1", "agent2"}
    assert fresh.config.person_name(record.answered_by) in {"agent one", "agent two"}
    assert record.menu_choices and record.menu_choices[0].key == "0"
    assert record.handling_seconds is not None and record.handling_seconds > 0
    assert not record.callback_needed


async def test_an_agent_phone_ringing_16_seconds_is_four_rings(fresh: HotlineUnderTest) -> None:
    record = await agent_answers_after(fresh, 16.0, "sixteen")
    assert record.outcome is Outcome.answered_by_agent
    assert record.ring_seconds == pytest.approx(16.0, abs=0.5)
    assert record.rings == 4 and record.within_three_rings is False
    assert record.ring_attempts() == (1, 0)  # the one attempt broke the rule


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
    # offered and busy, but not 无人应答: a busy tone is judged apart
    assert record.counts_as.offered and record.counts_as.busy
    assert not record.counts_as.unanswered


async def test_night_emergency_answered_by_the_second_on_call(fresh: HotlineUnderTest) -> None:
    fresh.set_now(SATURDAY_NIGHT)
    workdir = fresh.call_dir("oncall-record")
    first = await sipp.phone(workdir, fresh.ports.oncall1, name="oncall1", mode="noanswer")
    second = await sipp.phone(workdir, fresh.ports.oncall2, name="oncall2", ring_ms=3000)
    try:
        mark = fresh.tap.mark()
        caller = await sipp.call(
            workdir, fresh.ports.sip, "95007", digits=[Press("1", 1500)], hold_ms=18000
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
    assert record.answered_by == "oncall2"
    assert fresh.config.person_name(record.answered_by) == "night two"
    results = [(a.who, a.result) for a in record.attempts]
    assert results == [("oncall1", "noanswer"), ("oncall2", "answered")]
    # the second phone rang 3 s: its first ring; the first rang out and broke the rule
    assert (record.rings, record.within_three_rings) == (1, True)
    assert record.ring_attempts() == (2, 1)


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


async def test_a_silent_caller_past_the_beep_leaves_an_empty_voicemail(
    fresh: HotlineUnderTest,
) -> None:
    """Reaching the beep makes the call a voicemail, flagged empty when the caller says
    nothing, and owed a callback: the number is known."""
    fresh.set_now(SATURDAY_NIGHT)
    mark = fresh.tap.mark()
    caller = await sipp.call(
        fresh.call_dir("vm-silent"), fresh.ports.sip, "95007", remote_hangup=True,
    )
    assert await caller.wait(60) == 0, caller.log()
    beep = await fresh.tap.wait_for(EventKind.voicemail_recording, since=mark)
    record = await record_of(fresh, beep.linkedid)
    assert record.outcome is Outcome.voicemail
    assert record.voicemail_empty and record.voicemail_spoken is False
    assert record.abandon_place is None
    assert record.callback_needed


async def test_a_caller_who_talks_after_the_beep_leaves_a_message(
    fresh: HotlineUnderTest,
) -> None:
    fresh.set_now(SATURDAY_NIGHT)
    mark = fresh.tap.mark()
    until_beep = fresh.prompt_ms("off_hours", "voicemail") + 2000 + 1500
    caller = await sipp.call(
        fresh.call_dir("vm-spoken"), fresh.ports.sip, "95007",
        audio_after_ms=until_beep, audio_ms=6500, hold_ms=500,
    )
    assert await caller.wait(60) == 0, caller.log()
    beep = await fresh.tap.wait_for(EventKind.voicemail_recording, since=mark)
    record = await record_of(fresh, beep.linkedid)
    assert record.outcome is Outcome.voicemail
    assert record.voicemail_spoken is True and not record.voicemail_empty


@pytest.mark.parametrize("caller_hangs_up", [True, False], ids=["caller-hangs-up", "silent"])
async def test_a_caller_answered_by_the_announcement_is_ivr_completed(
    fresh: HotlineUnderTest, caller_hangs_up: bool
) -> None:
    """Key 9 plays the service hours; a caller who hangs up after it, or stays silent
    until the hotline ends the call, got what they called for."""
    fresh.set_now(IN_HOURS)
    mark = fresh.tap.mark()
    hold = 1500 + fresh.prompt_ms("announcement") + 300  # before the 2 s menu timeout
    caller = await sipp.call(
        fresh.call_dir(f"announcement-{caller_hangs_up}"), fresh.ports.sip, "95007",
        digits=[Press("9", 1500)], hold_ms=hold, remote_hangup=not caller_hangs_up,
    )
    assert await caller.wait(60) == 0, caller.log()
    heard = await fresh.tap.wait_for(EventKind.announcement_completed, since=mark)
    record = await record_of(fresh, heard.linkedid)
    assert record.outcome is Outcome.ivr_completed
    assert record.abandon_place is None
    assert record.counts_as.ivr_answered and not record.counts_as.human_requested
    assert not record.callback_needed


async def test_a_refused_invite_is_no_call_and_is_counted_by_reason(
    fresh: HotlineUnderTest,
) -> None:
    assert fresh.journal is not None
    store = fresh.journal.store
    before = await store.refused_totals()
    mark = fresh.tap.mark()
    run = await sipp.call(
        fresh.call_dir("refused"), fresh.ports.sip, "0085212345678", expect=404
    )
    # the calls of the line end in the public context too: none of them is refused
    answered = await sipp.call(fresh.call_dir("refused"), fresh.ports.sip, "95007",
                               name="answered", hold_ms=500)
    assert await answered.wait(30) == 0, answered.log()
    assert await run.wait(30) == 0, run.log()
    refused = await fresh.tap.wait_for(EventKind.call_refused, since=mark)
    assert refused.data["reason"] == "unknown_number"
    assert refused.data["number"] == "0085212345678"
    await fresh.tap.wait_for(EventKind.call_ended, linkedid=refused.linkedid, since=mark)
    await fresh.journal.writer.flush()
    assert await store.call(refused.linkedid) is None  # never a call of any line
    assert not [r for r in await store.calls(limit=1000) if not r.line]
    after = await store.refused_totals()
    assert after.get("unknown_number", 0) - before.get("unknown_number", 0) == 1


async def test_report_metrics_and_api_show_the_same_numbers(fresh: HotlineUnderTest) -> None:
    """After real calls (this one's and every earlier test's), `hotline report`'s numbers,
    the API's day report and the service's own /metrics agree measure by measure."""
    assert fresh.journal is not None
    await agent_answers_after(fresh, 7.0, "agree-answered")
    fresh.set_now(SATURDAY_NIGHT)
    silent = await sipp.call(
        fresh.call_dir("agree-voicemail"), fresh.ports.sip, "95007", remote_hangup=True
    )
    assert await silent.wait(60) == 0, silent.log()
    await fresh.journal.writer.flush()
    store, config = fresh.journal.store, fresh.config
    today = datetime.now(config.hotline.zone).date()
    day = await report(store, *day_range(today, config.hotline.zone),
                       zone=config.hotline.zone, targets=config.targets.values)
    measured = [rate for rate in day.kpi.all if rate.value is not None]
    assert len(measured) >= 8, [rate.name for rate in day.kpi.all]
    issued = await TokenStore(store.engine).create(
        f"agree-{uuid.uuid4().hex[:6]}", Role.viewer, datetime.now(UTC)
    )
    base = f"http://127.0.0.1:{fresh.ports.service}"
    async with aiohttp.ClientSession() as session:
        async with session.get(
            f"{base}/api/reports/day", params={"day": today.isoformat()},
            headers={"Authorization": f"Bearer {issued.secret}"},
        ) as response:
            assert response.status == 200, await response.text()
            api = (await response.json())["total"]
        async with session.get(f"{base}/metrics") as response:
            exposition = await response.text()
    samples = {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }
    for rate in day.kpi.all:
        shown = api["rates"][rate.name]
        assert (shown["numerator"], shown["denominator"]) == (rate.numerator, rate.denominator)
        assert shown["value"] == rate.value
        family = "hotline_ratio" if rate.unit == "share" else "hotline_average"
        key = (family, (("kind", rate.name), ("line", "all"), ("period", "today")))
        if rate.value is None:
            assert key not in samples, rate.name
        else:
            assert samples[key] == pytest.approx(rate.value), rate.name
    assert api["offered"] == day.tally.offered
    assert api["outcomes"] == {o.value: n for o, n in day.tally.outcomes().items()}
    totals = await store.totals()
    for counter, column in (("hotline_calls_offered_total", "offered"),
                            ("hotline_calls_queued_total", "queued"),
                            ("hotline_voicemails_empty_total", "voicemail_empty")):
        exported = sum(v for (name, _), v in samples.items() if name == counter)
        assert exported == sum(getattr(t, column) for t in totals.values()), counter
