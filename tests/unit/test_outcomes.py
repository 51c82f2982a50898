"""Journal events -> one call record with exactly one outcome (SPEC §3).

Every outcome, every abandon place, duplicates, out-of-order arrival, night transfers,
and how each call counts in the rates. `CallScript` builds realistic event sequences;
the store and writer tests use it too.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from ivr.domain.events import EventKind, JournalEvent
from ivr.domain.outcomes import fold
from ivr.domain.record import (
    AbandonPlace,
    CountingRules,
    Counts,
    OncallResult,
    Outcome,
    normalise_caller,
)
from ivr.domain.vocabulary import LineMode

T0 = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai, a Tuesday
MODES = {"main": "ivr", "legacy": "manual"}
RULES = CountingRules(cadence_seconds=5.0, service_level_seconds=20.0, wrapup_seconds=5.0)


class CallScript:
    """A call's events, written as the sources would report them."""

    def __init__(
        self, linkedid: str = "1762135200.1", line: str = "main", start: datetime = T0
    ) -> None:
        self.linkedid = linkedid
        self.line = line
        self.start = start
        self.events: list[JournalEvent] = []

    def at(
        self, offset: float, kind: EventKind, source: str = "ami", /, **data: Any
    ) -> CallScript:
        self.events.append(
            JournalEvent(
                linkedid=self.linkedid,
                kind=kind,
                at=self.start + timedelta(seconds=offset),
                source=source,
                data=data,
            )
        )
        return self

    # the usual openings

    def arrives(self, caller: str = "13800001111") -> CallScript:
        mode = MODES.get(self.line, "ivr")
        self.at(0, EventKind.call_arrived, line=self.line, mode=mode, caller=caller)
        if mode == "ivr":
            self.at(0.05, EventKind.ivr_answered, line=self.line)
        return self

    def menu(self, key: str = "2", service: str = "repair", after: float = 8.0) -> CallScript:
        self.at(0.2, EventKind.prompt_played, "ari", line=self.line, prompt="greeting,menu")
        return self.at(after, EventKind.menu_choice, "ari", key=key, service=service, attempt=1)

    def asks_for_person(self, at: float = 10.0, target: str = "queue") -> CallScript:
        self.at(at, EventKind.human_requested, line=self.line, service="repair", target=target)
        if target == "queue":
            self.at(at + 2, EventKind.queue_joined, queue="hotline", position=1)
        return self

    def ends(self, at: float, cause: str = "16") -> CallScript:
        return self.at(at, EventKind.call_ended, cause=cause)


def answered_by_agent(linkedid: str = "1762135200.1", ring: float = 7.0, **kw: Any) -> CallScript:
    """Menu key at 10 s, "please hold" until the queue entry at 12 s, the agent's phone
    rings from 12 s for `ring` seconds, then two minutes of talk."""
    call = CallScript(linkedid, **kw).arrives().menu().asks_for_person(at=10.0)
    call.at(12.0, EventKind.agent_ring_started, agent="agent1", leg="a1")
    call.at(12.0 + ring, EventKind.agent_answered, agent="agent1", leg="a1",
            hold_seconds=ring)
    return call.ends(12.0 + ring + 120)


def night_transfer(linkedid: str = "1762135200.2", answered: bool = True) -> CallScript:
    call = CallScript(linkedid).arrives()
    call.at(0.1, EventKind.off_hours, "ari", line="main")
    call.at(6.0, EventKind.menu_choice, "ari", key="1", service="emergency", attempt=1)
    call.asks_for_person(at=6.2, target="oncall")
    call.at(6.3, EventKind.oncall_ring_started, line="main", person="Li Lei", order="1")
    call.at(26.3, EventKind.oncall_ring_ended, line="main", person="Li Lei", order="1",
            result="noanswer", cause="19")
    call.at(26.4, EventKind.oncall_ring_started, line="main", person="Zhao Min", order="2")
    if answered:
        call.at(33.0, EventKind.oncall_answered, line="main", person="Zhao Min")
        call.at(300.0, EventKind.oncall_ring_ended, line="main", person="Zhao Min", order="2",
                result="answered")
        return call.ends(300.1)
    call.at(46.4, EventKind.oncall_ring_ended, line="main", person="Zhao Min", order="2",
            result="busy", cause="17")
    call.at(46.5, EventKind.oncall_chain_failed, line="main")
    call.at(46.6, EventKind.voicemail_started, line="main", urgent="1")
    return call


