"""The routing policy the controller asks: hours, menu keys, the on-call chain."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from ivr.asterisk.render import night_transfer_keys, oncall_dial_chain
from ivr.callflow.policy import RoutingPolicy
from ivr.config import load_config
from ivr.domain.vocabulary import Service

EXAMPLE = Path(__file__).resolve().parents[2] / "hotline.example.toml"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def policy() -> RoutingPolicy:
    return RoutingPolicy(load_config(EXAMPLE))


def test_service_hours_follow_the_schedule() -> None:
    p = policy()
    assert p.in_service_hours(datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI))
    assert not p.in_service_hours(datetime(2026, 11, 23, 21, 0, tzinfo=SHANGHAI))
    assert not p.in_service_hours(datetime(2026, 10, 1, 10, 0, tzinfo=SHANGHAI))  # National Day


def test_menu_keys_invalid_keys_and_silence() -> None:
    p = policy()
    assert p.read_menu_key("1").service is Service.emergency
    assert p.read_menu_key("0").service is Service.person
    assert p.read_menu_key("9").invalid
    assert p.read_menu_key(None).timed_out
    assert p.menu_attempts == 3 and p.menu_default is Service.person


def test_only_night_transfer_keys_ring_the_on_call_staff() -> None:
    p = policy()
    assert p.is_night_transfer("1") and p.is_night_transfer("2")  # emergency, repair (R1)
    assert not p.is_night_transfer("3") and not p.is_night_transfer(None)
    assert night_transfer_keys(p.config) == ["1", "2"]


def test_the_on_call_chain_rings_each_person_for_their_rings() -> None:
    p = policy()
    chain = p.oncall_chain(datetime(2026, 11, 21, 23, 0, tzinfo=SHANGHAI))
    assert [person.endpoint for person in chain] == ["oncall1", "oncall2"]
    assert oncall_dial_chain(p.config, chain) == (
        "PJSIP/oncall1^20^oncall1&PJSIP/oncall2^20^oncall2"
    )
