"""Configuration over the API: the active one without secrets, `hotline check`, upload
(an invalid file is refused with its problems and changes nothing), reload."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.api.configuration import hide_password
from tests.unit.test_api_support import EXAMPLE, Harness, harness

EXAMPLE_TEXT = EXAMPLE.read_text(encoding="utf-8")
TOML = {"Content-Type": "application/toml"}


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path) as h:
        yield h


async def test_the_active_configuration_hides_secrets(api: Harness) -> None:
    config = api.services.config()
    with_password = config.service.model_copy(
        update={"database_url": "postgresql+asyncpg://hotline:s3cret@db:5432/hotline"}
    )
    api.app.state.hotline.configuration.current = lambda: config.model_copy(
        update={"service": with_password}
    )
    response = await api.get("/api/config")
    assert response.status_code == 200
    body = response.json()
    assert body["config"]["hotline"]["timezone"] == "Asia/Shanghai"
    assert body["config"]["lines"][0]["number"] == "95007"
    assert "s3cret" not in response.text
    assert body["config"]["service"]["database_url"] == (
        "postgresql+asyncpg://hotline:***@db:5432/hotline"
    )
    assert body["path"] == str(api.config_path)


def test_hide_password() -> None:
    assert hide_password("sqlite+aiosqlite:///var/j.sqlite3") == "sqlite+aiosqlite:///var/j.sqlite3"
    assert "pw" not in hide_password("postgresql://u:pw@h/db")
    assert hide_password("::not a url::") == "***"


async def test_the_check_is_hotline_check(api: Harness) -> None:
    body = (await api.get("/api/config/check")).json()
    assert body["ok"] is True and body["errors"] == 0 and body["warnings"] == 0
    assert body["findings"] == []
    assert body["summary"].startswith("2 line(s), 2 agent(s), 2 on call")


async def test_a_valid_upload_is_saved_for_the_next_reload(api: Harness) -> None:
    new = EXAMPLE_TEXT.replace("agent_ring_seconds = 15", "agent_ring_seconds = 20")
    response = await api.put("/api/config", content=new.encode(), headers=TOML)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["saved"] is True and body["restart_needed"] == []
    assert body["check"]["ok"] is True
    assert api.config_path.read_text(encoding="utf-8") == new
    previous = api.config_path.with_name("hotline.toml.previous")
    assert previous.read_text(encoding="utf-8") == EXAMPLE_TEXT
    assert not list(api.config_path.parent.glob(".*uploading"))
    assert (await api.get("/api/config")).json()["file_differs"] is True
    assert api.reloads == []  # saving does not reload


async def test_changing_ports_says_a_restart_is_needed(api: Harness) -> None:
    new = EXAMPLE_TEXT.replace("http_port = 9095", "http_port = 9096")
    body = (await api.put("/api/config", content=new, headers=TOML)).json()
    assert body["restart_needed"] == ["service"]
    assert "next restart" in body["detail"]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("this is = = not toml", "not valid TOML"),
        ("", "the file is empty"),
        (EXAMPLE_TEXT.replace("capacity = 10", "capacity = 0"),
         "lines.1.capacity: Input should be greater than or equal to 1"),
        (EXAMPLE_TEXT.replace('timezone = "Asia/Shanghai"', 'timezone = "Mars/Olympus"'),
         "hotline.timezone: unknown time zone"),
        (EXAMPLE_TEXT + "\n[surprise]\nkey = 1\n", "surprise"),
        (EXAMPLE_TEXT.replace('bind = "127.0.0.1"', 'bind = "0.0.0.0"', 1), "asterisk.bind"),
        ("x" * (300 * 1024), "larger than 256 KiB"),
    ],
)
async def test_an_invalid_upload_is_422_and_changes_nothing(
    api: Harness, text: str, problem: str
) -> None:
    before = api.config_path.read_bytes()
    response = await api.put("/api/config", content=text.encode(), headers=TOML)
    assert response.status_code == 422
    body = response.json()
    assert body["detail"] == "the configuration is not valid; nothing was changed"
    assert any(problem in p for p in body["problems"]), body["problems"]
    assert api.config_path.read_bytes() == before
    assert not api.config_path.with_name("hotline.toml.previous").exists()
    assert sorted(p.name for p in api.config_path.parent.iterdir() if p.name.startswith(".")) == []


async def test_a_problem_names_its_line(api: Harness) -> None:
    text = EXAMPLE_TEXT.replace("capacity = 10", "capacity = 0")
    line = next(n for n, row in enumerate(text.splitlines(), 1) if "capacity = 0" in row)
    body = (await api.put("/api/config", content=text, headers=TOML)).json()
    assert body["problems"][0].startswith(f"line {line}: lines.1.capacity")


async def test_a_config_that_breaks_the_rules_needs_force(api: Harness) -> None:
    text = EXAMPLE_TEXT.replace('end = "20:00"', 'end = "12:00"')  # 4 hours of consultation
    refused = await api.put("/api/config", content=text, headers=TOML)
    assert refused.status_code == 422
    assert "breaks" in refused.json()["detail"]
    assert any("hours.consultation" in p for p in refused.json()["problems"])
    assert api.config_path.read_text(encoding="utf-8") == EXAMPLE_TEXT
    forced = await api.put("/api/config?force=true", content=text, headers=TOML)
    assert forced.status_code == 200
    assert forced.json()["check"]["ok"] is False
    assert api.config_path.read_text(encoding="utf-8") == text


async def test_validate_saves_nothing(api: Harness) -> None:
    text = EXAMPLE_TEXT.replace('end = "20:00"', 'end = "12:00"')
    response = await api.post("/api/config/validate", content=text, headers=TOML)
    assert response.status_code == 200
    assert response.json()["saved"] is False and response.json()["check"]["ok"] is False
    assert api.config_path.read_text(encoding="utf-8") == EXAMPLE_TEXT
    bad = await api.post("/api/config/validate", content="nope", headers=TOML)
    assert bad.status_code == 422


async def test_text_that_is_not_utf8_is_422(api: Harness) -> None:
    response = await api.put("/api/config", content=b"\xff\xfe[hotline]", headers=TOML)
    assert response.status_code == 422 and "UTF-8" in response.json()["detail"]


async def test_reload_asks_the_service(api: Harness) -> None:
    response = await api.post("/api/config/reload")
    assert response.status_code == 202
    assert api.reloads == [api.services.clock.now()]


async def test_reload_of_a_broken_file_is_refused(api: Harness) -> None:
    api.config_path.write_text("broken = = toml", encoding="utf-8")
    response = await api.post("/api/config/reload")
    assert response.status_code == 422
    assert "not valid TOML" in response.json()["problems"][0]
    assert api.reloads == []
    assert (await api.get("/api/config")).json()["file_differs"] is None
