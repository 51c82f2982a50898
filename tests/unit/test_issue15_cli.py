"""`hotline notices add|list|end`, `hotline quality score|month` and `hotline spotcheck
add|show` against a real journal database: what they print, and their exit codes (2 for
what the rules refuse, nothing changed)."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from typer.testing import CliRunner

from ivr.cli import app as cli
from ivr.config import load_config
from ivr.journal.service import open_store
from tests.unit.test_api_support import config_file
from tests.unit.test_outcomes import answered_by_agent

runner = CliRunner()


def hotline(*args: str) -> tuple[int, str]:
    result = runner.invoke(cli, list(args))
    return result.exit_code, result.output


async def a_call_answered_by_agent1(config_path: Path) -> None:
    store = open_store(load_config(config_path))
    await store.migrate()
    await store.ingest(answered_by_agent("c1").events)
    await store.close()


def test_notices_are_posted_listed_and_ended(tmp_path: Path) -> None:
    config = str(config_file(tmp_path))
    code, out = hotline("notices", "add", "--text", "东区停气至18点", "--hours", "3", "-c", config)
    assert code == 0, out
    assert out.startswith("notice 1 plays from ")
    code, out = hotline("notices", "list", "-c", config)
    assert code == 0 and "playing" in out and "东区停气至18点" in out
    code, out = hotline("notices", "add", "--text", "x", "--file", "/etc/passwd", "--hours",
                        "1", "-c", config)
    assert code == 2 and "either a text" in out
    assert hotline("notices", "end", "1", "-c", config)[0] == 0
    assert hotline("notices", "list", "-c", config)[1].strip() == "no notices"
    assert "expired" in hotline("notices", "list", "--all", "-c", config)[1]
    assert hotline("notices", "end", "9", "-c", config)[0] == 2


def test_a_call_is_scored_and_the_month_averaged(tmp_path: Path) -> None:
    config_path = config_file(tmp_path)
    asyncio.run(a_call_answered_by_agent1(config_path))
    config = str(config_path)
    code, out = hotline("quality", "score", "c1", "--phrases", "18", "--attitude", "9",
                        "--responsibility", "17", "--professionalism", "12", "--by", "王主管",
                        "-c", config)
    assert code == 0, out
    assert "scored 56/80" in out and "声音生硬" in out
    code, out = hotline("quality", "month", "2026-11", "-c", config)
    assert code == 0 and "18.0" in out and "56.0" in out
    assert hotline("quality", "score", "nope", "--phrases", "1", "--attitude", "1",
                   "--responsibility", "1", "--professionalism", "1", "--by", "x",
                   "-c", config)[0] == 2


def test_checkers_enter_results_and_the_quarter_is_shown(tmp_path: Path) -> None:
    config = str(config_file(tmp_path))
    code, out = hotline("spotcheck", "add", "--checker", "张三", "--dials", "busy,ivr",
                        "-c", config)
    assert code == 0, out
    assert "busy, ivr -> connection 16/20" in out
    # yesterday's dials: "09:00" alone is today's, in the future before 09:00 in Shanghai
    day = (datetime.now(ZoneInfo("Asia/Shanghai")) - timedelta(days=1)).date()
    code, out = hotline("spotcheck", "add", "--checker", "李四", "--dials",
                        f"busy@{day}T09:00,ivr@{day}T09:01", "-c", config)
    assert code == 2 and "no sooner than 180 s" in out
    code, out = hotline("spotcheck", "show", "-c", config)
    assert code == 0 and "no score yet (1 checker(s); three or more needed)" in out
