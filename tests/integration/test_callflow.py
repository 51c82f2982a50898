"""The hotline call flow on a real Asterisk, driven by SIPp callers and staff phones.

Each test states the situation (time of day, who answers) and checks what the caller
got from the journal events Asterisk and the controller reported."""

from __future__ import annotations

import asyncio
from datetime import datetime
from pathlib import Path

import pytest

from ivr.domain.events import EventKind

from . import sipp
from .harness import HotlineUnderTest
from .sipp import Press

pytestmark = pytest.mark.asterisk

ALL_DAY = 'consultation = [{ days = "mon-sun", start = "00:00", end = "24:00" }]'
OFFICE_HOURS = 'consultation = [{ days = "mon-fri", start = "09:00", end = "18:00" }]'
IN_HOURS = "2026-11-23T10:00:00"  # a Monday morning
SATURDAY_NIGHT = "2026-11-21T22:30:00"
NATIONAL_DAY = "2026-10-01T10:00:00"  # a public holiday, inside the weekly hours


async def start_agents(
    hotline: HotlineUnderTest, workdir: Path, ring_ms: int, mode: str = "answer"
) -> list[sipp.SippRun]:
    """Both agents' phones, behaving alike, so whichever the queue rings answers."""
    return [
        await sipp.phone(workdir, hotline.ports.agent1, name="agent1", mode=mode, ring_ms=ring_ms),
        await sipp.phone(workdir, hotline.ports.agent2, name="agent2", mode=mode, ring_ms=ring_ms),
    ]


async def stop_all(runs: list[sipp.SippRun]) -> None:
    for run in runs:
        await run.stop()


async def test_in_hours_menu_choice_reaches_an_agent(fresh: HotlineUnderTest) -> None:
    fresh.set_now(IN_HOURS)
    workdir = fresh.call_dir("agent")
    agents = await start_agents(fresh, workdir, ring_ms=3000)
    try:
        mark = fresh.tap.mark()
        caller = await sipp.call(
            workdir, fresh.ports.sip, "95007", digits=[Press("0", 1500)], hold_ms=9000
        )
        assert await caller.wait(60) == 0, caller.log()
        choice = await fresh.tap.wait_for(EventKind.menu_choice, since=mark, service="person")
        requested = await fresh.tap.wait_for(EventKind.human_requested, since=mark)
        answered = await fresh.tap.wait_for(EventKind.agent_answered, since=mark)
        assert choice.linkedid == requested.linkedid == answered.linkedid
        wait = (answered.at - requested.at).total_seconds()
        assert 3.0 <= wait < 6.0, wait  # queue prompt + 3 s of ringing
    finally:
        await stop_all(agents)


async def test_public_holiday_takes_the_off_hours_path(fresh: HotlineUnderTest) -> None:
    fresh.set_now(NATIONAL_DAY)
    mark = fresh.tap.mark()
    caller = await sipp.call(fresh.call_dir("holiday"), fresh.ports.sip, "95007", hold_ms=2000)
    assert await caller.wait(30) == 0, caller.log()
    await fresh.tap.wait_for(EventKind.off_hours, since=mark)
    assert not fresh.tap.find(EventKind.human_requested)[mark:]


async def test_calls_to_other_numbers_are_refused_and_go_nowhere(
    fresh: HotlineUnderTest,
) -> None:
    workdir = fresh.call_dir("fraud")
    for number in ("900861012345678", "agent1", "0", "+8613800138000"):
        run = await sipp.call(workdir, fresh.ports.sip, number, name=f"to-{number}", expect=404)
        assert await run.wait(30) == 0, run.log()
    channels = await fresh.cli("core show channels count")
    assert "0 active calls" in channels, channels


async def test_without_the_controller_the_dialplan_still_answers_and_routes(
    fresh: HotlineUnderTest,
) -> None:
    await fresh.stop_controller()
    workdir = fresh.call_dir("fallback")
    fresh.tap.events.clear()  # events now arrive only from the dialplan, over AMI
    ami_only = fresh.tap
    from ivr.ami.feed import AmiFeed

    secrets = fresh.stack.secrets
    feed = AmiFeed("127.0.0.1", fresh.ports.ami, secrets.ami_user, secrets.ami_password, ami_only)
    await feed.start()
    await asyncio.wait_for(feed.logged_in.wait(), 10)
    agents = await start_agents(fresh, workdir, ring_ms=1000)
    try:
        # open all day: the fallback queues the caller
        await fresh.reload(hours=ALL_DAY)
        caller = await sipp.call(workdir, fresh.ports.sip, "95007", name="open", hold_ms=6000)
        assert await caller.wait(60) == 0, caller.log()
        await ami_only.wait_for(EventKind.controller_absent)
        await ami_only.wait_for(EventKind.agent_answered)
        # today closed: the fallback plays the off-hours prompt and takes a voicemail
        today = datetime.now(fresh.config.hotline.zone).date().isoformat()
        await fresh.reload(closed=f'"{today}"')
        mark = ami_only.mark()
        hold = fresh.prompt_ms("off_hours", "voicemail") + 4000
        caller = await sipp.call(workdir, fresh.ports.sip, "95007", name="closed", hold_ms=hold)
        assert await caller.wait(60) == 0, caller.log()
        await ami_only.wait_for(EventKind.off_hours, since=mark)
        await ami_only.wait_for(EventKind.voicemail_started, since=mark)
    finally:
        await stop_all(agents)
        feed.close()
        await fresh.reload()
        await fresh.start_controller()


async def test_reload_during_a_live_call_drops_nothing(fresh: HotlineUnderTest) -> None:
    fresh.set_now(IN_HOURS)
    workdir = fresh.call_dir("reload")
    agents = await start_agents(fresh, workdir, ring_ms=6000)
    try:
        mark = fresh.tap.mark()
        caller = await sipp.call(
            workdir, fresh.ports.sip, "95007", digits=[Press("0", 1000)], hold_ms=12000
        )
        await fresh.tap.wait_for(EventKind.agent_ring_started, since=mark)
        await fresh.reload(hours=OFFICE_HOURS)
        answered = await fresh.tap.wait_for(EventKind.agent_answered, since=mark, timeout=30)
        assert answered.data["agent"] in {"agent1", "agent2"}
        assert await caller.wait(60) == 0, caller.log()
    finally:
        await stop_all(agents)
        await fresh.reload()


async def test_invalid_keys_and_silence_still_reach_a_person(fresh: HotlineUnderTest) -> None:
    fresh.set_now(IN_HOURS)
    workdir = fresh.call_dir("invalid")
    agents = await start_agents(fresh, workdir, ring_ms=1000)
    try:
        mark = fresh.tap.mark()
        flood = [Press("8", 1500), *[Press("8", 40) for _ in range(12)]]
        caller = await sipp.call(workdir, fresh.ports.sip, "95007", digits=flood, hold_ms=12000)
        assert await caller.wait(60) == 0, caller.log()
        invalid = await fresh.tap.wait_for(EventKind.menu_invalid, since=mark)
        assert invalid.data["digits"] == "8"
        requested = await fresh.tap.wait_for(EventKind.human_requested, since=mark)
        assert requested.data["service"] == "person"  # the menu default after the last try
        await fresh.tap.wait_for(EventKind.agent_answered, since=mark)
    finally:
        await stop_all(agents)


async def test_a_staff_phone_name_is_challenged_not_trusted(fresh: HotlineUnderTest) -> None:
    run = await sipp.call(
        fresh.call_dir("auth"), fresh.ports.sip, "95007", caller="agent1", expect=401
    )
    assert await run.wait(30) == 0, run.log()
