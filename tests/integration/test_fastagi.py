"""FastAGI from a dialplan that is not the hotline's own (`dialplan/examples/
foreign-hotline.conf`, included into the test Asterisk beside the rendered config, with
res_agi loaded, and reached on number 7007): the same call pattern — a menu key for a
person, an agent's phone ringing 7 s — gives the same folded record as on the hotline's
own line (outcome, rings, ring time, queue time, speed of answer, what was chosen), and so
does a voicemail left at night; and with the FastAGI service away the foreign call
still goes on to the PBX's own routing."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.domain.events import EventKind
from ivr.domain.record import CallRecord, Outcome

from . import sipp
from .harness import HotlineUnderTest
from .sipp import Press
from .test_callflow import IN_HOURS, SATURDAY_NIGHT, start_agents, stop_all
from .test_journal_calls import record_of

pytestmark = pytest.mark.asterisk

EXAMPLE = Path(__file__).resolve().parents[2] / "dialplan" / "examples" / "foreign-hotline.conf"
FOREIGN_NUMBER = "7007"
# what a PBX that runs this dialplan has loaded and the hotline's own whitelist has not
# (res_agi needs res_speech; Read; URIENCODE)
FOREIGN_MODULES = ("res_speech.so", "res_agi.so", "app_read.so", "func_uri.so")


@contextlib.asynccontextmanager
async def foreign_dialplan(hotline: HotlineUnderTest) -> AsyncIterator[None]:
    """The example dialplan, pointed at the test's FastAGI port, with "the PBX's own
    routing" being the test Asterisk's queue; the rendered config is put back after."""
    instance = hotline.stack.instance
    assert instance is not None
    conf = instance.etc / "extensions.conf"
    foreign = instance.etc / "foreign-hotline.conf"
    original = conf.read_text()
    port = hotline.config.service.fastagi_port
    foreign.write_text(
        EXAMPLE.read_text()
        .replace("agi://127.0.0.1:4573", f"agi://127.0.0.1:{port}")
        .replace("Queue(support,,,,60)", "Queue(hotline,,,,60)")
    )
    conf.write_text(
        original.replace(
            "[hotline-public]\n",
            f"[hotline-public]\nexten => {FOREIGN_NUMBER},1,Goto(foreign-hotline,s,1)\n",
            1,
        )
        + "\n#include foreign-hotline.conf\n"
    )
    for module in FOREIGN_MODULES:
        await hotline.cli(f"module load {module}")
    assert "res_agi.so" in await hotline.cli("module show like res_agi")
    await hotline.cli("dialplan reload")
    assert "foreign-hotline" in await hotline.cli("dialplan show foreign-hotline")
    try:
        yield
    finally:
        conf.write_text(original)
        foreign.unlink()
        await hotline.cli("dialplan reload")


async def agent_answers_after_7_seconds(hotline: HotlineUnderTest, number: str) -> CallRecord:
    hotline.set_now(IN_HOURS)
    workdir = hotline.call_dir(f"agi-{number}")
    agents = await start_agents(hotline, workdir, ring_ms=7000)
    try:
        mark = hotline.tap.mark()
        caller = await sipp.call(
            workdir, hotline.ports.sip, number, digits=[Press("0", 1500)],
            hold_ms=7000 + hotline.prompt_ms("queue") + 4000,
        )
        assert await caller.wait(90) == 0, caller.log()
        requested = await hotline.tap.wait_for(EventKind.human_requested, since=mark)
        return await record_of(hotline, requested.linkedid)
    finally:
        await stop_all(agents)


