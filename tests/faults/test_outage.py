"""Issue 11, done when: `kill -9` of `hotline run` while Asterisk keeps running; the
dialplan's fallback answers two callers in hours and queues them; an agent answers each
after 2 s; `hotline run` is started again. Each call is then journaled once, from
Asterisk's own record, with the right outcome, rings and wait. Reading the whole record
again (its checkpoint lost) adds nothing."""

from __future__ import annotations

import signal
from collections import Counter

import pytest

from ivr.config import parse_config
from ivr.domain.events import EventKind
from ivr.domain.record import Outcome
from ivr.durable.reconcile import CEL_CHECKPOINT, QUEUE_LOG_CHECKPOINT
from ivr.journal.service import open_store
from ivr.journal.store import Store
from tests.integration import sipp
from tests.integration.harness import until
from tests.integration.test_lifecycle import Deployment, deployment

pytestmark = pytest.mark.asterisk
__all__ = ["deployment"]

ALL_DAY = 'consultation = [{ days = "mon-sun", start = "00:00", end = "24:00" }]'


def store_of(d: Deployment) -> Store:
    return open_store(parse_config(d.config_path.read_text(), d.config_path))


async def test_calls_answered_while_the_service_was_killed_are_journaled_once(
    deployment: Deployment,
) -> None:
    deployment.write(hours=ALL_DAY)  # the dialplan's own clock: in hours whenever run
    workdir = deployment.workdir / "sipp"
    first = await deployment.run()
    await first.wait_for(r"^hotline up")
    first.send(signal.SIGKILL)
    assert await first.exit_code() == -signal.SIGKILL

    agents = [
        await sipp.phone(workdir, deployment.ports.agent1, name="agent1", ring_ms=2000),
        await sipp.phone(workdir, deployment.ports.agent2, name="agent2", ring_ms=2000),
    ]
    try:
        callers = [
            await sipp.call(workdir, deployment.ports.sip, "95007", name=f"caller{n}",
                            hold_ms=14_000, caller=f"1380013800{n}")
            for n in (1, 2)
        ]
        for caller in callers:
            assert await caller.wait(90) == 0, caller.log()
    finally:
        for agent in agents:
            await agent.stop()

    store = store_of(deployment)
    try:
        assert await store.calls(limit=10) == [], "nothing journaled while the service was dead"
        second = await deployment.run()
        await second.wait_for(r"^hotline up")

        async def both_journaled() -> bool:
            records = await store.calls(limit=10)
            return len(records) == 2 and all(r.outcome is not None for r in records)

        await until(both_journaled, timeout=40)
        records = await store.calls(limit=10)
        assert {r.caller for r in records} == {"13800138001", "13800138002"}
        for record in records:
            assert record.outcome is Outcome.answered_by_agent, record
            assert record.controller_absent
            assert record.answered_by in {"agent1", "agent2"}
            assert record.ring_seconds == pytest.approx(2.0, abs=0.5)
            assert record.rings == 1 and record.within_three_rings is True
            # the wait runs from the request through "please hold" and 2 s of ringing
            assert record.wait_seconds is not None and 2.0 <= record.wait_seconds <= 8.0
            assert record.queue_seconds == pytest.approx(2.0, abs=0.8)
            assert record.talk_seconds is not None and record.talk_seconds > 5
            events = await store.events_of(record.linkedid)
            kinds = Counter(e.kind for e in events)
            assert kinds[EventKind.agent_answered] == 1
            assert kinds[EventKind.call_ended] == 1 and kinds[EventKind.call_arrived] == 1
            assert {e.source for e in events} == {"cel", "queue_log"} or {
                e.source for e in events} == {"cel"}
        before = {r.linkedid: len(await store.events_of(r.linkedid)) for r in records}
        assert await second.stop() == 0

        # The checkpoint lost: the next start reads the whole record again, adds nothing.
        await store.set_meta(CEL_CHECKPOINT, "0")
        await store.set_meta(QUEUE_LOG_CHECKPOINT, "0")
        third = await deployment.run()
        await third.wait_for(r"^hotline up")

        async def read_again() -> bool:
            return (await store.meta(CEL_CHECKPOINT) or "0") != "0"

        await until(read_again, timeout=30)
        after = {r.linkedid: len(await store.events_of(r.linkedid)) for r in records}
        assert after == before
        assert len(await store.calls(limit=10)) == 2
        assert await third.stop() == 0
    finally:
        await store.close()
