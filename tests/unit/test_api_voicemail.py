"""Voicemails: listed newest first, the recording streams (whole or a byte range), a
path outside the voicemail directory is never served, handled marks stick."""

from __future__ import annotations

import io
import wave
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from ivr.auth.roles import Role
from ivr.domain.events import EventKind
from tests.unit.test_api_support import T0, Harness, Script, harness, voicemail, write_wav


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path) as h:
        yield h


async def test_voicemails_are_listed_newest_first(api: Harness) -> None:
    response = await api.get("/api/voicemails", Role.supervisor)
    assert response.status_code == 200
    found = response.json()["voicemails"]
    assert [v["linkedid"] for v in found] == ["c-anonymous", "c-voicemail"]
    assert found[1]["seconds"] == 12.0 and found[1]["handled"] is False
    assert found[1]["audio_url"] == "/api/voicemails/c-voicemail/audio"
    one = (await api.get("/api/voicemails/c-voicemail", Role.viewer)).json()
    assert one["linkedid"] == "c-voicemail" and one["caller"] == "138****8000"


async def test_the_recording_streams(api: Harness) -> None:
    sound = write_wav(api.voicemail_dir / "c-voicemail.wav")
    response = await api.get("/api/voicemails/c-voicemail/audio", Role.supervisor)
    assert response.status_code == 200
    assert response.headers["content-type"] == "audio/wav"
    assert response.content == sound
    with wave.open(io.BytesIO(response.content)) as played:
        assert (played.getframerate(), played.getnchannels()) == (8000, 1)
    part = await api.client.get(
        "/api/voicemails/c-voicemail/audio",
        headers={**api.auth(Role.supervisor), "Range": "bytes=0-43"},
    )
    assert part.status_code == 206 and part.content == sound[:44]


async def test_a_missing_recording_is_404(api: Harness) -> None:
    response = await api.get("/api/voicemails/c-voicemail/audio")
    assert response.status_code == 404
    assert "no longer there" in response.json()["detail"]


@pytest.mark.parametrize("linkedid", ["c-answered-1", "nope"])
async def test_a_call_without_voicemail_is_404(api: Harness, linkedid: str) -> None:
    assert (await api.get(f"/api/voicemails/{linkedid}")).status_code == 404
    assert (await api.get(f"/api/voicemails/{linkedid}/audio")).status_code == 404
    assert (await api.post(f"/api/voicemails/{linkedid}/handled")).status_code == 404


async def test_a_recording_outside_the_voicemail_directory_is_never_served(
    tmp_path: Path,
) -> None:
    secret = tmp_path / "secrets.toml"
    secret.write_text("ari_password = 'x'")
    sneaky = Script("c-sneaky", T0).arrives()
    sneaky.at(20, EventKind.voicemail_started)
    sneaky.at(35, EventKind.voicemail_recorded, seconds=5,
              file="/var/lib/hotline/run-test/spool/voicemail/../../../../../../../" + str(secret))
    sneaky.at(36, EventKind.call_ended, cause="16")
    elsewhere = Script("c-elsewhere", T0).arrives()
    elsewhere.at(35, EventKind.voicemail_recorded, seconds=5, file=str(secret))
    elsewhere.at(36, EventKind.call_ended, cause="16")
    (tmp_path / "h").mkdir()
    async with harness(tmp_path / "h", [sneaky, elsewhere]) as api:
        for linkedid in ("c-sneaky", "c-elsewhere"):
            response = await api.get(f"/api/voicemails/{linkedid}/audio")
            assert response.status_code == 404, linkedid
            assert "ari_password" not in response.text


async def test_marking_handled_sticks_and_filters(api: Harness) -> None:
    response = await api.post("/api/voicemails/c-voicemail/handled")
    assert response.status_code == 200
    mark = response.json()
    assert mark["handled"] is True and mark["handled_by"] == "test-admin"
    again = (await api.post("/api/voicemails/c-voicemail/handled")).json()
    assert again["handled_at"] == mark["handled_at"]
    handled = (await api.get("/api/voicemails?handled=true")).json()["voicemails"]
    assert [v["linkedid"] for v in handled] == ["c-voicemail"]
    pending = (await api.get("/api/voicemails?handled=false")).json()["voicemails"]
    assert [v["linkedid"] for v in pending] == ["c-anonymous"]


async def test_time_and_line_filters(tmp_path: Path) -> None:
    scripts = [voicemail(f"v{n}", T0 + timedelta(days=n)) for n in range(3)]
    async with harness(tmp_path, scripts) as api:
        found = (await api.get("/api/voicemails?since=2026-11-04&until=2026-11-05")).json()
        assert [v["linkedid"] for v in found["voicemails"]] == ["v1"]
        assert (await api.get("/api/voicemails?line=legacy")).json()["voicemails"] == []
        limited = (await api.get("/api/voicemails?limit=1")).json()["voicemails"]
        assert [v["linkedid"] for v in limited] == ["v2"]
        bad = await api.get("/api/voicemails?since=2026-11-05&until=2026-11-04")
        assert bad.status_code == 422