async def test_a_foreign_dialplan_over_fastagi_journals_the_same_record(
    fresh: HotlineUnderTest,
) -> None:
    own = await agent_answers_after_7_seconds(fresh, "95007")
    server = fresh.hotline.fastagi
    assert server is not None
    async with foreign_dialplan(fresh):
        before = len(server.seconds)
        foreign = await agent_answers_after_7_seconds(fresh, FOREIGN_NUMBER)
    # route (twice) and the end from `h`: each answered in under 2 s, even on a loaded box
    spent = list(server.seconds)[before:]
    assert len(spent) >= 3 and max(spent) < 2.0, spent
    print(f"\nfastagi requests {len(spent)}: " + ", ".join(f"{s * 1000:.1f} ms" for s in spent))
    for name in ("ring_seconds", "queue_seconds", "wait_seconds", "rings"):
        print(f"{name}: own {getattr(own, name)} foreign {getattr(foreign, name)}")
    sources = {e.source for e in fresh.tap.of_call(foreign.linkedid)}
    assert "agi" in sources and "ari" not in sources  # decided over FastAGI, not Stasis
    assert {e.source for e in fresh.tap.of_call(own.linkedid)} >= {"ari", "ami"}

    assert foreign.outcome is own.outcome is Outcome.answered_by_agent
    assert (foreign.line, foreign.mode, foreign.caller) == (own.line, own.mode, own.caller)
    assert foreign.ivr_answered_at is not None and not foreign.controller_absent
    assert foreign.off_hours is own.off_hours is False
    assert [(c.key, c.service) for c in foreign.menu_choices] == [("0", "person")]
    assert [(c.key, c.service) for c in own.menu_choices] == [("0", "person")]
    assert (foreign.service, foreign.human_target) == (own.service, own.human_target)
    assert foreign.rings == own.rings == 2
    assert foreign.within_three_rings is own.within_three_rings is True
    assert foreign.within_service_level is own.within_service_level is True
    assert foreign.ring_seconds == pytest.approx(7.0, abs=0.5)
    assert foreign.ring_seconds == pytest.approx(own.ring_seconds, abs=0.5)
    assert foreign.queue_seconds == pytest.approx(own.queue_seconds, abs=0.8)
    assert foreign.wait_seconds == pytest.approx(own.wait_seconds, abs=1.0)
    assert foreign.answered_by in {"agent1", "agent2"}
    assert foreign.callback_needed is own.callback_needed is False
    assert foreign.handling_seconds is not None and foreign.handling_seconds > 0


async def voicemail_at_night(hotline: HotlineUnderTest, number: str) -> CallRecord:
    """Saturday night: the caller presses nothing after the off-hours prompt, speaks
    6.5 s after the beep and hangs up."""
    hotline.set_now(SATURDAY_NIGHT)
    mark = hotline.tap.mark()
    until_beep = hotline.prompt_ms("off_hours", "voicemail") + 2000 + 1500
    caller = await sipp.call(
        hotline.call_dir(f"agi-vm-{number}"), hotline.ports.sip, number,
        audio_after_ms=until_beep, audio_ms=6500, hold_ms=500,
    )
    assert await caller.wait(60) == 0, caller.log()
    started = await hotline.tap.wait_for(EventKind.voicemail_started, since=mark)
    return await record_of(hotline, started.linkedid)


async def test_a_voicemail_at_night_over_fastagi_is_the_same_record(
    fresh: HotlineUnderTest,
) -> None:
    own = await voicemail_at_night(fresh, "95007")
    async with foreign_dialplan(fresh):
        foreign = await voicemail_at_night(fresh, FOREIGN_NUMBER)
    assert any(e.source == "agi" for e in fresh.tap.of_call(foreign.linkedid))
    assert foreign.outcome is own.outcome is Outcome.voicemail
    assert foreign.off_hours is own.off_hours is True
    assert foreign.human_requested_at is own.human_requested_at is None
    assert foreign.callback_needed is own.callback_needed is True
    assert foreign.voicemail_urgent is own.voicemail_urgent is False
    assert foreign.voicemail_file and own.voicemail_file
    # the example records into the PBX's spool: in the shared sandbox root, not the instance
    fresh.install.host_path(Path(foreign.voicemail_file)).unlink()
    assert own.voicemail_seconds and foreign.voicemail_seconds
    assert foreign.voicemail_seconds == pytest.approx(own.voicemail_seconds, abs=1.5)
    print(f"\nvoicemail seconds: own {own.voicemail_seconds} foreign {foreign.voicemail_seconds}")


async def test_with_the_fastagi_service_away_the_foreign_call_goes_on(
    fresh: HotlineUnderTest,
) -> None:
    server = fresh.hotline.fastagi
    assert server is not None
    await server.stop()
    workdir = fresh.call_dir("agi-away")
    agents = await start_agents(fresh, workdir, ring_ms=1000)
    try:
        async with foreign_dialplan(fresh):
            mark = fresh.tap.mark()
            caller = await sipp.call(workdir, fresh.ports.sip, FOREIGN_NUMBER, hold_ms=6000)
            assert await caller.wait(60) == 0, caller.log()
            # AGI failed (connection refused): the PBX's own routing, its queue, served it
            answered = await fresh.tap.wait_for(EventKind.agent_answered, since=mark)
            assert all(e.source != "agi" for e in fresh.tap.of_call(answered.linkedid))
    finally:
        await stop_all(agents)
        await server.start()