def folded(call: CallScript | list[JournalEvent]) -> Any:
    events = call.events if isinstance(call, CallScript) else call
    return fold(events, MODES, RULES)


# -- outcomes -----------------------------------------------------------------------------


def test_an_agent_answer_records_rings_queue_time_speed_and_handling() -> None:
    record = folded(answered_by_agent(ring=7.0))
    assert record.outcome is Outcome.answered_by_agent
    assert record.answered_by == "agent1"
    # rings of the agent's own phone: 7 s is the second ring
    assert (record.ring_seconds, record.rings, record.within_three_rings) == (7.0, 2, True)
    # queue time from the queue entry (after "please hold"), speed of answer from the key
    assert record.queue_seconds == pytest.approx(7.0)
    assert record.wait_seconds == pytest.approx(9.0)
    assert record.within_service_level is True
    assert record.talk_seconds == pytest.approx(120.0)
    assert record.handling_seconds == pytest.approx(125.0)  # + 5 s wrap-up
    assert record.service == "repair"
    assert [(a.who, a.role, a.result) for a in record.attempts] == [
        ("agent1", "agent", "answered")
    ]
    assert record.counts_as == Counts(
        offered=True, ivr_answered=True, human_requested=True, answered_by_person=True,
        answered_within_three_rings=True, unanswered=False, busy=False, queued=True,
        answered_in_service_level=True,
    )
    assert record.ring_attempts() == (1, 1)
    assert not record.callback_needed


@pytest.mark.parametrize(
    ("ring", "rings", "within"),
    [(0.0, 1, True), (4.999, 1, True), (5.0, 2, True), (7.0, 2, True), (14.999, 3, True),
     (15.0, 4, False), (16.0, 4, False), (25.0, 6, False), (60.0, 13, False)],
)
def test_rings_are_counted_on_the_answering_phone(ring: float, rings: int, within: bool) -> None:
    record = folded(answered_by_agent(ring=ring))
    assert (record.rings, record.within_three_rings) == (rings, within)
    assert record.counts_as.answered_within_three_rings is within
    assert record.ring_attempts() == (1, int(within))


@pytest.mark.parametrize(("queued", "in_level"), [(19.9, True), (19.999, True), (20.0, False)])
def test_the_service_level_counts_queue_time_below_its_seconds(
    queued: float, in_level: bool
) -> None:
    record = folded(answered_by_agent(ring=queued))
    assert record.queue_seconds == pytest.approx(queued)
    assert record.within_service_level is in_level
    assert record.counts_as.answered_in_service_level is in_level
    assert record.counts_as.queued


def test_an_abandon_in_the_queue_counts_its_queue_time_against_the_service_level() -> None:
    call = CallScript().arrives().menu().asks_for_person(at=10.0)
    call.at(12.0, EventKind.agent_ring_started, agent="agent1", leg="a1")
    call.at(20.5, EventKind.queue_abandoned, position=1, wait_seconds=8)
    record = folded(call.ends(20.5))
    assert record.outcome is Outcome.abandoned
    assert record.queue_seconds == pytest.approx(8.5)
    assert record.within_service_level is False
    assert record.counts_as.queued and not record.counts_as.answered_in_service_level
    assert record.ring_attempts() == (0, 0)  # the phone rang 8.5 s: not judged


def test_a_full_line_is_busy_offered_and_not_unanswered() -> None:
    call = CallScript(line="main")
    call.at(0, EventKind.call_arrived, line="main", mode="ivr", caller="139")
    call.at(0.01, EventKind.call_rejected_busy, line="main").ends(0.5, cause="17")
    record = folded(call)
    assert record.outcome is Outcome.busy
    assert record.counts_as.offered
    assert record.counts_as.busy
    # 无人应答 is nobody answered and not put through: a busy tone is judged apart
    assert not record.counts_as.unanswered
    assert not record.counts_as.ivr_answered


