"""Issue 11's fault suite, short run: a steady mix of real calls (menu -> agents who
answer after 1-19 s, abandons in the queue, off-hours voicemail with and without
speech, night emergencies to the on-call phone) while the hotline is hit by what goes
wrong in production, then SIPp's own truth compared with the journal call by call.

- SQLite: `kill -9` of `hotline run` and its restart (which adopts the running
  Asterisk), the AMI connection and the ARI websocket aborted, the journal's files
  made unwritable for 8 s, and a graceful Asterisk restart between two waves of calls
  (while it drains, Asterisk refuses new calls with 503, so the callers pause for it,
  as an operator takes a node out of the carrier's rotation first);
- PostgreSQL (a database of its own on the shared server): its sessions ended and
  connections refused for 8 s, and a `kill -9` of the service: the journal is
  reconciled from Asterisk's record on PostgreSQL.

Every call must be answered, journaled exactly once with the outcome SIPp's phones say
(who answered, after how many rings, the voicemail's empty flag). Consultation hours
alternate by the minute, so a run meets the menu and queue, or the off-hours paths, or
both, depending on when it starts. `pytest -s` prints the figures; `bench/faults.py` is
the long run."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from ivr.asterisk.sandbox import AsteriskInstall
from tests.faults.mix import (
    Fault,
    Figures,
    MixRun,
    Segment,
    compare,
    create_database,
    drop_database,
    durable_linkedids,
    run_plan,
    settled,
    within,
)

pytestmark = pytest.mark.asterisk

PG_URL = os.environ.get("HOTLINE_TEST_DATABASE_URL", "")
RATE = 2.0  # calls/s
PLAN_TIMEOUT = 480.0  # each plan takes about a minute; a stuck one fails with its tasks' stacks


async def figures_of(run: MixRun) -> Figures:
    truth = run.truth()
    await settled(run, truth, timeout=40)
    figures = compare(truth, await run.records(), await durable_linkedids(run))
    print(json.dumps({"figures": figures.as_dict(),
                      "faults": [fault.__dict__ for fault in run.faults]}, indent=1))
    return figures


def assert_clean(figures: Figures, run: MixRun) -> None:
    assert not run.stuck, run.stuck
    # every caller placed what it was told (a SIPp that failed to start would hide calls)
    assert figures.placed == run.planned, [c.process.returncode for c in run.callers]
    assert figures.clean, figures.problems
    assert figures.journaled == figures.placed
    # each fault really happened: calls the dialplan served alone, and completed from
    # Asterisk's record
    assert figures.controller_absent > 0 and figures.from_durable_record > 0
    assert run.services_started >= 2


@pytest.fixture
async def sqlite_run(asterisk_install: AsteriskInstall, tmp_path: Path) -> AsyncIterator[MixRun]:
    run = MixRun(asterisk_install, tmp_path)
    try:
        await run.start()
        yield run
    finally:
        await run.stop()


async def test_every_call_journaled_once_through_kill_disconnects_sqlite_outage_and_restart(
    sqlite_run: MixRun,
) -> None:
    await within(PLAN_TIMEOUT, "the SQLite mix", run_plan(sqlite_run, RATE, [
        Segment(26, [
            Fault(3, "kill -9 of hotline run", MixRun.kill_service),
            Fault(9, "AMI connection dropped", MixRun.drop_ami),
            Fault(12, "ARI websocket dropped", MixRun.drop_ari),
            Fault(15, "SQLite journal unwritable", lambda r: r.sqlite_unwritable(8)),
        ], restart_asterisk_after=True),
        Segment(5),
    ]))
    figures = await figures_of(sqlite_run)
    assert_clean(figures, sqlite_run)
    assert any(f.name == "asterisk graceful restart" for f in sqlite_run.faults)


@pytest.fixture
async def pg_run(asterisk_install: AsteriskInstall, tmp_path: Path) -> AsyncIterator[MixRun]:
    url = await create_database(PG_URL)
    run = MixRun(asterisk_install, tmp_path, database_url=url)
    try:
        await run.start()
        yield run
    finally:
        await run.stop()
        await drop_database(url)


@pytest.mark.skipif(not PG_URL, reason="HOTLINE_TEST_DATABASE_URL is not set")
async def test_every_call_journaled_once_through_a_postgresql_outage_and_a_kill(
    pg_run: MixRun,
) -> None:
    await within(PLAN_TIMEOUT, "the PostgreSQL mix", run_plan(pg_run, RATE, [
        Segment(18, [
            Fault(2, "PostgreSQL away", lambda r: r.postgresql_away(8)),
            Fault(12, "kill -9 of hotline run", MixRun.kill_service),
        ]),
    ]))
    figures = await figures_of(pg_run)
    assert_clean(figures, pg_run)
