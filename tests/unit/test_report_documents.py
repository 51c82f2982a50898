"""Report documents: a month of a seeded journal as text, JSON, CSV, HTML and PDF, and a
week; the PDF is rendered to PNG pages (pdftoppm) and read back (pdftotext): its title
(Chinese), its numbers and its fonts, which must equal `hotline report --month`. Also
`hotline calls --format json|csv` and the API's document route."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import shutil
import subprocess
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ivr.auth.roles import Role
from ivr.cli import app
from ivr.config import load_config
from ivr.journal.report_text import RATE_TITLES
from ivr.journal.service import open_store
from tests.unit.test_api_support import (
    T0,
    Script,
    a_day,
    abandoned,
    answered,
    config_file,
    harness,
)

TITLE = "示例燃气公司客服热线"
POPPLER = shutil.which("pdftoppm") and shutil.which("pdftotext") and shutil.which("pdffonts")


def a_month() -> list[Script]:
    """November 2026: every day the morning of `a_day` (8 calls of every kind from 10:00),
    and on working days an afternoon rush of answered and abandoned calls at 14:00."""
    scripts: list[Script] = []
    for n in range(30):
        start = T0 - timedelta(days=2) + timedelta(days=n)  # 2026-11-01 10:00 local
        for script in a_day(start):
            scripts.append(_renamed(script, f"d{n}-"))
        if start.weekday() < 5:
            for k in range(n % 4 + 1):
                at = start + timedelta(hours=4, minutes=3 * k)
                scripts.append(answered(f"d{n}-pm-{k}", at, wait=3.0 + 5 * k))
            scripts.append(abandoned(f"d{n}-pm-lost", start + timedelta(hours=4, minutes=20)))
    return scripts


def _renamed(script: Script, prefix: str) -> Script:
    script.linkedid = prefix + script.linkedid
    script.events = [type(e)(script.linkedid, e.kind, e.at, e.source, e.data)
                     for e in script.events]
    return script


@pytest.fixture(scope="module")
def seeded(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    tmp = tmp_path_factory.mktemp("month")
    path = config_file(tmp)
    config = load_config(path)
    config.service.data_dir.mkdir(parents=True, exist_ok=True)

    async def seed() -> None:
        store = open_store(config)
        await store.migrate()
        await store.ingest([e for s in a_month() for e in s.events])
        await store.close()

    asyncio.run(seed())
    yield path


def run(*args: str) -> str:
    result = CliRunner().invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.stdout


def the_text_report(path: Path) -> tuple[int, dict[str, str]]:
    """`hotline report --month 2026-11`: the offered calls and each rate's shown value."""
    text = run("report", "--month", "2026-11", "-c", str(path))
    offered = int(re.search(r"offered calls: (\d+)", text).group(1))  # type: ignore[union-attr]
    values = {}
    for name, title in RATE_TITLES.items():
        line = next(row for row in text.splitlines() if row.startswith(title + " "))
        values[name] = line[len(title):].split()[0]
    return offered, values


def test_the_month_as_json_and_csv_has_the_numbers_of_the_text_report(seeded: Path) -> None:
    offered, values = the_text_report(seeded)
    assert offered == 30 * 8 + sum(n % 4 + 2 for n in range(30)
                                   if (T0 + timedelta(days=n - 2)).weekday() < 5)
    data = json.loads(run("report", "--month", "2026-11", "--format", "json", "-c",
                          str(seeded)))
    assert data["offered"] == offered
    assert data["title"] == f"{TITLE} — monthly report 2026-11"
    assert sum(map(sum, data["heatmap"]["offered"])) == offered
    lost = sum(data["outcomes"][o] for o in ("busy", "abandoned", "failed"))
    assert sum(map(sum, data["heatmap"]["lost"])) == lost
    # the weekday x hour grid: Mondays at 10:00 (local) had the morning's calls (the 8
    # calls of a_day arrive 10:00-10:55), and working days' 14:00 the afternoon rush
    mondays = 5  # 2, 9, 16, 23, 30 November
    assert data["heatmap"]["offered"][0][10] == 8 * mondays
    assert data["heatmap"]["offered"][5][14] == 0  # Saturdays: no afternoon rush
    by_name = {rate["name"]: rate for rate in data["rates"]}
    transfer = by_name["transfer_answer"]
    assert values["transfer_answer"] == f"{transfer['value'] * 100:.2f}%"
    rows = list(csv.reader(io.StringIO(run("report", "--month", "2026-11", "--format", "csv",
                                           "-c", str(seeded)))))
    assert ["calls", "offered", "", str(offered)] in rows
    assert ["rate", "transfer_answer", "numerator", str(transfer["numerator"])] in rows
    heat = [r for r in rows if r and r[0] == "heatmap_offered"]
    assert len(heat) == 7 * 24 and sum(int(r[3]) for r in heat) == offered