def test_an_on_call_answer_at_night_is_answered_by_a_person() -> None:
    record = folded(night_transfer(answered=True))
    assert record.outcome is Outcome.answered_by_oncall
    assert record.oncall_result is OncallResult.answered
    assert record.answered_by == "Zhao Min"
    assert record.human_target == "oncall"
    assert record.wait_seconds == pytest.approx(26.8)
    assert [(a.who, a.result) for a in record.attempts] == [
        ("Li Lei", "noanswer"), ("Zhao Min", "answered")
    ]
    # the ring ended at the answer, not when Dial returned after the conversation
    assert record.attempts[1].ring_seconds == pytest.approx(6.6)
    # rings of Zhao Min's phone, not the caller's whole wait
    assert (record.ring_seconds, record.rings) == (pytest.approx(6.6), 2)
    assert record.queue_seconds == pytest.approx(26.7)  # from the chain's first dial
    # Li Lei's phone rang out: that attempt broke the three-rings rule
    assert record.ring_attempts() == (2, 1)
    assert record.counts_as.human_requested and record.counts_as.answered_by_person


def test_the_second_on_call_answering_after_3_s_is_one_ring_behind_a_20_s_ring_out() -> None:
    call = CallScript().arrives()
    call.at(0.1, EventKind.off_hours, "ari", line="main")
    call.at(6.0, EventKind.menu_choice, "ari", key="1", service="emergency", attempt=1)
    call.asks_for_person(at=6.2, target="oncall")
    call.at(6.3, EventKind.oncall_ring_started, line="main", person="oncall1", order="1")
    call.at(26.3, EventKind.oncall_ring_ended, line="main", person="oncall1", order="1",
            result="NOANSWER", cause="19")
    call.at(26.4, EventKind.oncall_ring_started, line="main", person="oncall2", order="2")
    call.at(29.4, EventKind.oncall_answered, line="main", person="oncall2")
    record = folded(call.ends(90.0))
    assert record.outcome is Outcome.answered_by_oncall
    assert (record.rings, record.within_three_rings) == (1, True)
    assert record.ring_attempts() == (2, 1)
    assert record.handling_seconds == pytest.approx(60.6)  # no wrap-up for on-call staff


def test_a_failed_emergency_chain_then_a_message_is_a_voicemail_owed_a_callback() -> None:
    call = night_transfer(answered=False)
    call.at(60.0, EventKind.voicemail_recorded, line="main", file="/vm/1.wav", seconds=9.5,
            urgent="1")
    record = folded(call.ends(60.1))
    assert record.outcome is Outcome.voicemail
    assert record.oncall_result is OncallResult.failed
    assert (record.voicemail_file, record.voicemail_seconds) == ("/vm/1.wav", 9.5)
    assert record.voicemail_urgent
    assert record.callback_needed
    assert not record.counts_as.unanswered
    assert record.counts_as.human_requested and not record.counts_as.answered_by_person


def test_a_failed_emergency_chain_without_a_message_is_abandoned_at_the_prompt() -> None:
    record = folded(night_transfer(answered=False).ends(50.0))
    assert record.outcome is Outcome.abandoned
    assert record.abandon_place is AbandonPlace.voicemail_prompt
    assert record.oncall_result is OncallResult.failed
    assert record.callback_needed
    assert record.abandon_wait_seconds == pytest.approx(50.0 - 6.2)


def test_hanging_up_while_on_call_staff_are_ringing_is_abandoned_at_oncall() -> None:
    call = CallScript().arrives()
    call.at(0.1, EventKind.off_hours, "ari").at(4, EventKind.menu_choice, key="1",
                                                 service="emergency")
    call.asks_for_person(at=4.1, target="oncall")
    call.at(4.2, EventKind.oncall_ring_started, person="Li Lei", order="1")
    record = folded(call.ends(11.0))
    assert record.outcome is Outcome.abandoned
    assert record.abandon_place is AbandonPlace.oncall
    assert record.oncall_result is OncallResult.abandoned
    assert record.abandon_wait_seconds == pytest.approx(6.9)
    assert [(a.who, a.result) for a in record.attempts] == [("Li Lei", "cancelled")]
    assert record.callback_needed


