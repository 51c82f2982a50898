"""Outage notices (停气公告) on real calls: an admin posts a notice over the API; callers
hear it right after the greeting (before the menu, in the journal's order); one who hangs
up after it is `ivr_completed` in the report, the API and /metrics, one who still asks
for a person is counted apart; the dialplan's fallback plays it while the controller is
away; and an ended notice no longer plays."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from ivr.auth.roles import Role
from ivr.auth.tokens import TokenStore
from ivr.domain.events import EventKind
from ivr.domain.record import Outcome
from ivr.journal.queries import day_range, report

from . import sipp
from .harness import HotlineUnderTest, eventually
from .sipp import Press
from .test_callflow import IN_HOURS
from .test_journal_calls import record_of

pytestmark = pytest.mark.asterisk


async def token(hotline: HotlineUnderTest, role: Role) -> str:
    assert hotline.journal is not None
    issued = await TokenStore(hotline.journal.store.engine).create(
        f"notices-{role.value}-{uuid.uuid4().hex[:6]}", role, datetime.now(UTC)
    )
    return issued.secret


async def api(
    hotline: HotlineUnderTest, method: str, path: str, secret: str, **kwargs: Any
) -> tuple[int, Any]:
    base = f"http://127.0.0.1:{hotline.ports.service}"
    async with aiohttp.ClientSession() as session, session.request(
        method, f"{base}{path}", headers={"Authorization": f"Bearer {secret}"}, **kwargs
    ) as response:
        return response.status, await response.json()


async def metric(hotline: HotlineUnderTest, name: str, **labels: str) -> float:
    async with aiohttp.ClientSession() as session, session.get(
        f"http://127.0.0.1:{hotline.ports.service}/metrics"
    ) as response:
        text = await response.text()
    return sum(  # over the labels not asked for (every line)
        float(sample.value)
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == name and all(sample.labels.get(k) == v for k, v in labels.items())
    )


async def ivr_completed_today(hotline: HotlineUnderTest) -> int:
    assert hotline.journal is not None
    await hotline.journal.writer.flush()
    zone = hotline.config.hotline.zone
    day = await report(hotline.journal.store, *day_range(datetime.now(zone).date(), zone),
                       zone=zone, targets=hotline.config.targets.values)
    return day.tally.outcome_ivr_completed


async def test_a_posted_notice_plays_before_the_menu_and_answers_the_call(
    fresh: HotlineUnderTest,
) -> None:
    fresh.set_now(IN_HOURS)
    admin, viewer = await token(fresh, Role.admin), await token(fresh, Role.viewer)
    status, _ = await api(fresh, "POST", "/api/notices", viewer, json={"text": "x", "hours": 1})
    assert status == 403
    start = fresh.hotline.clock.now() - timedelta(minutes=1)
    status, notice = await api(fresh, "POST", "/api/notices", admin, json={
        "text": "东区燃气管道抢修，今天停气至十八点。", "starts_at": start.isoformat(), "hours": 2,
    })
    assert status == 201, notice
    prompt = f"notice-{notice['id']}"
    completed_before = await ivr_completed_today(fresh)
    metric_before = await metric(fresh, "hotline_calls_total", outcome="ivr_completed")
    try:
        heard_ms = fresh.prompt_ms("greeting", prompt)
        mark = fresh.tap.mark()
        # one caller hangs up in the menu after the notice; another still asks for a person
        # (margins for a loaded machine: the menu runs 2 prompts and 2 timeouts after it)
        done = await sipp.call(fresh.call_dir("notice-done"), fresh.ports.sip, "95007",
                               name="done", hold_ms=heard_ms + 2500)
        asks = await sipp.call(fresh.call_dir("notice-asks"), fresh.ports.sip, "95007",
                               name="asks", digits=[Press("0", heard_ms + 2000)], hold_ms=1500)
        assert await done.wait(60) == 0, done.log()
        assert await asks.wait(60) == 0, asks.log()
        await eventually(lambda: len(fresh.tap.find(EventKind.notice_heard)) >= 2)
        for heard in fresh.tap.find(EventKind.notice_heard):
            assert heard.data["notice"] == notice["id"]
            call = heard.linkedid
            played = await fresh.tap.wait_for(EventKind.prompt_played, since=mark,
                                              linkedid=call, prompt=f"greeting,{prompt}")
            menu = await fresh.tap.wait_for(EventKind.prompt_played, since=mark,
                                            linkedid=call, prompt="menu")
            order = [e.key for e in fresh.tap.of_call(call)]
            assert order.index(played.key) < order.index(heard.key) < order.index(menu.key)
        hearers = {e.linkedid for e in fresh.tap.find(EventKind.notice_heard)
                   if e.data.get("notice") == notice["id"]}
        assert len(hearers) == 2
        records = {lid: await record_of(fresh, lid) for lid in hearers}
        outcomes = sorted(r.outcome.value for r in records.values() if r.outcome)
        assert outcomes == sorted([Outcome.ivr_completed.value, Outcome.abandoned.value])
        # the report, /metrics and the API agree
        assert await ivr_completed_today(fresh) == completed_before + 1
        assert await metric(fresh, "hotline_calls_total", outcome="ivr_completed") == (
            metric_before + 1
        )
        label = {"notice": str(notice["id"])}
        assert await metric(fresh, "hotline_notice_heard_calls_total", **label) == 2
        assert await metric(fresh, "hotline_notice_person_requested_calls_total", **label) == 1
        assert await metric(fresh, "hotline_notice_active", **label) == 1
        status, listed = await api(fresh, "GET", "/api/notices", viewer)
        mine = next(n for n in listed["notices"] if n["id"] == notice["id"])
        assert (mine["calls_heard"], mine["calls_asked_for_person"]) == (2, 1)
    finally:
        status, ended = await api(fresh, "POST", f"/api/notices/{notice['id']}/end", admin)
        assert status == 200 and ended["ended_at"]
    # ended: the next caller hears the greeting with the menu again
    mark = fresh.tap.mark()
    after = await sipp.call(fresh.call_dir("notice-ended"), fresh.ports.sip, "95007",
                            name="after", hold_ms=1500)
    assert await after.wait(60) == 0, after.log()
    played = await fresh.tap.wait_for(EventKind.prompt_played, since=mark)
    assert played.data["prompt"] == "greeting,menu"
    assert await metric(fresh, "hotline_notice_active", **label) == 0


async def test_the_dialplans_fallback_plays_the_notice_too(fresh: HotlineUnderTest) -> None:
    """The controller away: the rendered dialplan plays the notice in its window (Asterisk's
    own clock) and journals it, then routes as it always does (in hours: the queue, so a
    caller who hangs up there asked for a person and is judged as such)."""
    assert fresh.hotline.notices is not None
    notice = await fresh.hotline.notices.add(
        text="西区停气。", file=None, starts_at=datetime.now(UTC) - timedelta(minutes=1),
        ends_at=datetime.now(UTC) + timedelta(hours=1), by="test",
    )
    await fresh.stop_controller()
    from ivr.ami.feed import AmiFeed

    secrets = fresh.stack.secrets
    feed = AmiFeed("127.0.0.1", fresh.ports.ami, secrets.ami_user, secrets.ami_password,
                   fresh.tap)
    await feed.start()
    try:
        await asyncio.wait_for(feed.logged_in.wait(), 10)
        mark = fresh.tap.mark()
        hold = fresh.prompt_ms(notice.prompt) + 2500
        caller = await sipp.call(fresh.call_dir("notice-fallback"), fresh.ports.sip, "95007",
                                 name="fallback", hold_ms=hold)
        assert await caller.wait(60) == 0, caller.log()
        await fresh.tap.wait_for(EventKind.controller_absent, since=mark)
        heard = await fresh.tap.wait_for(EventKind.notice_heard, since=mark)
        assert str(heard.data["notice"]) == str(notice.id)
        await fresh.tap.wait_for(EventKind.call_ended, since=mark, linkedid=heard.linkedid)
        after = [e.kind for e in fresh.tap.of_call(heard.linkedid)]
        assert after.index(EventKind.notice_heard) < after.index(EventKind.human_requested)
    finally:
        feed.close()
        await fresh.hotline.notices.end(notice.id)
        await fresh.start_controller()
    record = await record_of(fresh, heard.linkedid)
    assert record.controller_absent and record.outcome is Outcome.abandoned
    assert record.human_requested_at is not None


async def test_a_caller_picks_their_area_and_hears_its_notice(fresh: HotlineUnderTest) -> None:
    """A notice for area 1 only: after the greeting the caller hears the area prompt,
    presses 1, hears the notice, and hangs up: `ivr_completed`."""
    fresh.set_now(IN_HOURS)
    assert fresh.hotline.notices is not None
    now = fresh.hotline.clock.now()
    notice = await fresh.hotline.notices.add(
        text="东区停气。", file=None, starts_at=now - timedelta(minutes=1),
        ends_at=now + timedelta(hours=1), areas=["1"], by="test",
    )
    try:
        to_area = fresh.prompt_ms("greeting", "notice_areas")
        mark = fresh.tap.mark()
        caller = await sipp.call(
            fresh.call_dir("notice-area"), fresh.ports.sip, "95007", name="area",
            digits=[Press("1", to_area + 300)], hold_ms=fresh.prompt_ms(notice.prompt) + 1000,
        )
        assert await caller.wait(60) == 0, caller.log()
        heard = await fresh.tap.wait_for(EventKind.notice_heard, since=mark, area="1")
        assert heard.data["notice"] == notice.id
        played = [e.data["prompt"] for e in fresh.tap.of_call(heard.linkedid)
                  if e.kind is EventKind.prompt_played]
        assert played[:3] == ["greeting", "notice_areas", notice.prompt]
        record = await record_of(fresh, heard.linkedid)
        assert record.outcome is Outcome.ivr_completed
    finally:
        await fresh.hotline.notices.end(notice.id)
