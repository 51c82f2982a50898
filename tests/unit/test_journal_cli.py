"""`hotline journal refold` folds stored calls again by the config's counting rules and
`hotline report` then shows them; reading commands never refold on their own."""

from __future__ import annotations

import asyncio
from pathlib import Path

from sqlalchemy import text
from typer.testing import CliRunner

from ivr.cli import app as cli
from ivr.config import load_config
from ivr.journal.service import open_store
from tests.unit.test_api_support import config_file
from tests.unit.test_outcomes import answered_by_agent


async def a_journal_folded_by_an_older_version(config_path: Path) -> None:
    store = open_store(load_config(config_path))
    await store.migrate()
    await store.ingest(answered_by_agent("c1", ring=7.0).events)
    async with store.engine.begin() as conn:  # as an older fold left it
        await conn.execute(text("UPDATE calls SET rings = 3, ring_seconds = NULL"))
        await conn.execute(text("UPDATE journal_meta SET value = '1'"))
    await store.close()


async def stored_rings(config_path: Path) -> tuple[int | None, float | None]:
    store = open_store(load_config(config_path))
    try:
        record = await store.call("c1")
        assert record is not None
        return record.rings, record.ring_seconds
    finally:
        await store.close()


def test_refold_folds_history_again_and_reports_leave_it_alone(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    asyncio.run(a_journal_folded_by_an_older_version(config))
    runner = CliRunner()
    listed = runner.invoke(cli, ["calls", "-c", str(config)])
    assert listed.exit_code == 0, listed.output
    assert asyncio.run(stored_rings(config)) == (3, None)  # a report does not refold
    refolded = runner.invoke(cli, ["journal", "refold", "-c", str(config)])
    assert refolded.exit_code == 0, refolded.output
    assert "1 call(s) folded again" in refolded.stdout
    assert asyncio.run(stored_rings(config)) == (2, 7.0)
