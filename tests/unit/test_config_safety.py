"""Config changes are safe (issue 11 item 5, issue 12 items 4 and 6): input that used to
answer 500 is a 422 naming the problem; recorded prompt files must be usable and lie in
the config's directory or the data dir; a read-only config directory is said plainly;
an upload keeps the file's mode; the CLI refuses a bad config before starting."""

from __future__ import annotations

import os
import stat
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ivr.cli import app as cli
from tests.unit.test_api_support import EXAMPLE, Harness, harness, write_wav

EXAMPLE_TEXT = EXAMPLE.read_text(encoding="utf-8")
TOML = {"Content-Type": "application/toml"}
GREETING = 'greeting = { text = "您好，欢迎致电{name}。" }'


def with_greeting_file(file: str) -> str:
    assert GREETING in EXAMPLE_TEXT
    return EXAMPLE_TEXT.replace(GREETING, f"greeting = {{ file = {file} }}")


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path) as h:
        yield h


async def _refused(api: Harness, text: str | bytes, *, validate: bool = False) -> list[str]:
    body = text if isinstance(text, bytes) else text.encode()
    if validate:
        response = await api.post("/api/config/validate", content=body, headers=TOML)
    else:
        response = await api.put("/api/config", content=body, headers=TOML)
    assert response.status_code == 422, response.text
    problems: list[str] = response.json()["problems"]
    return problems


@pytest.mark.parametrize("validate", [True, False])
async def test_toml_nested_500_deep_is_422(api: Harness, validate: bool) -> None:
    deep = "a = " + "[" * 500 + "]" * 500 + "\n"
    problems = await _refused(api, deep, validate=validate)
    assert problems == ["the TOML is nested too deeply (arrays or tables inside each other)"]


@pytest.mark.parametrize("validate", [True, False])
async def test_a_nul_byte_in_data_dir_is_422_naming_the_field(
    api: Harness, validate: bool
) -> None:
    text = EXAMPLE_TEXT.replace('data_dir = "var"', 'data_dir = "v\\u0000ar"')
    problems = await _refused(api, text, validate=validate)
    assert any("service.data_dir: the path contains a NUL byte" in p for p in problems), problems


async def test_a_nul_byte_in_a_prompt_file_is_422_naming_the_field(api: Harness) -> None:
    problems = await _refused(api, with_greeting_file('"greet\\u0000.wav"'), validate=True)
    assert any("prompts.greeting.file: the path contains a NUL byte" in p for p in problems)


async def test_a_prompt_file_outside_the_config_and_data_dirs_is_refused(api: Harness) -> None:
    before = api.config_path.read_bytes()
    problems = await _refused(api, with_greeting_file('"/etc/shadow"'))
    assert len(problems) == 1
    assert problems[0].startswith("prompts.greeting.file: /etc/shadow is outside")
    assert api.config_path.read_bytes() == before


async def test_a_symlink_out_of_the_config_dir_is_refused(api: Harness) -> None:
    (api.config_path.parent / "greeting.wav").symlink_to("/etc/passwd")
    problems = await _refused(api, with_greeting_file('"greeting.wav"'))
    assert problems[0].startswith("prompts.greeting.file: ")
    assert "is outside the config file's directory and the data dir" in problems[0]


async def test_a_missing_prompt_file_is_refused(api: Harness) -> None:
    problems = await _refused(api, with_greeting_file('"nowhere.wav"'), validate=True)
    assert problems == [
        f"prompts.greeting.file: {api.config_path.parent / 'nowhere.wav'} does not exist"
    ]


async def test_a_prompt_file_sox_cannot_decode_is_refused(api: Harness) -> None:
    (api.config_path.parent / "greeting.wav").write_bytes(b"RIFF not really a wave file" * 10)
    problems = await _refused(api, with_greeting_file('"greeting.wav"'))
    assert problems[0].startswith("prompts.greeting.file: sox cannot decode")


async def test_a_good_recorded_prompt_beside_the_config_or_in_the_data_dir_is_saved(
    api: Harness,
) -> None:
    write_wav(api.config_path.parent / "greeting.wav")
    text = with_greeting_file('"greeting.wav"')
    response = await api.put("/api/config", content=text, headers=TOML)
    assert response.status_code == 200, response.text
    write_wav(api.config_path.parent / "var" / "prompts" / "greeting.wav")
    text = with_greeting_file('"var/prompts/greeting.wav"')
    response = await api.post("/api/config/validate", content=text, headers=TOML)
    assert response.status_code == 200, response.text


async def test_reload_of_a_file_with_a_bad_prompt_is_422_and_not_applied(api: Harness) -> None:
    api.config_path.write_text(with_greeting_file('"/etc/shadow"'), encoding="utf-8")
    response = await api.post("/api/config/reload")
    assert response.status_code == 422
    assert response.json()["problems"][0].startswith("prompts.greeting.file: /etc/shadow")
    assert api.reloads == []


async def test_an_upload_keeps_the_file_mode(api: Harness) -> None:
    api.config_path.chmod(0o600)
    new = EXAMPLE_TEXT.replace("agent_ring_seconds = 15", "agent_ring_seconds = 20")
    response = await api.put("/api/config", content=new, headers=TOML)
    assert response.status_code == 200, response.text
    previous = api.config_path.with_name("hotline.toml.previous")
    assert stat.S_IMODE(api.config_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(previous.stat().st_mode) == 0o600
    assert api.config_path.read_text(encoding="utf-8") == new
    assert previous.read_text(encoding="utf-8") == EXAMPLE_TEXT


@pytest.fixture
def read_only_dir(tmp_path: Path) -> Iterator[Path]:
    """A directory the service cannot write: a read-only tmpfs as root (root ignores
    file modes), mode 0555 otherwise; holding a copy of the example config."""
    where = tmp_path / "etc-hotline"
    where.mkdir()
    if os.geteuid() != 0:
        (where / "hotline.toml").write_text(EXAMPLE_TEXT, encoding="utf-8")
        where.chmod(0o555)
        yield where
        where.chmod(0o755)
        return
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(where)], check=True)
    try:
        (where / "hotline.toml").write_text(EXAMPLE_TEXT, encoding="utf-8")
        subprocess.run(["mount", "-o", "remount,ro", str(where)], check=True)
        yield where
    finally:
        subprocess.run(["umount", str(where)], check=True)


async def test_a_read_only_config_dir_validates_and_says_it_cannot_save(
    api: Harness, read_only_dir: Path
) -> None:
    path = read_only_dir / "hotline.toml"
    api.app.state.hotline.configuration.path = path
    new = EXAMPLE_TEXT.replace("agent_ring_seconds = 15", "agent_ring_seconds = 20")
    checked = await api.post("/api/config/validate", content=new, headers=TOML)
    assert checked.status_code == 200, checked.text
    refused = await api.put("/api/config", content=new, headers=TOML)
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["detail"] == "the configuration is valid but was not saved"
    assert body["problems"][0].startswith(f"cannot save {path}: {read_only_dir}")
    assert path.read_text(encoding="utf-8") == EXAMPLE_TEXT


def test_the_cli_refuses_to_start_or_check_with_a_bad_prompt_file(tmp_path: Path) -> None:
    config = tmp_path / "hotline.toml"
    config.write_text(with_greeting_file('"/etc/shadow"'), encoding="utf-8")
    for command in ("run", "check", "reload"):
        result = CliRunner().invoke(cli, [command, "--config", str(config)])
        assert result.exit_code == 2, (command, result.output)
        assert "prompts.greeting.file: /etc/shadow is outside" in result.output
    assert not (tmp_path / "var" / "hotline.pid").exists()