def test_an_off_hours_message_is_a_voicemail() -> None:
    call = CallScript().arrives()
    call.at(0.1, EventKind.off_hours, "ari")
    call.at(20.0, EventKind.voicemail_started, urgent="0")
    call.at(45.0, EventKind.voicemail_recorded, file="/vm/2.wav", seconds=17.3, urgent="0")
    record = folded(call.ends(45.0))
    assert record.outcome is Outcome.voicemail
    assert record.off_hours
    assert record.callback_needed
    assert not record.counts_as.human_requested
    assert not record.counts_as.unanswered


def test_back_to_the_menu_after_the_announcement_is_judged_by_what_follows() -> None:
    call = CallScript().arrives().menu(key="9", service="announcement")
    call.at(30.0, EventKind.announcement_completed, "ari")
    call.at(31.0, EventKind.prompt_played, "ari", prompt="menu")
    call.at(33.0, EventKind.caller_hung_up, "ari", place="menu")
    record = folded(call.ends(33.0))
    assert record.outcome is Outcome.abandoned
    assert record.abandon_place is AbandonPlace.menu


def test_hanging_up_during_the_voicemail_prompt_is_abandoned_there() -> None:
    call = CallScript().arrives()
    call.at(0.1, EventKind.off_hours, "ari")
    call.at(20.0, EventKind.voicemail_started, urgent="0")
    call.at(21.0, EventKind.voicemail_recorded, file="/vm/3.wav", urgent="0")  # no bytes
    record = folded(call.ends(21.0))
    assert record.outcome is Outcome.abandoned
    assert record.abandon_place is AbandonPlace.voicemail_prompt
    assert record.voicemail_file is None
    assert not record.callback_needed  # never asked for a person, never reached the beep


def test_a_silent_caller_past_the_beep_is_an_empty_voicemail_owed_a_callback() -> None:
    call = CallScript().arrives()
    call.at(0.1, EventKind.off_hours, "ari")
    call.at(20.0, EventKind.voicemail_started, urgent="0")
    call.at(23.0, EventKind.voicemail_recording, talkdetect="1")
    call.at(27.0, EventKind.voicemail_recorded, file="/vm/4.wav", seconds=1.0, urgent="0")
    record = folded(call.ends(27.0))
    assert record.outcome is Outcome.voicemail
    assert record.abandon_place is None
    assert record.voicemail_spoken is False and record.voicemail_empty
    assert record.callback_needed  # the number is known: call back
    assert not record.counts_as.unanswered


def test_talk_after_the_beep_is_a_message() -> None:
    call = CallScript().arrives()
    call.at(0.1, EventKind.off_hours, "ari")
    call.at(20.0, EventKind.voicemail_started, urgent="0")
    call.at(23.0, EventKind.voicemail_recording, talkdetect="1")
    call.at(23.4, EventKind.voicemail_speech)
    call.at(30.0, EventKind.voicemail_recorded, file="/vm/5.wav", seconds=6.5, urgent="0")
    record = folded(call.ends(30.0))
    assert record.outcome is Outcome.voicemail
    assert record.voicemail_spoken is True and not record.voicemail_empty


def test_without_talk_detection_a_voicemail_is_empty_when_nothing_was_recorded() -> None:
    call = CallScript().arrives()
    call.at(0.1, EventKind.off_hours, "ari")
    call.at(23.0, EventKind.voicemail_recording)
    record = folded(call.ends(23.5))
    assert record.outcome is Outcome.voicemail
    assert record.voicemail_spoken is None and record.voicemail_empty


def test_an_announcement_heard_to_the_end_is_ivr_completed() -> None:
    call = CallScript().arrives().menu(key="9", service="announcement")
    call.at(30.0, EventKind.announcement_completed, "ari")
    call.at(31.0, EventKind.caller_hung_up, "ari", place="menu")
    record = folded(call.ends(31.0))
    assert record.outcome is Outcome.ivr_completed
    assert record.abandon_place is None
    assert not record.counts_as.human_requested
    assert not record.callback_needed


