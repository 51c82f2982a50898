"""Asterisk's own durable record (CEL + queue_log) tells each call as the live path did:
the dialplan's journal steps rebuilt from CEL have the very keys of their live twins
(UserEvent over AMI), and the channel and queue facts (agent leg ring and answer, the
caller's end) are recognised as the ones the journal holds. A call the live path saw
whole gains nothing from reconciliation."""

from __future__ import annotations

from collections import defaultdict

import pytest

from ivr.domain.events import EventKind
from ivr.domain.record import Outcome
from ivr.durable.calls import CEL, call_events, identity, missing
from ivr.durable.record import QueueLogRow, read_cel, read_queue_log
from tests.integration.harness import HotlineUnderTest
from tests.integration.test_journal_calls import agent_answers_after

pytestmark = pytest.mark.asterisk


async def test_a_live_call_rebuilt_from_the_record_matches_the_journal_event_for_event(
    fresh: HotlineUnderTest,
) -> None:
    record = await agent_answers_after(fresh, 2.0, "durable-keys")
    assert record.outcome is Outcome.answered_by_agent and record.rings == 1
    assert fresh.journal is not None and fresh.stack.instance is not None
    instance = fresh.stack.instance
    held = (await fresh.journal.store.events_of_calls([record.linkedid]))[record.linkedid]
    cel = [row for row in read_cel(instance.cel_log, 0).rows if row.linkedid == record.linkedid]
    queue: dict[str, list[QueueLogRow]] = defaultdict(list)
    for row in read_queue_log(instance.queue_log, 0).rows:
        queue[row.callid].append(row)
    durable = call_events(record.linkedid, cel, queue[record.linkedid])

    steps = [e for e in durable if e.source == CEL and "line" in e.data]
    live_steps = [e for e in held if e.source == "ami" and "line" in e.data]
    assert len(steps) >= 3 and len(steps) == len(live_steps)
    # the same microsecond time, kind and data: the same natural key
    assert {e.key for e in steps} == {e.key for e in live_steps}
    kinds = {e.kind for e in durable}
    assert {EventKind.agent_ring_started, EventKind.agent_answered, EventKind.queue_joined,
            EventKind.call_ended} <= kinds
    assert {identity(e) for e in durable} <= {identity(e) for e in held}
    assert missing(durable, held) == []
    answered = next(e for e in durable if e.kind is EventKind.agent_answered)
    started = next(e for e in durable if e.kind is EventKind.agent_ring_started
                   and e.data["leg"] == answered.data["leg"])
    # the record alone times the ring as the live path did
    rang = (answered.at - started.at).total_seconds()
    assert rang == pytest.approx(record.ring_seconds, abs=0.2)
