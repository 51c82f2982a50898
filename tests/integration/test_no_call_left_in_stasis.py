"""No call is left in Stasis: a dropped ARI websocket or a failing call task hands the
caller to the dialplan's fallback, which serves them; each call is journaled once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest

from ivr.callflow.policy import RoutingPolicy
from ivr.domain.events import EventKind
from ivr.domain.record import CallRecord, Outcome

from . import sipp
from .harness import HotlineUnderTest, eventually, until
from .test_callflow import IN_HOURS, start_agents, stop_all

pytestmark = pytest.mark.asterisk


@pytest.fixture
async def in_hours(fresh: HotlineUnderTest) -> AsyncIterator[HotlineUnderTest]:
    fresh.set_now(IN_HOURS)
    yield fresh


async def served_once(hotline: HotlineUnderTest, linkedid: str, since: datetime) -> CallRecord:
    """The call's one record, once it has ended: the only call since `since`."""
    await hotline.tap.wait_for(EventKind.call_ended, timeout=60, linkedid=linkedid)
    assert hotline.journal is not None
    await hotline.journal.writer.flush()
    records = await hotline.journal.store.calls(since=since - timedelta(seconds=1), limit=100)
    assert [r.linkedid for r in records] == [linkedid], records
    return records[0]


async def test_a_dropped_websocket_hands_the_caller_to_the_dialplan(
    in_hours: HotlineUnderTest,
) -> None:
    hotline = in_hours
    controller = hotline.controller
    assert controller is not None
    workdir = hotline.call_dir("dropped")
    failed, fallbacks = controller.flow.failed_calls, controller.flow.fallbacks
    agents = await start_agents(hotline, workdir, ring_ms=1000)
    try:
        since, mark = datetime.now(UTC), hotline.tap.mark()
        caller = await sipp.call(workdir, hotline.ports.sip, "95007", hold_ms=12_000)
        greeted = await hotline.tap.wait_for(
            EventKind.prompt_played, since=mark, prompt="greeting,menu"
        )
        linkedid = greeted.linkedid
        socket = controller.ari.events_socket
        assert socket is not None
        await socket.close()  # mid-menu: nobody hears this call's events any more
        await hotline.tap.wait_for(EventKind.controller_absent, since=mark, linkedid=linkedid)
        await hotline.tap.wait_for(EventKind.agent_answered, since=mark, linkedid=linkedid)
        assert await caller.wait(60) == 0, caller.log()
        record = await served_once(hotline, linkedid, since)
    finally:
        await stop_all(agents)
    assert record.outcome is Outcome.answered_by_agent
    assert record.controller_absent
    # handed over because the websocket dropped, not because something failed
    assert controller.flow.fallbacks == fallbacks + 1
    assert controller.flow.failed_calls == failed and controller.flow.failed_tasks == 0
    # the websocket came back by itself, and the controller drives new calls again
    assert controller is hotline.controller and controller.ari_connected
    mark = hotline.tap.mark()
    again = await sipp.call(workdir, hotline.ports.sip, "95007", name="again", hold_ms=1500)
    assert await again.wait(30) == 0, again.log()
    played = await hotline.tap.wait_for(EventKind.prompt_played, since=mark)
    assert played.source == "ari"


class BrokenPolicy(RoutingPolicy):
    """Routing with a bug in it: the hours cannot be decided."""

    def in_service_hours(self, now: datetime) -> bool:
        raise RuntimeError("a bug in the routing policy")


async def test_an_exception_in_a_calls_task_ends_in_the_fallback(
    in_hours: HotlineUnderTest,
) -> None:
    hotline = in_hours
    controller = hotline.controller
    assert controller is not None
    controller.policy = BrokenPolicy(hotline.config)
    failed = controller.flow.failed_calls
    workdir = hotline.call_dir("bug")
    agents = await start_agents(hotline, workdir, ring_ms=1000)
    try:
        since, mark = datetime.now(UTC), hotline.tap.mark()
        caller = await sipp.call(workdir, hotline.ports.sip, "95007", hold_ms=6000)
        absent = await hotline.tap.wait_for(EventKind.controller_absent, since=mark)
        await hotline.tap.wait_for(EventKind.agent_answered, since=mark,
                                   linkedid=absent.linkedid)
        assert await caller.wait(60) == 0, caller.log()
        record = await served_once(hotline, absent.linkedid, since)
    finally:
        await stop_all(agents)
        controller.apply(hotline.config)  # the real policy back
    assert record.outcome is Outcome.answered_by_agent
    assert controller.flow.failed_calls == failed + 1
    assert controller.flow.failed_tasks == 0  # caught and handled, not "never retrieved"


async def test_callers_who_leave_at_once_end_cleanly(in_hours: HotlineUnderTest) -> None:
    """A burst of callers who hang up as soon as they are answered: each ends as a clean
    stop, none as an error, and no channel is left behind. (The caller who leaves
    before the call's task first runs is the state machine's `CallGone`, unit-tested:
    this load does not make that race happen reliably.)"""
    hotline = in_hours
    controller = hotline.controller
    assert controller is not None
    failed = controller.flow.failed_calls
    mark = hotline.tap.mark()
    burst = await sipp.call(hotline.call_dir("burst"), hotline.ports.sip, "95007",
                            hold_ms=0, calls=40, rate=40)
    assert await burst.wait(60) == 0, burst.log()

    def ended() -> int:
        return sum(1 for e in hotline.tap.events[mark:] if e.kind is EventKind.call_ended)

    await eventually(lambda: ended() >= 40, timeout=30)  # every call's end was journaled

    async def all_gone() -> bool:
        return "0 active calls" in await hotline.cli("core show channels count")

    await until(all_gone)
    assert controller.flow.failed_calls == failed and controller.flow.failed_tasks == 0
    assert not controller.flow.calls
