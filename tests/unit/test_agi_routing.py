"""FastAGI `route`: the routing policy's decision for each step of a dialplan-driven call,
as channel variables and journal events, the same steps the controller and the hotline's
own dialplan journal; and the AGI request and argument quoting."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from agi_scripts.protocol import parse_request, quote
from agi_scripts.routing import CallState, Decision, decide, find_line
from ivr.callflow.policy import RoutingPolicy
from ivr.config import Line, load_config
from ivr.domain.events import EventKind

EXAMPLE = Path(__file__).resolve().parents[2] / "hotline.example.toml"
SHANGHAI = ZoneInfo("Asia/Shanghai")
MONDAY_10 = datetime(2026, 11, 23, 10, 0, tzinfo=SHANGHAI)
MONDAY_22 = datetime(2026, 11, 23, 22, 0, tzinfo=SHANGHAI)
NATIONAL_DAY = datetime(2026, 10, 1, 10, 0, tzinfo=SHANGHAI)
POLICY = RoutingPolicy(load_config(EXAMPLE))


def line(name: str) -> Line:
    found = find_line(POLICY.config, name)
    assert found is not None
    return found


def kinds(decision: Decision) -> list[EventKind]:
    return [kind for kind, _ in decision.events]


def test_a_line_is_found_by_name_or_number() -> None:
    assert line("95007").name == "main" and line("legacy").number == "88886666"
    assert find_line(POLICY.config, "12345") is None


def test_arrival_on_an_ivr_line_in_hours_asks_for_the_menu() -> None:
    d = decide(POLICY, line("main"), None, CallState(), MONDAY_10, caller="138-0013 8000",
               prompts={"menu": "/sounds/menu"})
    assert kinds(d) == [EventKind.call_arrived, EventKind.ivr_answered]
    assert d.events[0][1] == {"mode": "ivr", "caller": "13800138000"}
    v = d.variables
    assert v["HOTLINE_OPEN"] == "1" and v["HOTLINE_HOLIDAY"] == "0"
    assert v["HOTLINE_TARGET"] == "menu" and v["HOTLINE_MENU_ATTEMPT"] == "1"
    assert v["__HOTLINE_LINE"] == "main" and v["HOTLINE_PROMPT_MENU"] == "/sounds/menu"


def test_a_key_in_hours_queues_the_caller_as_the_controller_does() -> None:
    state = CallState(arrived=True, open=True, attempt=1)
    d = decide(POLICY, line("main"), "1", state, MONDAY_10)
    assert d.events == [
        (EventKind.menu_choice, {"key": "1", "service": "emergency", "attempt": 1}),
        (EventKind.human_requested, {"service": "emergency", "target": "queue"}),
    ]
    v = d.variables
    assert v["HOTLINE_TARGET"] == "queue" and v["HOTLINE_CONTEXT"] == "hotline-person"
    assert v["HOTLINE_QUEUE"] == "hotline" and v["QUEUE_PRIO"] == "10"
    assert "__HOTLINE_CALLER" not in v  # arrival is journaled once


def test_silence_and_wrong_keys_ask_again_then_take_the_default() -> None:
    d = decide(POLICY, line("main"), "", CallState(True, True, 1), MONDAY_10)
    assert kinds(d) == [EventKind.menu_timeout]
    assert d.variables["HOTLINE_TARGET"] == "menu" and d.variables["HOTLINE_MENU_ATTEMPT"] == "2"
    d = decide(POLICY, line("main"), "7", CallState(True, True, 3), MONDAY_10)
    assert kinds(d) == [EventKind.menu_invalid, EventKind.human_requested]
    assert d.variables["HOTLINE_TARGET"] == "queue" and d.variables["QUEUE_PRIO"] == "0"


def test_the_announcement_key() -> None:
    d = decide(POLICY, line("main"), "9", CallState(True, True, 1), MONDAY_10)
    assert d.events == [
        (EventKind.menu_choice, {"key": "9", "service": "announcement", "attempt": 1})
    ]
    assert d.variables["HOTLINE_TARGET"] == "announcement"


def test_a_manual_line_goes_straight_to_the_queue_in_hours() -> None:
    d = decide(POLICY, line("legacy"), None, CallState(), MONDAY_10)
    assert kinds(d) == [EventKind.call_arrived, EventKind.human_requested]
    assert d.variables["HOTLINE_TARGET"] == "queue"
    again = decide(POLICY, line("legacy"), "", CallState(True, True), MONDAY_10)
    assert again.events == [] and again.variables["HOTLINE_TARGET"] == "queue"


def test_outside_hours_the_emergency_key_rings_the_on_call_chain() -> None:
    d = decide(POLICY, line("main"), None, CallState(), MONDAY_22)
    assert kinds(d) == [EventKind.call_arrived, EventKind.ivr_answered, EventKind.off_hours]
    assert d.variables["HOTLINE_OPEN"] == "0" and d.variables["HOTLINE_TARGET"] == "closed"
    d = decide(POLICY, line("main"), "1", CallState(True, False), MONDAY_22)
    assert kinds(d) == [EventKind.menu_choice, EventKind.human_requested]
    assert d.events[1][1] == {"service": "emergency", "target": "oncall"}
    v = d.variables
    assert v["HOTLINE_TARGET"] == "oncall" and v["HOTLINE_CONTEXT"] == "hotline-oncall"
    assert v["HOTLINE_ONCALL"].startswith("PJSIP/") and int(v["HOTLINE_ONCALL_COUNT"]) >= 1


def test_outside_hours_other_keys_and_silence_leave_a_voicemail() -> None:
    d = decide(POLICY, line("main"), "4", CallState(True, False), MONDAY_22)
    assert d.events == [(EventKind.menu_choice, {"key": "4", "service": "voicemail", "attempt": 1})]
    assert d.variables["HOTLINE_TARGET"] == "voicemail"
    d = decide(POLICY, line("main"), "", CallState(True, False), MONDAY_22)
    assert d.events == [] and d.variables["HOTLINE_TARGET"] == "voicemail"


def test_the_decision_at_arrival_holds_for_the_whole_call() -> None:
    # the call arrived at 19:59 in hours; its key at 20:00 still goes to the queue
    d = decide(POLICY, line("main"), "0", CallState(True, True, 1), MONDAY_22)
    assert d.variables["HOTLINE_TARGET"] == "queue"


def test_a_public_holiday_is_closed_and_said_so() -> None:
    d = decide(POLICY, line("legacy"), None, CallState(), NATIONAL_DAY)
    assert d.variables["HOTLINE_HOLIDAY"] == "1" and d.variables["HOTLINE_OPEN"] == "0"
    assert kinds(d) == [
        EventKind.call_arrived, EventKind.ivr_answered, EventKind.off_hours
    ]
    assert d.events[1][1] == {"via": "manual"}


def test_the_request_path_and_query_are_read_from_the_network_script() -> None:
    request = parse_request(
        "agi_network: yes\nagi_network_script: journal?kind=queue_left&Status=TIMEOUT&x=\n"
        "agi_channel: PJSIP/caller-00000001\nagi_uniqueid: 1700000000.1\nnot a header\n"
    )
    assert request.path == "journal"
    assert request.params == {"kind": "queue_left", "status": "TIMEOUT", "x": ""}
    assert request.channel == "PJSIP/caller-00000001" and request.uniqueid == "1700000000.1"
    assert parse_request("agi_network_script: route\n").params == {}


def test_arguments_are_quoted_on_one_line() -> None:
    assert quote('a "b" \\c') == '"a \\"b\\" \\\\c"'
    assert "\n" not in quote("two\nlines")
