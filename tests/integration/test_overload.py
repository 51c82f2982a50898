"""Overload protection with real calls: a controller that is behind (here: a bound of one
call in flight, so a second caller finds it "full") sends the new call at once to the
dialplan's own menu. The shed caller hears the greeting and menu from the dialplan,
presses a key, is queued for that service and answered by an agent; the call is
journaled once, as a call the dialplan served alone, and counted in
`hotline_calls_shed_total`."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families

from ivr.domain.events import EventKind
from ivr.domain.record import Outcome

from . import sipp
from .harness import HotlineUnderTest
from .sipp import Press
from .test_callflow import ALL_DAY, start_agents, stop_all
from .test_journal_calls import record_of

pytestmark = pytest.mark.asterisk


async def test_a_call_the_controller_is_too_busy_for_gets_the_dialplan_menu(
    fresh: HotlineUnderTest,
) -> None:
    await fresh.reload(hours=ALL_DAY, overload="[overload]\nmax_calls_in_flight = 1")
    controller = fresh.controller
    assert controller is not None and fresh.hotline.exporter is not None
    workdir = fresh.call_dir("shed")
    agents = await start_agents(fresh, workdir, ring_ms=1000)
    try:
        mark = fresh.tap.mark()
        # the first caller is in the controller's menu: one call in flight
        first = await sipp.call(workdir, fresh.ports.sip, "95007", name="first", hold_ms=4000)
        played = await fresh.tap.wait_for(EventKind.prompt_played, since=mark)
        assert played.source == "ari"
        # the second caller is shed: the dialplan's greeting and menu, key 2 (repair)
        second = await sipp.call(
            workdir, fresh.ports.sip, "95007", name="second", caller="13900139000",
            digits=[Press("2", fresh.prompt_ms("greeting") + 500)],
            hold_ms=fresh.prompt_ms("greeting", "menu", "queue") + 5000,
        )
        absent = await fresh.tap.wait_for(EventKind.controller_absent, since=mark, reason="shed")
        shed = absent.linkedid
        assert shed != played.linkedid
        choice = await fresh.tap.wait_for(EventKind.menu_choice, since=mark, linkedid=shed)
        assert (choice.source, choice.data["key"], choice.data["service"]) == (
            "ami", "2", "repair"
        )  # pressed in the dialplan's menu, not the controller's
        await fresh.tap.wait_for(EventKind.agent_answered, since=mark, linkedid=shed, timeout=30)
        assert await second.wait(60) == 0, second.log()
        assert await first.wait(60) == 0, first.log()

        assert controller.calls_shed == {"in_flight": 1}
        assert not [e for e in fresh.tap.of_call(shed) if e.source == "ari"]
        record = await record_of(fresh, shed)
        assert record.controller_absent and record.caller == "13900139000"
        assert [(c.key, c.service) for c in record.menu_choices] == [("2", "repair")]
        assert record.outcome is Outcome.answered_by_agent
        assert fresh.journal is not None
        calls = await fresh.journal.store.calls(since=absent.at.replace(minute=0, second=0),
                                                limit=1000)
        assert [r.linkedid for r in calls].count(shed) == 1  # one record for the call
        page = (await fresh.hotline.exporter.render()).decode()
        samples = {
            sample.labels.get("reason"): sample.value
            for family in text_string_to_metric_families(page)
            if family.name == "hotline_calls_shed"
            for sample in family.samples
        }
        assert samples["in_flight"] == 1 and samples["start_age"] == 0
    finally:
        await stop_all(agents)
        await fresh.reload()
