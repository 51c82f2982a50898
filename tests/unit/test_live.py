"""The live view follows AMI queue events: who waits, who talks, what agents do."""

from __future__ import annotations

from ivr.live import LiveState


def test_callers_wait_then_talk_then_leave() -> None:
    live = LiveState()
    live.apply({"Event": "QueueCallerJoin", "Uniqueid": "c1"})
    live.apply({"Event": "QueueCallerJoin", "Uniqueid": "c2"})
    assert live.waiting == {"c1", "c2"}
    live.apply({"Event": "AgentConnect", "Uniqueid": "c1"})
    assert live.waiting == {"c2"} and live.talking == {"c1"}
    live.apply({"Event": "QueueCallerLeave", "Uniqueid": "c2"})
    live.apply({"Event": "Hangup", "Uniqueid": "c1"})
    assert not live.waiting and not live.talking
    assert len(live.recent) == 5


def test_agents_by_state() -> None:
    live = LiveState()
    live.apply({"Event": "QueueMember", "Interface": "PJSIP/a1", "MemberName": "a1",
                "Status": "1", "Paused": "0"})
    live.apply({"Event": "QueueMember", "Interface": "PJSIP/a2", "MemberName": "a2",
                "Status": "2", "Paused": "0"})
    live.apply({"Event": "QueueMember", "Interface": "PJSIP/a3", "MemberName": "a3",
                "Status": "5", "Paused": "0"})
    live.apply({"Event": "QueueMemberPause", "Interface": "PJSIP/a1", "Paused": "1"})
    assert live.agents_by_state() == {
        "logged_in": 2, "available": 0, "busy": 1, "paused": 1, "ringing": 0
    }
