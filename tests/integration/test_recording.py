"""Call recording on real calls: an agent-answered call is recorded from the answer (the
file is as long as the talk, not the ring), a supervisor lists it and fetches it whole
and by byte range, a viewer cannot, each listen is in the admins' audit log, /metrics
shows the disk used, a supervisor scores it on the seed's form, and the sweep deletes it
once the retention period (shortened here) has passed."""

from __future__ import annotations

import wave
from datetime import datetime

import pytest

from ivr.auth.roles import Role
from ivr.domain.events import EventKind
from ivr.domain.record import Outcome

from . import sipp
from .harness import HotlineUnderTest, eventually
from .sipp import Press
from .test_callflow import IN_HOURS, SATURDAY_NIGHT, start_agents, stop_all
from .test_journal_calls import record_of
from .test_notices import api, metric, token

pytestmark = pytest.mark.asterisk
PCAP_SECONDS = 7.05  # /usr/share/sip-tester/g711a.pcap


async def test_an_agent_call_is_recorded_listened_to_audited_and_swept(
    fresh: HotlineUnderTest,
) -> None:
    await fresh.reload(recording="true")
    fresh.set_now(IN_HOURS)
    workdir = fresh.call_dir("recorded")
    agents = await start_agents(fresh, workdir, ring_ms=3000)
    try:
        mark = fresh.tap.mark()
        # the caller speaks (7 s of audio) from 1 s after "please hold": about 2 s of it
        # while the agent's phone rings, the rest after the answer
        speaks_after_ms = fresh.prompt_ms("queue") + 1000
        caller = await sipp.call(
            workdir, fresh.ports.sip, "95007", digits=[Press("0", 1500)],
            audio_after_ms=speaks_after_ms, audio_ms=7500, hold_ms=1000,
        )
        assert await caller.wait(60) == 0, caller.log()
        choice = await fresh.tap.wait_for(EventKind.menu_choice, since=mark)
        answered = await fresh.tap.wait_for(EventKind.agent_answered, since=mark)
        record = await record_of(fresh, choice.linkedid)
    finally:
        await stop_all(agents)
    assert fresh.stack.instance is not None
    path = fresh.stack.instance.recordings / f"{record.linkedid}.wav"
    await eventually(lambda: path.exists() and path.stat().st_size > 44)
    assert record.talk_seconds is not None and record.ring_seconds is not None
    with wave.open(str(path)) as recorded:
        seconds = recorded.getnframes() / recorded.getframerate()
    # from the answer on: what the caller said while the phone rang is not in it
    spoke_before_answer = (answered.at - choice.at).total_seconds() - speaks_after_ms / 1000
    assert spoke_before_answer > 1.0
    assert seconds == pytest.approx(PCAP_SECONDS - spoke_before_answer, abs=0.8), seconds
    assert seconds <= record.talk_seconds + 0.2

    supervisor, viewer, admin = (
        await token(fresh, Role.supervisor), await token(fresh, Role.viewer),
        await token(fresh, Role.admin),
    )
    status, listed = await api(fresh, "GET", "/api/recordings", supervisor)
    assert status == 200
    mine = next(r for r in listed["recordings"] if r["linkedid"] == record.linkedid)
    assert mine["answered_by"] in {"agent1", "agent2"} and mine["bytes"] == path.stat().st_size
    assert (await api(fresh, "GET", "/api/recordings", viewer))[0] == 403

    import aiohttp

    url = f"http://127.0.0.1:{fresh.ports.service}{mine['audio_url']}"
    async with aiohttp.ClientSession() as session:
        async with session.get(url, headers={"Authorization": f"Bearer {viewer}"}) as response:
            assert response.status == 403
        async with session.get(url, headers={
            "Authorization": f"Bearer {supervisor}", "Range": "bytes=0-43",
        }) as response:
            assert response.status == 206
            head = await response.read()
    assert head == path.read_bytes()[:44] and head[:4] == b"RIFF"

    status, audit = await api(fresh, "GET", f"/api/recordings/listens?linkedid={record.linkedid}",
                              admin)
    assert status == 200
    assert [(x["role"], x["byte_range"]) for x in audit["listens"]] == [
        ("supervisor", "bytes=0-43")
    ]
    assert (await api(fresh, "GET", "/api/recordings/listens", supervisor))[0] == 403
    assert await metric(fresh, "hotline_recordings_bytes") >= path.stat().st_size

    body = {"service_phrases": 18, "attitude": 15, "responsibility": 17,
            "professionalism": 12, "remarks": "标准应答语齐全"}
    assert (await api(fresh, "POST", f"/api/recordings/{record.linkedid}/score", viewer,
                      json=body))[0] == 403
    status, scored = await api(fresh, "POST", f"/api/recordings/{record.linkedid}/score",
                               supervisor, json=body)
    assert status == 201, scored
    assert scored["total"] == 62 and scored["agent"] == record.answered_by
    month = datetime.now(fresh.config.hotline.zone).strftime("%Y-%m")
    status, quality = await api(fresh, "GET", f"/api/quality?month={month}", supervisor)
    assert status == 200
    agent = next(a for a in quality["agents"] if a["agent"] == record.answered_by)
    assert agent["items"]["attitude"] == 15.0

    # retention shortened to ~2 s: the sweep deletes the file by itself
    await fresh.reload(recording="true", retention_days="0.00002", sweep_seconds="1")
    try:
        await eventually(lambda: not path.exists(), timeout=15)
    finally:
        await fresh.reload()


async def test_a_night_emergency_answered_on_call_is_recorded_per_service(
    fresh: HotlineUnderTest,
) -> None:
    """Only emergencies recorded: the on-call person's answer starts the recording."""
    await fresh.reload(recording="true", recording_services='["emergency"]')
    fresh.set_now(SATURDAY_NIGHT)
    workdir = fresh.call_dir("recorded-oncall")
    phone = await sipp.phone(workdir, fresh.ports.oncall1, name="oncall1", ring_ms=1000)
    try:
        mark = fresh.tap.mark()
        caller = await sipp.call(
            workdir, fresh.ports.sip, "95007", digits=[Press("1", 1500)],
            audio_after_ms=2500, audio_ms=7500, hold_ms=500,
        )
        assert await caller.wait(60) == 0, caller.log()
        answered = await fresh.tap.wait_for(EventKind.oncall_answered, since=mark)
        record = await record_of(fresh, answered.linkedid)
    finally:
        await phone.stop()
        await fresh.reload()
    assert record.outcome is Outcome.answered_by_oncall and record.service == "emergency"
    assert fresh.stack.instance is not None
    path = fresh.stack.instance.recordings / f"{record.linkedid}.wav"
    await eventually(lambda: path.exists() and path.stat().st_size > 44)
    with wave.open(str(path)) as recorded:
        seconds = recorded.getnframes() / recorded.getframerate()
    assert 3.0 < seconds <= (record.talk_seconds or 0) + 0.2
