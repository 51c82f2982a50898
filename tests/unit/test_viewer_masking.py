"""Viewers see no customer numbers in free text either (issue 12 item 5, R10): runs of
7+ digits in callback attempt notes and close notes are masked for them; numbers are
checked with full matches (item 9: `$` lets a trailing newline through)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.ari.client import AriClient
from ivr.auth.roles import Role, mask_digit_runs
from ivr.callbacks.originate import AriOriginator, OriginateError
from tests.unit.test_api_support import Harness, harness

NOTE = "called 13812348000, then 021-6444-1234 and １３９００００１１１１; ticket 2026"


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path) as h:
        yield h


def test_runs_of_seven_or_more_digits_are_masked() -> None:
    assert mask_digit_runs(NOTE) == (
        "called 138****8000, then 021****1234 and 139****1111; ticket 2026"
    )
    assert mask_digit_runs("room 123456, ext 8001") == "room 123456, ext 8001"


async def test_viewers_see_notes_masked_supervisors_in_clear(api: Harness) -> None:
    await api.post("/api/callbacks/sync")
    attempt = await api.post("/api/callbacks/c-abandoned/attempts",
                             json={"result": "no_answer", "note": NOTE})
    assert attempt.status_code == 201, attempt.text
    closed = await api.post("/api/callbacks/c-voicemail/dismiss",
                            json={"note": "spouse asked to use 13700002222 instead"})
    assert closed.status_code == 200, closed.text
    for path in ("/api/callbacks?status=all", "/api/callbacks/c-abandoned",
                 "/api/callbacks/c-voicemail"):
        as_viewer = await api.get(path, Role.viewer)
        assert as_viewer.status_code == 200
        assert "13812348000" not in as_viewer.text and "13700002222" not in as_viewer.text
        assert "6444" not in as_viewer.text and "１３９" not in as_viewer.text
        as_supervisor = await api.get(path, Role.supervisor)
        assert ("13812348000" in as_supervisor.text) or ("13700002222" in as_supervisor.text)
    task = (await api.get("/api/callbacks/c-abandoned", Role.viewer)).json()
    assert task["attempts"][0]["note"].startswith("called 138****8000")
    closed_task = (await api.get("/api/callbacks/c-voicemail", Role.viewer)).json()
    assert "137****2222" in closed_task["close_note"]


async def test_a_number_with_a_trailing_newline_is_not_diallable() -> None:
    originator = AriOriginator(AriClient("http://127.0.0.1:9", "u", "p", "hotline"))
    for number in ("13812348000\n", "13812348000\r\n", "1381234\n8000"):
        with pytest.raises(OriginateError, match="is not a number that can be dialled"):
            await originator.originate("agent1", number, "task-1")
    with pytest.raises(OriginateError, match="not connected"):  # a good number gets further
        await originator.originate("agent1", "13812348000", "task-1")