def test_the_queue_time_distribution_counts_each_queued_call_once(seeded: Path) -> None:
    """The document's queue-time buckets against the month's calls counted one by one."""
    data = json.loads(run("report", "--month", "2026-11", "--format", "json", "-c",
                          str(seeded)))
    calls = json.loads(run("calls", "--since", "2026-11-01", "--limit", "100000",
                           "--format", "json", "-c", str(seeded)))
    waits = [c["queue_seconds"] for c in calls
             if c["queue_seconds"] is not None and c["arrived_local"] < "2026-12-01"]
    buckets = data["queue_time"]["buckets"]
    expected = []
    low = -1.0
    for bucket in buckets:
        high = float("inf") if bucket["le"] is None else bucket["le"]
        expected.append(sum(1 for w in waits if low < w <= high))
        low = high
    assert [b["count"] for b in buckets] == expected
    assert data["queue_time"]["queued"] == len(waits) > 0
    assert len({b["count"] for b in buckets}) > 1  # the seeded waits spread over buckets
    assert data["queue_time"]["mean_seconds"] == pytest.approx(sum(waits) / len(waits))
    text = run("report", "--month", "2026-11", "--format", "text", "-c", str(seeded))
    assert "queue time (queue entry -> answer or leaving)" in text


def test_a_week_document_covers_monday_to_sunday(seeded: Path) -> None:
    data = json.loads(run("report", "--week", "2026-W45", "--format", "json", "-c",
                          str(seeded)))
    assert (data["period"]["first_day"], data["period"]["last_day"]) == (
        "2026-11-02", "2026-11-08")
    assert [d["day"] for d in data["forecast"]["days"]] == [f"2026-11-0{n}" for n in range(2, 9)]
    assert data["offered"] == 7 * 8 + sum(n % 4 + 2 for n in range(1, 6))
    text = run("report", "--week", "2026-W45", "-c", str(seeded))
    assert f"{TITLE} — weekly report 2026-W45" in text
    assert "offered calls by weekday and local hour:" in text
    bad = CliRunner().invoke(app, ["report", "--week", "2026-45", "-c", str(seeded)])
    assert bad.exit_code == 2 and "ISO week" in bad.output


@pytest.mark.skipif(not POPPLER, reason="needs poppler-utils (scripts/setup.sh installs it)")
def test_the_pdf_renders_to_pages_with_the_title_and_the_numbers(
    seeded: Path, tmp_path: Path
) -> None:
    offered, values = the_text_report(seeded)
    pdf = tmp_path / "november.pdf"
    run("report", "--month", "2026-11", "--format", "pdf", "-o", str(pdf), "-c", str(seeded))
    assert pdf.read_bytes().startswith(b"%PDF")
    subprocess.run(["pdftoppm", "-r", "40", "-png", str(pdf), str(tmp_path / "page")],
                   check=True, timeout=60)
    pages = sorted(tmp_path.glob("page-*.png"))
    assert len(pages) >= 3
    from PIL import Image

    for page in pages:  # every page has something drawn on it
        with Image.open(page) as image:
            colours = image.convert("L").getextrema()
            assert colours[0] < 100, f"{page.name} is blank"
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, timeout=60,
                          capture_output=True, text=True).stdout
    assert f"{TITLE} — monthly report 2026-11" in text  # the Chinese title, as text
    assert f"offered calls: {offered}" in text
    for name, shown in values.items():
        title = RATE_TITLES[name]
        row = next(line for line in text.splitlines() if title in line)
        assert shown in row, (title, shown, row)
    fonts = subprocess.run(["pdffonts", str(pdf)], check=True, timeout=60,
                           capture_output=True, text=True).stdout
    assert "Noto-Sans-CJK-SC" in fonts  # the CJK font is embedded, so the title renders anywhere


