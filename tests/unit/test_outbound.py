"""The toll-fraud guard (every outbound path): the domestic patterns, international and
premium prefixes, the per-task and per-day limits, refusals counted, the dialplan's own
check rendered, and a spoofed international caller ID planted as a callback task never
reaching an originate."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ivr.auth.roles import Role
from ivr.callbacks.domain import AttemptResult
from ivr.callbacks.outbound import OutboundGuard, OutboundRefused, dial_result
from ivr.clock import FixedClock
from ivr.config import ConfigError, load_config_text
from ivr.domain.outbound import OutboundRules, PatternError, Refusal, check_pattern
from tests.unit.test_api_support import (
    EXAMPLE,
    Harness,
    a_day,
    harness,
    voicemail,
)

SPOOFED = "0088213123456789"  # an international satellite number, as a caller ID


@pytest.mark.parametrize(
    ("number", "refusal"),
    [
        ("13812348000", None),
        ("19912348000", None),
        ("02164441234", None),
        ("075512345678", None),
        (SPOOFED, Refusal.international),
        ("+8613812348000", Refusal.international),
        ("16812345678", Refusal.premium),
        ("12590123456", Refusal.premium),
        ("12812348000", Refusal.not_domestic),  # no 12x mobiles
        ("1381234800", Refusal.not_domestic),
        ("138123480001", Refusal.not_domestic),
        ("00", Refusal.international),
        ("", Refusal.not_domestic),
        ("1381234800\n", Refusal.not_domestic),
        ("１３８１２３４８０００", Refusal.not_domestic),  # full-width digits
        ("95007", Refusal.not_domestic),
    ],
)
def test_only_whole_domestic_numbers_pass(number: str, refusal: Refusal | None) -> None:
    assert OutboundRules().number_refusal(number) is refusal


def test_limits_come_after_the_number() -> None:
    rules = OutboundRules(per_task=2, per_day=5)
    assert rules.refusal("13812348000", 1, 4) is None
    assert rules.refusal("13812348000", 2, 0) is Refusal.task_limit
    assert rules.refusal("13812348000", 0, 5) is Refusal.day_limit
    assert rules.refusal(SPOOFED, 0, 0) is Refusal.international


@pytest.mark.parametrize("pattern", [r"1[3-9]\w{9}", r"(1)\d", "1.*", "", r"\d+", "a"])
def test_patterns_outside_the_portable_subset_are_refused(pattern: str) -> None:
    with pytest.raises(PatternError):
        check_pattern(pattern)


def test_the_dialplan_regex_is_posix_and_anchored() -> None:
    regex = OutboundRules().dialplan_regex
    assert "\\d" not in regex and regex.startswith("^(") and regex.endswith(")$")
    assert re.fullmatch(regex[1:-1], "13812348000")
    assert not re.fullmatch(regex[1:-1], SPOOFED)


def test_a_bad_outbound_section_names_the_line() -> None:
    text = EXAMPLE.read_text(encoding="utf-8").replace(
        "domestic = ['1[3-9]\\d{9}', '0[1-9]\\d{9,10}']", "domestic = ['.*']"
    )
    with pytest.raises(ConfigError) as caught:
        load_config_text(text, Path("h.toml"))
    assert "outbound.domestic" in str(caught.value)


@pytest.mark.parametrize(
    ("status", "cause", "result"),
    [
        ("ANSWER", 16, AttemptResult.reached),
        ("BUSY", 17, AttemptResult.busy),
        ("NOANSWER", 19, AttemptResult.no_answer),
        ("CHANUNAVAIL", 1, AttemptResult.number_does_not_exist),
        ("CONGESTION", 34, AttemptResult.unreachable),
        ("REFUSED", 21, None),
    ],
)
def test_dial_results_are_the_seeds_reasons(
    status: str, cause: int, result: AttemptResult | None
) -> None:
    assert dial_result(status, cause) is result


# -- through the API and the database ---------------------------------------------------


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Harness]:
    planted = voicemail("c-spoofed", a_day()[0].start + timedelta(hours=2), caller=SPOOFED)
    async with harness(tmp_path, [*a_day(), planted]) as h:
        await h.post("/api/callbacks/sync")
        yield h


async def test_a_spoofed_international_caller_is_never_dialled(api: Harness) -> None:
    task = (await api.get("/api/callbacks/c-spoofed")).json()
    assert task["caller"] == SPOOFED and task["status"] == "open"  # planted, as a caller can
    for _ in range(3):
        response = await api.post("/api/callbacks/c-spoofed/call", json={"agent": "agent1"})
        assert response.status_code == 422
        assert "international" in response.json()["detail"]
    assert api.originator.calls == []  # no phone rang, nothing was dialled
    guard = api.callbacks.guard
    assert guard.refused()["international"] == 3
    await guard.load_counts()  # written, so /metrics keeps them across restarts
    assert guard.refused()["international"] == 3
    dials = await guard.dials("c-spoofed")
    assert [(d["status"], d["reason"]) for d in dials] == [("refused", "international")] * 3


async def test_one_task_is_originated_at_most_per_task_times(api: Harness) -> None:
    limit = OutboundRules().per_task
    for _ in range(limit):
        ok = await api.post("/api/callbacks/c-voicemail/call", json={"agent": "agent1"})
        assert ok.status_code == 202
    refused = await api.post("/api/callbacks/c-voicemail/call", json={"agent": "agent1"})
    assert refused.status_code == 422 and "task_limit" in refused.json()["detail"]
    assert len(api.originator.calls) == limit
    assert api.callbacks.guard.refused()["task_limit"] == 1


async def test_an_asterisk_refusal_still_counts_against_the_task(api: Harness) -> None:
    api.originator.fail = "Asterisk refused the call (400)"
    response = await api.post("/api/callbacks/c-voicemail/call", json={"agent": "agent1"})
    assert response.status_code == 502
    dials = await api.callbacks.guard.dials("c-voicemail")
    assert [d["status"] for d in dials] == ["not_started"]


async def test_the_day_limit_spans_tasks_and_resets_the_next_local_day(api: Harness) -> None:
    engine = api.store.engine
    clock = FixedClock(datetime(2026, 12, 3, 15, 30, tzinfo=UTC))  # 23:30 in Shanghai
    zone = api.services.config().hotline.zone
    guard = OutboundGuard(engine, lambda: OutboundRules(per_day=2), lambda: zone, clock)
    await guard.permit("c-voicemail", "13812348000", "agent1")
    await guard.permit("c-abandoned", "13700002222", "agent1")
    with pytest.raises(OutboundRefused) as caught:
        await guard.permit("c-emergency", "02164441234", "agent1")
    assert caught.value.reason is Refusal.day_limit
    clock.at = datetime(2026, 12, 3, 16, 5, tzinfo=UTC)  # 00:05 the next local day
    await guard.permit("c-emergency", "02164441234", "agent1")


async def test_a_viewer_cannot_call_back(api: Harness) -> None:
    response = await api.post(
        "/api/callbacks/c-voicemail/call", role=Role.viewer, json={"agent": "agent1"}
    )
    assert response.status_code == 403


def test_the_dialplan_checks_again_before_the_carrier(tmp_path: Path) -> None:
    from datetime import date

    from ivr.asterisk.instance import Instance
    from ivr.asterisk.render import render_configs
    from ivr.asterisk.sandbox import AsteriskInstall
    from ivr.config import load_config
    from ivr.secrets import load_secrets

    config = load_config(EXAMPLE)
    instance = Instance.create(AsteriskInstall(tmp_path / "root", "Asterisk 22"), "t", tmp_path)
    sounds = {name: instance.sounds / name for name in (
        "greeting", "menu", "off_hours", "invalid", "voicemail", "callback", "queue", "busy")}
    texts = render_configs(
        config, load_secrets(tmp_path / "data"), instance, sounds, today=date(2026, 9, 28)
    )
    callback = texts["extensions.conf"].split("[hotline-callback]")[1].split("\n[")[0]
    checks, dial = callback.split("(dial)")
    assert "Dial(" not in checks  # every check comes before the one Dial
    assert '"${EXTEN:0:2}" = "00"' in checks and '"${EXTEN:0:3}" = "168"' in checks
    assert 'REGEX("^((1[3-9][0-9]{9})|(0[1-9][0-9]{9,10}))$" ${EXTEN})' in checks
    assert "Set(CALLERID(all)=\"\" <95007>)" in dial
    assert "Dial(PJSIP/${EXTEN}@carrier,45)" in dial
    assert "exten => _[+*#A-Za-z].,1,Set(HL_NUMBER=" in callback
    pjsip = texts["pjsip.conf"]
    assert "[carrier]\ntype = endpoint\ncontext = hotline-public" in pjsip
    assert "contact = sip:192.0.2.10:5060" in pjsip and "registration" not in pjsip
    staff = texts["extensions.conf"].split("[hotline-staff]")[1]
    assert "Dial(" not in staff


def _carrier_config(tmp_path: Path, section: str) -> str:
    text = EXAMPLE.read_text(encoding="utf-8")
    start = text.index("[carrier]")
    return text[:start] + section


def test_a_registering_carrier_reads_its_password_from_a_private_file(tmp_path: Path) -> None:
    from datetime import date

    from ivr.asterisk.instance import Instance
    from ivr.asterisk.render import render_configs
    from ivr.asterisk.sandbox import AsteriskInstall
    from ivr.secrets import load_secrets

    secret = tmp_path / "carrier.secret"
    secret.write_text("s3cret-from-carrier\n")
    secret.chmod(0o600)
    text = _carrier_config(tmp_path, '[carrier]\nmode = "register"\nhost = "sip.carrier.example"\n'
                           'username = "95007"\npassword_file = "carrier.secret"\n')
    config = load_config_text(text, tmp_path / "hotline.toml")
    assert config.carrier is not None and config.carrier.password_file == secret
    instance = Instance.create(AsteriskInstall(tmp_path / "root", "Asterisk 22"), "t", tmp_path)
    sounds = {name: instance.sounds / name for name in (
        "greeting", "menu", "off_hours", "invalid", "voicemail", "callback", "queue", "busy")}
    pjsip = render_configs(config, load_secrets(tmp_path / "data"), instance, sounds,
                           today=date(2026, 9, 28))["pjsip.conf"]
    assert "password = s3cret-from-carrier" in pjsip
    assert "server_uri = sip:sip.carrier.example:5060" in pjsip
    assert "outbound_auth = carrier-auth" in pjsip
    secret.chmod(0o644)  # readable by others: refused
    with pytest.raises(ValueError, match="readable by others"):
        config.carrier.password()


@pytest.mark.parametrize(
    ("section", "says"),
    [
        ('[carrier]\nmode = "register"\nhost = "192.0.2.1"\n', "needs username and password_file"),
        ('[carrier]\nhost = "not a host"\n', "neither an IP address nor a host name"),
        ('[carrier]\nhost = "192.0.2.1"\ncaller_id = "+8695007"\n', "carrier.caller_id"),
    ],
)
def test_bad_carrier_sections_are_refused(tmp_path: Path, section: str, says: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_config_text(_carrier_config(tmp_path, section), tmp_path / "hotline.toml")
    assert says in str(caught.value)
