"""Recordings and quality scores without Asterisk: the seed's bands, the monthly averages
per agent and per item, the retention sweep, the listen audit, and the API's roles (a
viewer never gets a recording; a linkedid never leaves the recordings directory)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ivr.auth.roles import Role
from ivr.domain.quality import (
    BANDS,
    Item,
    QualityInvalid,
    ScoredCall,
    Scores,
    averages_by_agent,
    band_of,
)
from ivr.recording.service import RecordingNotFound, RecordingsService
from ivr.recording.store import RecordingStore
from tests.unit.test_api_support import NOW, Harness, harness, write_wav
from tests.unit.test_outcomes import answered_by_agent

T = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("item", "points", "low"),
    [
        (Item.service_phrases, 20, 16), (Item.service_phrases, 15, 7),
        (Item.service_phrases, 6, 0),
        (Item.attitude, 16, 16), (Item.attitude, 11, 11), (Item.attitude, 10, 7),
        (Item.attitude, 5, 5), (Item.attitude, 4, 0),
        (Item.responsibility, 7, 7), (Item.responsibility, 0, 0),
        (Item.professionalism, 15, 11), (Item.professionalism, 6, 6),
        (Item.professionalism, 5, 0),
    ],
)
def test_points_fall_in_the_seeds_bands(item: Item, points: int, low: int) -> None:
    assert band_of(item, points).low == low


def test_each_items_bands_cover_0_to_20_without_gaps() -> None:
    for item, bands in BANDS.items():
        covered = sorted(p for band in bands for p in range(band.low, band.high + 1))
        assert covered == list(range(21)), item


@pytest.mark.parametrize("bad", [-1, 21, 2.5, True])
def test_a_score_outside_0_to_20_is_refused(bad: object) -> None:
    with pytest.raises(QualityInvalid):
        Scores(bad, 10, 10, 10)  # type: ignore[arg-type]


def test_averages_per_agent_and_per_item() -> None:
    calls = [
        ScoredCall("a", "agent1", T, Scores(18, 16, 17, 12)),
        ScoredCall("b", "agent1", T, Scores(14, 12, 15, 10)),
        ScoredCall("c", "agent2", T, Scores(20, 20, 20, 20)),
    ]
    one, two = averages_by_agent(calls)
    assert (one.agent, one.calls, two.calls) == ("agent1", 2, 1)
    assert one.items == {"service_phrases": 16.0, "attitude": 14.0, "responsibility": 16.0,
                         "professionalism": 11.0}
    assert one.total == 57.0 and two.total == 80.0


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path, scripts=[]) as h:
        yield h


def service(api: Harness, directory: Path, days: float = 90.0) -> RecordingsService:
    recordings = RecordingsService(
        lambda: directory, RecordingStore(api.store.engine), api.store,
        lambda: timedelta(days=days), now=lambda: NOW,
    )
    api.app.state.hotline.recordings = recordings
    return recordings


async def test_recordings_are_for_supervisors_and_every_listen_is_audited(
    api: Harness, tmp_path: Path
) -> None:
    await api.store.ingest(answered_by_agent("c-1").events)
    directory = tmp_path / "recordings"
    sound = write_wav(directory / "c-1.wav", seconds=2.0)
    service(api, directory)
    assert (await api.get("/api/recordings", Role.viewer)).status_code == 403
    listed = (await api.get("/api/recordings", Role.supervisor)).json()
    assert listed["files"] == 1 and listed["bytes"] == len(sound)
    assert listed["recordings"][0]["answered_by"] == "agent1"
    assert (await api.get("/api/recordings/c-1/audio", Role.viewer)).status_code == 403
    whole = await api.get("/api/recordings/c-1/audio", Role.supervisor)
    assert whole.status_code == 200 and whole.content == sound
    part = await api.get("/api/recordings/c-1/audio", Role.admin,
                         headers={"Range": "bytes=44-99"})
    assert part.status_code == 206 and part.content == sound[44:100]
    for sneaky in ("..%2F..%2Fjournal.sqlite3", "nope", ".hidden"):
        assert (await api.get(f"/api/recordings/{sneaky}/audio")).status_code in (404, 422)
    assert (await api.get("/api/recordings/listens", Role.supervisor)).status_code == 403
    audit = (await api.get("/api/recordings/listens", Role.admin)).json()["listens"]
    assert [(x["by"], x["byte_range"]) for x in audit] == [
        ("test-admin", "bytes=44-99"), ("test-supervisor", "all")
    ]


async def test_the_sweep_deletes_what_is_older_than_the_retention(
    api: Harness, tmp_path: Path
) -> None:
    directory = tmp_path / "recordings"
    write_wav(directory / "old.wav")
    write_wav(directory / "new.wav")
    stamp = (NOW - timedelta(days=31)).timestamp()
    os.utime(directory / "old.wav", (stamp, stamp))
    fresh = (NOW - timedelta(days=1)).timestamp()
    os.utime(directory / "new.wav", (fresh, fresh))
    recordings = service(api, directory, days=30)
    assert recordings.sweep() == 1
    assert sorted(p.name for p in directory.iterdir()) == ["new.wav"]
    assert recordings.disk_use().files == 1


async def test_a_supervisor_scores_a_call_and_reads_the_months_averages(
    api: Harness, tmp_path: Path
) -> None:
    await api.store.ingest(answered_by_agent("c-1").events)
    service(api, tmp_path / "recordings")
    body = {"service_phrases": 18, "attitude": 9, "responsibility": 17, "professionalism": 12,
            "remarks": "未使用结束语"}
    assert (await api.post("/api/recordings/c-1/score", Role.viewer, json=body)
            ).status_code == 403
    scored = await api.post("/api/recordings/c-1/score", Role.supervisor, json=body)
    assert scored.status_code == 201, scored.text
    out = scored.json()
    assert out["total"] == 56 and out["agent"] == "agent1"
    assert out["bands"]["attitude"].startswith("声音生硬")
    again = {**body, "attitude": 13}
    assert (await api.post("/api/recordings/c-1/score", Role.supervisor, json=again)
            ).status_code == 201
    bad = await api.post("/api/recordings/c-1/score", Role.supervisor,
                         json={**body, "attitude": 21})
    assert bad.status_code == 422
    assert (await api.post("/api/recordings/nope/score", Role.supervisor, json=body)
            ).status_code == 404
    month = (await api.get("/api/quality?month=2026-11", Role.supervisor)).json()
    assert [a["agent"] for a in month["agents"]] == ["agent1"]
    assert month["agents"][0]["items"]["attitude"] == 13.0  # the latest score counts
    assert len(month["scores"]) == 2
    assert (await api.get("/api/quality?month=2026-11", Role.viewer)).status_code == 403


async def test_scoring_needs_a_call_a_person_answered(api: Harness, tmp_path: Path) -> None:
    recordings = service(api, tmp_path / "recordings")
    with pytest.raises(RecordingNotFound):
        await recordings.score("missing", Scores(1, 1, 1, 1), by="x")


def test_recording_is_configured_per_service_and_its_prompt_is_required() -> None:
    from ivr.config import ConfigError, parse_config
    from tests.unit.test_api_support import EXAMPLE

    example = EXAMPLE.read_text(encoding="utf-8")
    assert parse_config(example).recording.recorded_services == []  # off as shipped
    text = example.replace("[recording]\nenabled = false", "[recording]\nenabled = true")
    assert parse_config(text).recording.recorded_services[0] == "emergency"
    complaints = text.replace('services = ["emergency", ', 'services = ["complaint"]\n#')
    assert parse_config(complaints).recording.recorded_services == ["complaint"]
    unsaid = "\n".join(line for line in text.splitlines() if not line.startswith("recorded ="))
    with pytest.raises(ConfigError, match=r"recording\.announce needs"):
        parse_config(unsaid)


def test_the_dialplan_records_from_the_answer_for_the_configured_services(
    tmp_path: Path,
) -> None:
    from datetime import date

    from ivr.asterisk.instance import Instance
    from ivr.asterisk.render import render_configs
    from ivr.asterisk.sandbox import AsteriskInstall
    from ivr.config import parse_config
    from ivr.secrets import load_secrets
    from tests.unit.test_api_support import EXAMPLE

    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "[recording]\nenabled = false", "[recording]\nenabled = true")
    config = parse_config(text)
    instance = Instance.create(AsteriskInstall(tmp_path / "root", "Asterisk 22"), "t", tmp_path)
    sounds = {name: instance.sounds / name for name, _ in config.prompts}
    plan = render_configs(config, load_secrets(tmp_path / "data"), instance, sounds,
                          today=date(2026, 9, 28))["extensions.conf"]
    assert "HOTLINE_RECORD=,emergency,repair,installation,billing,consultation,complaint,person,"\
        in plan
    # on the agent's channel once answered (Queue's gosub), and on the on-call's (Dial U())
    assert "Queue(hotline,,,,300,,hotline-record)" in plan
    assert "[hotline-oncall-answered]" in plan and "Gosub(hotline-record,s,1)" in plan
    assert "MixMonitor(" in plan and "spool/recordings/${CHANNEL(linkedid)}.wav" in plan
    assert plan.count("Playback(/") >= 2 and "recorded)" in plan  # the announcement
    off = render_configs(parse_config(EXAMPLE.read_text(encoding="utf-8")),
                         load_secrets(tmp_path / "data"), instance, sounds,
                         today=date(2026, 9, 28))["extensions.conf"]
    assert "HOTLINE_RECORD=,," in off  # recording off: the gosub records nothing