@pytest.mark.parametrize(
    ("script", "place", "waited"),
    [
        (lambda c: c.menu(after=99).at(4.0, EventKind.caller_hung_up, "ari", place="menu"),
         AbandonPlace.menu, 4.0),
        (lambda c: c.at(0.1, EventKind.off_hours, "ari")
         .at(3.0, EventKind.caller_hung_up, "ari", place="ivr"), AbandonPlace.ivr, 3.0),
        (lambda c: c.menu().asks_for_person(at=10.0)
         .at(12.5, EventKind.agent_ring_started, agent="Wang Fang", leg="a1")
         .at(40.0, EventKind.queue_abandoned, position=1, wait_seconds=28), AbandonPlace.queue,
         30.0),
        (lambda c: c.menu().asks_for_person(at=10.0), AbandonPlace.queue, 50.0),
        (lambda c: c.at(0.1, EventKind.off_hours, "ari")
         .at(6.0, EventKind.voicemail_started, urgent="0"), AbandonPlace.voicemail_prompt, 60.0),
    ],
    ids=["menu", "ivr", "queue", "queue-no-ami-abandon", "voicemail-prompt"],
)
def test_abandon_places_and_waits(script: Any, place: AbandonPlace, waited: float) -> None:
    call = CallScript().arrives()
    script(call)
    record = folded(call.ends(60.0))
    assert record.outcome is Outcome.abandoned
    assert record.abandon_place is place
    assert record.abandon_wait_seconds == pytest.approx(waited)
    assert record.callback_needed == (place is AbandonPlace.queue)


def test_an_abandon_in_the_queue_counts_against_the_transfer_and_three_ring_rates() -> None:
    call = CallScript().arrives().menu().asks_for_person(at=10.0)
    record = folded(call.at(20.0, EventKind.queue_abandoned).ends(20.1))
    counts = record.counts_as
    assert counts.human_requested and not counts.answered_by_person
    assert not counts.answered_within_three_rings
    assert counts.ivr_answered and not counts.unanswered
    assert [a for a in record.attempts] == []


def test_a_queue_that_gives_up_with_nothing_after_it_is_failed() -> None:
    call = CallScript().arrives().menu().asks_for_person(at=10.0)
    call.at(310.0, EventKind.queue_left, status="TIMEOUT")
    record = folded(call.ends(310.1))
    assert record.outcome is Outcome.failed
    assert record.abandon_place is None


def test_a_network_failure_cause_is_failed() -> None:
    record = folded(CallScript().arrives().menu().ends(9.0, cause="34"))
    assert record.outcome is Outcome.failed
    assert record.end_cause == "34"


def test_a_ring_no_answer_then_another_agent_answers() -> None:
    call = CallScript().arrives().menu().asks_for_person(at=10.0)
    call.at(12.0, EventKind.agent_ring_started, agent="Wang Fang", leg="a1")
    call.at(27.0, EventKind.agent_ring_ended, agent="Wang Fang", leg="a1", result="noanswer",
            ring_seconds=15)
    call.at(28.0, EventKind.agent_ring_started, agent="Chen Jie", leg="a2")
    call.at(31.0, EventKind.agent_answered, agent="Chen Jie", leg="a2", hold_seconds=19)
    record = folded(call.ends(200.0))
    assert [(a.who, a.result, a.ring_seconds) for a in record.attempts] == [
        ("Wang Fang", "noanswer", 15.0), ("Chen Jie", "answered", 3.0)
    ]
    # the caller waited 21 s; Chen Jie's phone rang 3 s (the first ring), and Wang Fang's
    # ring-out broke the rule
    assert (record.wait_seconds, record.rings) == (21.0, 1)
    assert record.ring_attempts() == (2, 1)


def test_ringall_phones_that_did_not_answer_are_cancelled_at_the_answer() -> None:
    call = CallScript().arrives().menu().asks_for_person(at=10.0)
    call.at(12.0, EventKind.agent_ring_started, agent="Wang Fang", leg="a1")
    call.at(12.0, EventKind.agent_ring_started, agent="Chen Jie", leg="a2")
    call.at(16.0, EventKind.agent_answered, agent="Chen Jie", leg="a2")
    record = folded(call.ends(100.0))
    results = {a.who: (a.result, a.ring_seconds) for a in record.attempts}
    assert results == {"Wang Fang": ("cancelled", 4.0), "Chen Jie": ("answered", 4.0)}


