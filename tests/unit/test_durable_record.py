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
