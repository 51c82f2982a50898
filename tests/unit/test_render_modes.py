"""Asterisk's configuration holds the AMI secret, the ARI password and every SIP
password: rendered 0640 in a 0750 directory, never readable by every local user
(issue 12 item 1); the AMI user may do only what the service needs (item 2)."""

from __future__ import annotations

import os
import stat
from datetime import date
from pathlib import Path

from ivr.asterisk.instance import Instance
from ivr.asterisk.render import CONFIG_FILES, EMPTY_FILES, render
from ivr.asterisk.sandbox import AsteriskInstall
from ivr.config import load_config
from ivr.secrets import load_secrets
from tests.unit.test_api_support import EXAMPLE

PROMPTS = ("greeting", "menu", "off_hours", "invalid", "voicemail", "callback", "queue", "busy",
           "beep")


def _sounds(instance: Instance) -> dict[str, Path]:
    return {name: instance.sounds / name for name in PROMPTS}


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_rendered_files_are_private_whatever_the_umask(tmp_path: Path) -> None:
    config = load_config(EXAMPLE)
    instance = Instance.create(AsteriskInstall(tmp_path / "root", "Asterisk 22"), "t", tmp_path)
    secrets = load_secrets(tmp_path / "data")
    (instance.etc / "pjsip.conf").write_text("old")
    (instance.etc / "pjsip.conf").chmod(0o644)  # as main rendered it
    old_umask = os.umask(0o000)
    try:
        render(config, secrets, instance, _sounds(instance), today=date(2026, 9, 28))
    finally:
        os.umask(old_umask)
    assert _mode(instance.etc) == 0o750
    assert _mode(instance.host) == 0o750
    for name in (*CONFIG_FILES, *EMPTY_FILES):
        assert _mode(instance.etc / name) == 0o640, name
    assert secrets.ami_password in (instance.etc / "manager.conf").read_text()
    assert not list(instance.etc.glob(".*.tmp"))


def test_the_ami_user_may_not_originate_or_run_commands(tmp_path: Path) -> None:
    config = load_config(EXAMPLE)
    instance = Instance.create(AsteriskInstall(tmp_path / "root", "Asterisk 22"), "t", tmp_path)
    render(config, load_secrets(tmp_path / "data"), instance, _sounds(instance),
           today=date(2026, 9, 28))
    lines = (instance.etc / "manager.conf").read_text().splitlines()
    write = [line for line in lines if line.startswith("write")]
    assert write == ["write = system"]