def test_a_ring_end_without_its_start_is_reconstructed_from_the_ring_time() -> None:
    call = CallScript().arrives().menu().asks_for_person(at=10.0)
    call.at(27.0, EventKind.agent_ring_ended, agent="Wang Fang", result="busy", ring_seconds=0)
    call.at(30.0, EventKind.queue_abandoned)
    record = folded(call.ends(30.0))
    assert [(a.who, a.result, a.ring_seconds) for a in record.attempts] == [
        ("Wang Fang", "busy", 0.0)
    ]


def test_a_manual_line_in_hours_goes_straight_to_a_person() -> None:
    call = CallScript(line="legacy").arrives().asks_for_person(at=0.5)
    call.at(3.0, EventKind.agent_answered, agent="Wang Fang")
    record = folded(call.ends(90.0))
    assert record.mode is LineMode.manual
    assert record.outcome is Outcome.answered_by_agent
    assert record.ivr_answered_at is None
    assert record.counts_as.answered_by_person and not record.counts_as.ivr_answered


def test_a_manual_line_caller_who_gives_up_in_the_queue_was_answered_by_no_one() -> None:
    call = CallScript(line="legacy").arrives().asks_for_person(at=0.5)
    record = folded(call.at(30.0, EventKind.queue_abandoned).ends(30.0))
    assert record.outcome is Outcome.abandoned
    assert record.counts_as.unanswered


def test_a_manual_line_off_hours_is_answered_by_the_dialplan_prompt() -> None:
    call = CallScript(line="legacy").arrives()
    call.at(0.2, EventKind.ivr_answered, line="legacy", via="manual")
    call.at(0.3, EventKind.off_hours)
    record = folded(call.at(8.0, EventKind.voicemail_started).ends(9.0))
    assert record.outcome is Outcome.abandoned
    assert not record.counts_as.unanswered
    assert not record.counts_as.human_requested


def test_the_line_mode_comes_from_the_config_when_the_events_do_not_say() -> None:
    call = CallScript(line="legacy")
    call.at(0, EventKind.call_arrived, line="legacy", caller="139")
    assert folded(call.ends(3)).mode is LineMode.manual
    assert fold(call.events, {}, RULES).mode is LineMode.ivr


def test_a_call_without_its_end_is_in_progress_and_counts_nowhere_yet() -> None:
    record = folded(CallScript().arrives().menu().asks_for_person(at=10.0))
    assert record.outcome is None and record.in_progress
    assert record.counts_as == Counts()
    assert record.abandon_place is None


def test_a_call_end_marked_lost_closes_the_call_and_a_real_end_wins() -> None:
    call = CallScript().arrives().menu().asks_for_person(at=10.0)
    call.at(12.0, EventKind.call_ended, "journal", cause="lost", lost=True)
    lost = folded(call)
    assert (lost.outcome, lost.end_cause, lost.abandon_place) == (
        Outcome.abandoned, "lost", AbandonPlace.queue
    )
    real = folded(call.at(25.0, EventKind.agent_answered, agent="Wang Fang").ends(90.0))
    assert (real.outcome, real.end_cause) == (Outcome.answered_by_agent, "16")


def test_a_channel_that_reached_no_line_counts_nowhere() -> None:
    call = CallScript(line="")
    call.at(0, EventKind.call_ended, cause="1")
    record = folded(call)
    assert record.line == ""
    assert record.outcome is Outcome.failed


def test_a_person_answering_a_call_whose_request_was_lost_still_counts_as_requested() -> None:
    call = CallScript().arrives()
    call.at(40.0, EventKind.agent_answered, agent="Wang Fang", hold_seconds=12)
    record = folded(call.ends(100.0))
    assert record.counts_as.human_requested
    assert record.wait_seconds == pytest.approx(12.0)
    assert record.human_target == "queue"


# -- arrival order, duplicates, identity ----------------------------------------------------


