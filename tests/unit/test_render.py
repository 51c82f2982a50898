"""The rendered Asterisk configuration: loopback only, generated secrets, no way out of
the public context, events filtered at the source, and a dialplan asterisklint accepts."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from datetime import date
from pathlib import Path

import pytest

from ivr.asterisk.instance import Instance
from ivr.asterisk.render import render
from ivr.asterisk.sandbox import AsteriskInstall
from ivr.config import HotlineConfig, load_config
from ivr.secrets import load_secrets

EXAMPLE = Path(__file__).resolve().parents[2] / "hotline.example.toml"


@pytest.fixture
def rendered(tmp_path: Path) -> tuple[HotlineConfig, Path, Instance]:
    config = load_config(EXAMPLE)
    root = tmp_path / "root"
    instance = Instance.create(AsteriskInstall(root, "Asterisk 22"), "t", tmp_path)
    secrets = load_secrets(tmp_path / "data")
    sounds = {name: instance.sounds / name for name in (
        "greeting", "menu", "off_hours", "invalid", "voicemail", "callback", "queue", "busy",
        "announcement")}
    render(config, secrets, instance, sounds, today=date(2026, 9, 28))
    return config, tmp_path / "data", instance


def read(instance: Instance, name: str) -> str:
    return (instance.etc / name).read_text()


def test_every_listener_is_on_loopback(rendered: tuple[HotlineConfig, Path, Instance]) -> None:
    _, _, instance = rendered
    assert "bind = 127.0.0.1:5060" in read(instance, "pjsip.conf")
    assert "bindaddr = 127.0.0.1" in read(instance, "http.conf")
    assert "bindaddr = 127.0.0.1" in read(instance, "manager.conf")
    assert "permit = 127.0.0.1/255.255.255.255" in read(instance, "manager.conf")


def test_secrets_are_generated_and_private(rendered: tuple[HotlineConfig, Path, Instance]) -> None:
    _, data_dir, instance = rendered
    secrets = load_secrets(data_dir)
    assert len(secrets.ari_password) >= 24 and secrets.ari_password != secrets.ami_password
    assert f"password = {secrets.ari_password}" in read(instance, "ari.conf")
    assert f"secret = {secrets.ami_password}" in read(instance, "manager.conf")
    assert os.stat(data_dir / "secrets.toml").st_mode & 0o077 == 0
    pjsip = read(instance, "pjsip.conf")
    assert f"password = {secrets.endpoints['agent1']}" in pjsip
    for sample in ("asterisk", "secret", "1234", "mysecret"):
        assert not re.search(rf"^(password|secret) = {sample}$", pjsip, re.M)


def test_the_public_context_has_no_way_out(rendered: tuple[HotlineConfig, Path, Instance]) -> None:
    config, _, instance = rendered
    dialplan = read(instance, "extensions.conf")
    public = dialplan.split("[hotline-public]")[1].split("\n[")[0]
    assert "Dial(" not in public and "Goto(hotline-oncall" not in public
    numbers = set(re.findall(r"^exten => (\w+),1,", public, re.M)) - {"s", "i", "h"}
    assert numbers == {line.number for line in config.lines}
    assert "exten => h,1,NoOp()" in public  # a line's call ending here is not refused
    assert "Gosub(hotline-refused,s,1(unknown_number," in public
    assert "res_pjsip_refer.so" not in read(instance, "modules.conf")
    assert read(instance, "pjsip.conf").count("allow_transfer = no") >= 1 + len(config.agents)


def test_ami_is_filtered_at_the_source(rendered: tuple[HotlineConfig, Path, Instance]) -> None:
    _, _, instance = rendered
    manager = read(instance, "manager.conf")
    assert "timestampevents = yes" in manager
    assert re.search(r"^eventfilter = Event: \(.*AgentConnect.*\)", manager, re.M)


def test_china_ring_cadence_and_holidays(rendered: tuple[HotlineConfig, Path, Instance]) -> None:
    _, _, instance = rendered
    assert "country = cn" in read(instance, "indications.conf")
    assert "ringcadence = 1000,4000" in read(instance, "indications.conf")
    dialplan = read(instance, "extensions.conf")
    assert ",20261001," in dialplan  # National Day is closed
    assert "GotoIfTime(08:00-19:59,mon-sun,*,*,Asia/Shanghai?open)" in dialplan


def test_the_dialplan_passes_asterisklint(rendered: tuple[HotlineConfig, Path, Instance]) -> None:
    _, _, instance = rendered
    lint = shutil.which("asterisklint") or str(Path(os.sys.executable).parent / "asterisklint")
    result = subprocess.run(
        [lint, "dialplan-check", "extensions.conf"], cwd=instance.etc,
        capture_output=True, text=True, check=False,
    )
    problems = [line for line in (result.stdout + result.stderr).splitlines()
                if re.search(r" [EW]_[A-Z_]+:", line)]
    assert not problems, "\n".join(problems)


def test_a_shed_call_gets_the_controllers_menu_in_the_dialplan(
    rendered: tuple[HotlineConfig, Path, Instance],
) -> None:
    """`hotline-shed` (the controller is behind): journaled as a call the dialplan serves
    alone, then by the same schedule the greeting and menu with every key of the config,
    the announcement key, the retries and the default; off hours the off-hours path."""
    config, _, instance = rendered
    text = read(instance, "extensions.conf")
    shed = text.split("[hotline-shed]", 1)[1].split("\n[", 1)[0]
    assert "Kind: controller_absent" in shed and "Reason: shed" in shed
    assert "GotoIf(${HOTLINE_OPEN}?hotline-menu,s,1)" in shed
    assert "Goto(hotline-closed,s,1)" in shed
    menu = text.split("[hotline-menu]", 1)[1].split("\n[", 1)[0]
    sounds = instance.to_inner(instance.sounds)
    assert f"Background({sounds}/greeting)" in menu and f"Background({sounds}/menu)" in menu
    assert f"WaitExten({config.menu.timeout_seconds})" in menu
    for key, service in config.menu.keys.items():
        assert f"exten => {key},1," in menu
        choice = f"Kind: menu_choice,Line: ${{HOTLINE_LINE}},Key: {key},Service: {service.value}"
        assert choice in menu
    assert f"exten => {config.menu.announcement_key},1," in menu
    assert "Kind: announcement_completed" in menu
    assert f"Read(HL_KEY,{sounds}/announcement,1,,1,0.01)" in menu
    assert f"GotoIf($[${{HL_TRY}} >= {config.menu.retries + 1}]?default)" in menu
    assert f"Set(__HOTLINE_SERVICE={config.menu.default.value})" in menu
    assert "Kind: menu_timeout" in menu and "Kind: menu_invalid" in menu
