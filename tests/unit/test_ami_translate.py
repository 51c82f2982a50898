"""AMI events become journal events; busy agents are told from ring-outs by cause 17."""

from __future__ import annotations

from datetime import UTC, datetime

from ivr.ami.translate import AmiTranslator
from ivr.domain.events import EventKind

BASE = {"Timestamp": "1795422000.250000", "Linkedid": "1795421999.1"}


def test_user_event_becomes_the_journal_kind_it_names() -> None:
    event = AmiTranslator().translate(
        {**BASE, "Event": "UserEvent", "UserEvent": "HotlineJournal", "Kind": "call_arrived",
         "Line": "main", "Mode": "ivr", "Caller": "13800138000", "Uniqueid": "1795421999.1"}
    )
    assert event is not None
    assert event.kind is EventKind.call_arrived
    assert event.linkedid == "1795421999.1"
    assert event.at == datetime.fromtimestamp(1795422000.25, UTC)
    assert event.data == {"line": "main", "mode": "ivr", "caller": "13800138000"}


def test_foreign_user_events_and_unknown_kinds_are_ignored() -> None:
    translator = AmiTranslator()
    assert translator.translate({**BASE, "Event": "UserEvent", "UserEvent": "Other"}) is None
    assert translator.translate(
        {**BASE, "Event": "UserEvent", "UserEvent": "HotlineJournal", "Kind": "nonsense"}
    ) is None
    assert translator.translate({**BASE, "Event": "Newexten"}) is None


def test_busy_agent_is_told_from_ring_out_by_the_hangup_cause() -> None:
    translator = AmiTranslator()
    assert translator.translate(
        {**BASE, "Event": "Hangup", "Uniqueid": "1795422000.2", "Cause": "17"}
    ) is None  # an agent leg: remembered, not a call end
    busy = translator.translate(
        {**BASE, "Event": "AgentRingNoAnswer", "DestUniqueid": "1795422000.2",
         "MemberName": "agent1", "RingTime": "0"}
    )
    rang_out = translator.translate(
        {**BASE, "Event": "AgentRingNoAnswer", "DestUniqueid": "1795422000.3",
         "MemberName": "agent2", "RingTime": "15"}
    )
    assert busy is not None and busy.data["result"] == "busy"
    assert rang_out is not None and rang_out.data["result"] == "noanswer"
    assert rang_out.data["ring_seconds"] == 15.0


def test_the_caller_channel_hangup_ends_the_call() -> None:
    event = AmiTranslator().translate(
        {**BASE, "Event": "Hangup", "Uniqueid": "1795421999.1", "Cause": "16"}
    )
    assert event is not None and event.kind is EventKind.call_ended
    assert event.data["cause"] == "16"


def test_on_call_dial_status_maps_to_ring_results() -> None:
    translator = AmiTranslator()

    def result(status: str, cause: str = "") -> object:
        event = translator.translate(
            {**BASE, "Event": "UserEvent", "UserEvent": "HotlineJournal",
             "Kind": "oncall_ring_ended", "Line": "main", "Result": status, "Cause": cause}
        )
        assert event is not None
        return event.data["result"]

    assert result("NOANSWER") == "noanswer"
    assert result("BUSY") == "busy"
    assert result("ANSWER") == "answered"
    assert result("CHANUNAVAIL", "20") == "failed"
    assert result("CONGESTION", "17") == "busy"
    assert result("CONGESTION", "34") == "failed"
    # the caller left while it rang: cancelled, not a ring-out (one table, ivr.domain.causes)
    assert result("CANCEL") == "cancelled"


def test_voicemail_length_comes_from_the_wav_size() -> None:
    event = AmiTranslator().translate(
        {**BASE, "Event": "UserEvent", "UserEvent": "HotlineJournal",
         "Kind": "voicemail_recorded", "Line": "main", "File": "/x.wav", "Bytes": "96044"}
    )
    assert event is not None and event.data["seconds"] == 6.0


def test_the_same_ami_event_twice_has_the_same_key() -> None:
    raw = {**BASE, "Event": "AgentConnect", "MemberName": "agent1", "HoldTime": "7",
           "RingTime": "7", "DestUniqueid": "1795422000.2"}
    first, second = AmiTranslator().translate(raw), AmiTranslator().translate(raw)
    assert first is not None and second is not None and first.key == second.key