@pytest.mark.parametrize("seed", range(8))
def test_duplicated_and_shuffled_events_fold_to_the_same_record(seed: int) -> None:
    for script in (answered_by_agent(), night_transfer(), night_transfer(answered=False)):
        events = script.events
        rng = random.Random(seed)
        noisy = events + rng.sample(events, k=len(events) // 2)
        rng.shuffle(noisy)
        assert folded(noisy) == folded(events)


def test_the_controller_and_the_dialplan_both_reporting_the_answer_keeps_the_first() -> None:
    call = CallScript().arrives()
    call.at(0.4, EventKind.ivr_answered, "ari", line="main")
    record = folded(call.ends(5))
    assert record.ivr_answered_at == T0 + timedelta(seconds=0.05)
    assert record.event_count == 4


def test_events_of_two_calls_cannot_be_folded_together() -> None:
    events = answered_by_agent("a").events + answered_by_agent("b").events
    with pytest.raises(ValueError, match="several calls"):
        fold(events, MODES)


def test_no_events_no_record() -> None:
    with pytest.raises(ValueError, match="at least one"):
        fold([], MODES)


def test_a_call_spanning_midnight_and_the_month_end_belongs_to_its_arrival() -> None:
    # 2026-11-30 23:59:50 in Shanghai, answered in December
    start = datetime(2026, 11, 30, 15, 59, 50, tzinfo=UTC)
    record = folded(answered_by_agent(start=start, ring=20.0))
    assert record.arrived_at == start
    assert record.ended_at is not None
    assert record.ended_at.astimezone(ZoneInfo("Asia/Shanghai")).date().isoformat() == "2026-12-01"
    assert record.queue_seconds == pytest.approx(20.0)
    assert record.wait_seconds == pytest.approx(22.0)


def test_events_reported_at_the_same_instant_are_taken_in_call_order() -> None:
    call = CallScript()
    call.at(5, EventKind.call_ended)
    call.at(5, EventKind.ivr_answered, line="main")
    call.at(5, EventKind.call_arrived, line="main", mode="ivr")
    call.at(5, EventKind.announcement_completed)
    assert folded(call).outcome is Outcome.ivr_completed


# -- caller numbers and hostile input ------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("+86 (138) 0000-1111", "+8613800001111"),
        ("13800001111", "13800001111"),
        ("anonymous", ""),
        ("", ""),
        (None, ""),
        ("9" * 500, "9" * 32),
        ("1380\x000001111<script>", "13800001111"),
    ],
)
def test_caller_numbers_are_normalised_and_length_limited(raw: Any, clean: str) -> None:
    assert normalise_caller(raw) == clean


def test_odd_data_from_the_sources_does_not_break_the_fold() -> None:
    call = CallScript()
    call.at(0, EventKind.call_arrived, line="main", mode="weird", caller="x" * 10_000)
    call.at(1, EventKind.menu_choice, key="#" * 100, service="\x07" + "s" * 500, attempt="x")
    call.at(2, EventKind.agent_answered, agent="A" * 1000, hold_seconds="NaN")
    call.at(3, EventKind.voicemail_recorded, seconds="inf")
    record = folded(call.ends(4, cause=""))
    assert record.mode is LineMode.ivr
    assert record.caller == ""
    assert len(record.answered_by) == 64
    assert record.menu_choices[0].service == "s" * 64  # the bell character dropped
    assert record.outcome is Outcome.answered_by_agent
    assert record.end_cause is None


def test_the_post_call_survey_is_kept_and_is_not_talk() -> None:
    call = CallScript("1762135200.9").arrives().menu().asks_for_person(at=10.0)
    call.at(12.0, EventKind.agent_ring_started, agent="agent1", leg="a1")
    call.at(15.0, EventKind.agent_answered, agent="agent1", leg="a1", hold_seconds=3.0)
    call.at(75.0, EventKind.survey_offered, line="main")  # the agent hung up
    call.at(80.0, EventKind.survey_answered, line="main", score="2")
    record = fold(call.ends(82.0).events)
    assert record.outcome is Outcome.answered_by_agent
    assert record.survey_score == 2
    assert record.talk_seconds == pytest.approx(60.0)  # answer to the agent's hang-up
    unrated = CallScript("1762135200.10").arrives().menu().asks_for_person(at=10.0)
    unrated.at(15.0, EventKind.agent_answered, agent="agent1", leg="a1", hold_seconds=3.0)
    unrated.at(75.0, EventKind.survey_offered, line="main")
    unrated.at(76.0, EventKind.survey_answered, line="main", score="7")  # not 1-3
    assert fold(unrated.ends(82.0).events).survey_score is None
