"""The optional post-call survey: with `[prompts] survey` configured, a caller whose
agent hangs up first hears the question and presses 1-3; the key is journaled on the
call, and the survey does not count as talk time."""

from __future__ import annotations

from ivr.domain.events import EventKind
from ivr.domain.record import Outcome

from . import sipp
from .harness import HotlineUnderTest
from .sipp import Press
from .test_callflow import IN_HOURS

SURVEY = 'survey = { text = "满意请按1，基本满意请按2，不满意请按3。" }'
TALK_MS = 2000


async def test_the_caller_rates_the_call_after_the_agent_hangs_up(
    fresh: HotlineUnderTest,
) -> None:
    assert fresh.journal is not None
    await fresh.reload(survey=SURVEY)
    try:
        fresh.set_now(IN_HOURS)
        workdir = fresh.call_dir("survey")
        phone = await sipp.phone(workdir, fresh.ports.agent1, name="agent1", mode="hangup",
                                 ring_ms=500, talk_ms=TALK_MS)
        mark = fresh.tap.mark()
        # "0" for a person; "3" once the agent has hung up and the question plays
        after_agent = fresh.prompt_ms("queue") + 500 + TALK_MS + 2500
        caller = await sipp.call(
            workdir, fresh.ports.sip, "95007", name="rater",
            digits=[Press("0", 1500), Press("3", after_agent)],
            remote_hangup=True, remote_hangup_timeout_ms=30_000,
        )
        try:
            answered = await fresh.tap.wait_for(EventKind.agent_answered, since=mark, timeout=30)
            offered = await fresh.tap.wait_for(EventKind.survey_offered, since=mark, timeout=30,
                                               linkedid=answered.linkedid)
            rated = await fresh.tap.wait_for(EventKind.survey_answered, since=mark, timeout=30,
                                             linkedid=answered.linkedid)
            assert str(rated.data["score"]) == "3"
            assert await caller.wait(60) == 0, caller.log()
            await fresh.tap.wait_for(EventKind.call_ended, since=mark, timeout=30,
                                     linkedid=answered.linkedid)
        finally:
            await phone.stop()
        await fresh.journal.writer.flush()
        record = await fresh.journal.store.call(answered.linkedid)
        assert record is not None and record.survey_score == 3
        assert record.outcome is Outcome.answered_by_agent
        assert record.talk_seconds is not None and record.ended_at is not None
        talk = (offered.at - answered.at).total_seconds()
        assert abs(record.talk_seconds - talk) < 0.01  # the survey is not talk
        assert record.talk_seconds < (record.ended_at - answered.at).total_seconds() - 1
    finally:
        await fresh.reload()
