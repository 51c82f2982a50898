"""Reading Asterisk's durable record: whole lines only, corrupt ones skipped and counted;
a dialplan step told over AMI and into CEL is one event with one key."""

from __future__ import annotations

import json
from pathlib import Path

from ivr.ami.translate import AmiTranslator
from ivr.domain.events import EventKind
from ivr.durable.calls import call_events, missing
from ivr.durable.record import read_cel, read_queue_log


def cel_line(**fields: str) -> str:
    base = {"eventtype": "", "eventenum": "", "userdeftype": "", "eventtime": "",
            "channame": "PJSIP/anonymous-00000000", "appname": "", "appdata": "",
            "uniqueid": "100.0", "linkedid": "100.0", "eventextra": ""}
    return json.dumps(base | fields) + "\n"


STEP = "Kind: call_arrived|Line: main|Mode: ivr|Caller: 13800138000|At: 100.250000"


def test_corrupt_and_unfinished_lines_are_skipped_and_counted(tmp_path: Path) -> None:
    path = tmp_path / "cel.json"
    good = cel_line(eventtype="HotlineJournal", eventenum="USER_DEFINED",
                    userdeftype="HotlineJournal", eventtime="100.260000",
                    eventextra=json.dumps({"extra": STEP}))
    path.write_text(good + '{"eventtype": "HANG\n' + "garbage\n" + good[:40])
    chunk = read_cel(path, 0)
    assert len(chunk.rows) == 1 and chunk.bad == 2
    assert chunk.end == len(path.read_bytes()) - 40  # the unfinished line is read later


def test_a_queue_log_line_without_an_event_is_skipped(tmp_path: Path) -> None:
    path = tmp_path / "queue_log"
    path.write_text("100|100.0|hotline|agent1|CONNECT|2|100.1|2\nxx|broken\n")
    chunk = read_queue_log(path, 0)
    assert [row.event for row in chunk.rows] == ["CONNECT"] and chunk.bad == 1


def test_a_step_from_cel_has_the_key_of_its_live_twin(tmp_path: Path) -> None:
    path = tmp_path / "cel.json"
    path.write_text(cel_line(eventtype="HotlineJournal", eventenum="USER_DEFINED",
                             userdeftype="HotlineJournal", eventtime="100.260000",
                             eventextra=json.dumps({"extra": STEP})))
    durable = call_events("100.0", read_cel(path, 0).rows, [])
    live = AmiTranslator().translate({
        "Event": "UserEvent", "UserEvent": "HotlineJournal", "Timestamp": "100.270000",
        "Linkedid": "100.0", "Uniqueid": "100.0", "Kind": "call_arrived", "Line": "main",
        "Mode": "ivr", "Caller": "13800138000", "At": "100.250000",
    })
    assert live is not None and [e.key for e in durable] == [live.key]
    assert durable[0].source == "cel" and live.source == "ami"
    assert missing(durable, [live]) == []
    assert missing(durable, []) == durable


def test_a_call_with_no_journal_step_is_no_hotline_call(tmp_path: Path) -> None:
    path = tmp_path / "cel.json"
    path.write_text(cel_line(eventtype="HANGUP", eventenum="HANGUP", eventtime="101.0",
                             eventextra='{"hangupcause":16}'))
    assert call_events("100.0", read_cel(path, 0).rows, []) == []


def test_the_callers_hangup_is_the_calls_end(tmp_path: Path) -> None:
    path = tmp_path / "cel.json"
    step = cel_line(eventtype="HotlineJournal", eventenum="USER_DEFINED",
                    userdeftype="HotlineJournal", eventtime="100.26",
                    eventextra=json.dumps({"extra": STEP}))
    path.write_text(step + cel_line(eventtype="HANGUP", eventenum="HANGUP",
                                    eventtime="101.5", eventextra='{"hangupcause":16}'))
    events = call_events("100.0", read_cel(path, 0).rows, [])
    ended = [e for e in events if e.kind is EventKind.call_ended]
    assert len(ended) == 1 and ended[0].data == {"cause": "16"}


def step_line(step: str, at: str) -> str:
    return cel_line(eventtype="HotlineJournal", eventenum="USER_DEFINED",
                    userdeftype="HotlineJournal", eventtime=at,
                    eventextra=json.dumps({"extra": step}))


def voicemail_call(path: Path, message_bytes: int) -> list[EventKind]:
    path.write_text(
        step_line(STEP, "100.26")
        + step_line("Kind: voicemail_recording|Line: main|TalkDetect: 1|At: 104.0", "104.0")
        + step_line(f"Kind: voicemail_recorded|Line: main|File: /v/1.wav|Bytes: "
                    f"{message_bytes}|Urgent: 0|At: 111.0", "111.0"))
    return [e.kind for e in call_events("100.0", read_cel(path, 0).rows, [])]


def test_a_message_with_sound_in_it_is_the_talk_asterisk_detected(tmp_path: Path) -> None:
    """TALK_DETECT reports talking from the first voice frame read after the beep, and
    Record writes every such frame: a message with sound is a voicemail with speech."""
    kinds = voicemail_call(tmp_path / "cel.json", 44 + 16000 * 6)
    assert kinds.count(EventKind.voicemail_speech) == 1


def test_an_empty_message_is_no_talk(tmp_path: Path) -> None:
    kinds = voicemail_call(tmp_path / "cel.json", 44)
    assert EventKind.voicemail_speech not in kinds


def test_an_agent_leg_the_queue_never_rang_is_no_ring_attempt(tmp_path: Path) -> None:
    """A leg whose call failed at once (no media port) is in CEL, but AMI never said
    AgentCalled: the record must not invent a ring attempt for it."""
    path = tmp_path / "cel.json"
    caller = {"uniqueid": "100.0", "linkedid": "100.0"}
    failed = {"uniqueid": "100.1", "linkedid": "100.0", "channame": "PJSIP/agent1-00000001"}
    rung = {"uniqueid": "100.2", "linkedid": "100.0", "channame": "PJSIP/agent2-00000002"}
    path.write_text(
        step_line(STEP, "100.26")
        + cel_line(eventtype="APP_START", eventtime="101.0", appname="Queue",
                   appdata="hotline,,,,60", **caller)
        + cel_line(eventtype="CHAN_START", eventtime="101.10", **failed)
        + cel_line(eventtype="HANGUP", eventtime="101.11",
                   eventextra=json.dumps({"hangupcause": 58}), **failed)
        + cel_line(eventtype="CHAN_START", eventtime="101.20", **rung)
        + cel_line(eventtype="HANGUP", eventtime="104.20",
                   eventextra=json.dumps({"hangupcause": 16}), **rung)
        + cel_line(eventtype="HANGUP", eventtime="104.21", **caller))
    queue = tmp_path / "queue_log"
    queue.write_text("104|100.0|hotline|agent2|RINGCANCELED|3000\n")
    events = call_events("100.0", read_cel(path, 0).rows, read_queue_log(queue, 0).rows)
    rang = [e.data["leg"] for e in events if e.kind is EventKind.agent_ring_started]
    assert rang == ["100.2"]