def test_html_has_the_charts_inline(seeded: Path, tmp_path: Path) -> None:
    out = tmp_path / "november.html"
    run("report", "--month", "2026-11", "--format", "html", "-o", str(out), "-c", str(seeded))
    page = out.read_text(encoding="utf-8")
    assert page.count('src="data:image/png;base64,') == 7
    assert "http://" not in page and "https://" not in page  # nothing fetched from elsewhere
    refused = CliRunner().invoke(app, ["report", "--month", "2026-11", "--format", "pdf",
                                       "-c", str(seeded)])
    assert refused.exit_code == 2 and "--output" in refused.output


def test_calls_for_scripts_as_json_and_csv(seeded: Path) -> None:
    calls = json.loads(run("calls", "--since", "2026-11-03", "--limit", "5", "--format", "json",
                           "-c", str(seeded)))
    assert len(calls) == 5
    assert {"linkedid", "arrived_utc", "outcome", "caller", "answered_by_name"} <= set(calls[0])
    rows = list(csv.DictReader(io.StringIO(run(
        "calls", "--outcome", "abandoned", "--limit", "3", "--format", "csv", "-c", str(seeded)
    ))))
    assert len(rows) == 3 and {row["outcome"] for row in rows} == {"abandoned"}
    assert rows[0]["abandon_place"] == "queue"


async def test_the_api_serves_the_same_document(tmp_path: Path) -> None:
    async with harness(tmp_path, a_day()) as api:
        response = await api.get("/api/reports/document?month=2026-11", Role.supervisor)
        assert response.status_code == 200, response.text
        assert response.json()["offered"] == 8
        assert (await api.get("/api/reports/document?month=2026-11", Role.viewer)
                ).status_code == 403
        pdf = await api.get("/api/reports/document?week=2026-W45&format=pdf", Role.supervisor)
        assert pdf.headers["content-type"] == "application/pdf"
        assert pdf.content.startswith(b"%PDF")
        both = await api.get("/api/reports/document?week=2026-W45&month=2026-11",
                             Role.supervisor)
        assert both.status_code == 422
        no_such_week = await api.get("/api/reports/document?week=2025-W53", Role.supervisor)
        assert no_such_week.status_code == 422


async def test_the_exporters_weekday_hour_grid_is_the_documents(tmp_path: Path) -> None:
    from metrics.exporter import Exporter, Sources

    async with harness(tmp_path, a_day()) as api:  # a Tuesday morning, 10:00-10:55 local
        config = api.services.config()
        exporter = Exporter(Sources(store=api.store, config=lambda: config,
                                    clock=lambda: T0 + timedelta(days=7)))
        text = (await exporter.render()).decode()
        cell = re.compile(r'hotline_weekday_hour_calls\{hour="(\d+)",kind="(\w+)",line="(\w+)",'
                          r'weekday="(\w+)"\} (\S+)')
        values = {(h, k, line, w): float(v) for h, k, line, w, v in cell.findall(text)}
        assert len(values) == 2 * 7 * 24 * (len(config.lines) + 1)
        assert values[("10", "offered", "all", "Tue")] == 8
        assert values[("10", "offered", "main", "Tue")] == 7  # one came on the legacy line
        assert sum(v for (_, k, line, _), v in values.items()
                   if (k, line) == ("offered", "all")) == 8
        from ivr.reporting.document import build_document

        document = await build_document(api.store, config, "month", "2026-11")
        lost = document.lost[1][10]
        assert values[("10", "lost", "all", "Tue")] == lost > 0


def test_the_month_shows_the_quality_scores_of_its_calls(seeded: Path) -> None:
    """Listened scores (R8's 80 points) of the month's calls, per agent, latest score of a
    call counting once; a call of another month is not in it."""
    from ivr.domain.quality import ScoredCall, Scores
    from ivr.recording.store import RecordingStore

    config = load_config(seeded)

    async def score() -> None:
        store = open_store(config)
        scores = RecordingStore(store.engine)
        november, december = T0, T0 + timedelta(days=40)
        for linkedid, at, points in (("d3-pm-0", november, 15), ("d3-pm-0", november, 17),
                                     ("d4-pm-0", november, 19), ("later", december, 1)):
            call = ScoredCall(linkedid, "agent1", at, Scores(points, points, points, points))
            await scores.add_score(call, by="supervisor", at=at, remarks="")
        await store.close()

    asyncio.run(score())
    data = json.loads(run("report", "--month", "2026-11", "--format", "json", "-c",
                          str(seeded)))
    (agent,) = data["quality"]
    assert (agent["agent"], agent["calls"]) == ("agent1", 2)
    assert agent["items"]["attitude"] == 18.0 and agent["total"] == 72.0
