"""The exporter reads the store: counters are all-time sums, ratios are the same
report the CLI prints, every configured line is exported from zero."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from prometheus_client.parser import text_string_to_metric_families

from ivr.config import load_config
from ivr.domain.record import CountingRules
from ivr.journal.store import Store
from ivr.live import LiveState
from metrics.exporter import Exporter, Sources
from tests.unit.test_outcomes import MODES, T0, answered_by_agent, night_transfer

EXAMPLE = Path(__file__).resolve().parents[2] / "hotline.example.toml"


def samples(text: bytes) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    found = {}
    for family in text_string_to_metric_families(text.decode()):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(found: dict[tuple[str, frozenset[tuple[str, str]]], float], name: str,
          **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


async def test_a_scrape_shows_the_stored_calls(tmp_path: Path) -> None:
    config = load_config(EXAMPLE)
    store = Store(
        f"sqlite+aiosqlite:///{tmp_path}/j.sqlite3", line_modes=MODES, rules=CountingRules()
    )
    await store.migrate()
    try:
        events = [*answered_by_agent("c1", ring=7.0).events,
                  *answered_by_agent("c2", ring=16.0).events,
                  *night_transfer("c3", answered=True).events]
        await store.ingest(events)
        live = LiveState()
        live.apply({"Event": "QueueCallerJoin", "Uniqueid": "x"})
        exporter = Exporter(Sources(store=store, config=lambda: config, live=live,
                                    clock=lambda: T0))
        found = samples(await exporter.render())
    finally:
        await store.close()
    assert value(found, "hotline_calls_offered_total", line="main", mode="ivr") == 3
    assert value(found, "hotline_calls_offered_total", line="legacy", mode="manual") == 0
    assert value(found, "hotline_calls_answered_by_person_total", line="main", mode="ivr") == 3
    # rings of the answering phone: c1 rang 7 s (2 rings), c2 16 s (4 rings), and the
    # second on-call person's phone 6.6 s (2 rings) after the first rang out
    assert value(found, "hotline_calls_within_three_rings_total", line="main", mode="ivr") == 2
    assert value(found, "hotline_answer_rings_sum", line="main", mode="ivr") == 8
    assert value(found, "hotline_ring_attempts_judged_total", line="main", mode="ivr") == 4
    assert value(found, "hotline_ring_attempts_within_three_rings_total", line="main",
                 mode="ivr") == 2
    assert value(found, "hotline_calls_queued_total", line="main", mode="ivr") == 3
    assert value(found, "hotline_target_average", kind="average_handling_seconds",
                 bound="max") == 330
    assert value(found, "hotline_calls_total", line="main", mode="ivr",
                 outcome="answered_by_oncall") == 1
    assert value(found, "hotline_answer_rings_bucket", line="main", mode="ivr", le="2.0") >= 1
    assert value(found, "hotline_person_wait_seconds_count", line="main", mode="ivr") == 3
    assert value(found, "hotline_oncall_transfers_total", result="answered") == 1
    assert value(found, "hotline_target_ratio", kind="auto_answer") == 0.98
    assert value(found, "hotline_ratio", line="all", kind="within_three_rings",
                 period="today") == 2 / 3
    assert value(found, "hotline_average", line="all", kind="average_rings",
                 period="today") == 8 / 3
    assert value(found, "hotline_calls_waiting") == 1
    assert value(found, "hotline_ari_connected") == 0


async def test_in_service_hours_follows_the_clock_routing_reads(tmp_path: Path) -> None:
    """The gauge asks the routing clock, not the wall clock the periods are cut by."""
    config = load_config(EXAMPLE)
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/j.sqlite3", line_modes=MODES)
    await store.migrate()
    night = datetime(2026, 11, 3, 23, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
    try:
        for routing, expected in ((T0, 1.0), (night, 0.0)):
            exporter = Exporter(Sources(store=store, config=lambda: config, clock=lambda: T0,
                                        routing_clock=lambda at=routing: at))
            found = samples(await exporter.render())
            assert value(found, "hotline_in_service_hours") == expected, routing
    finally:
        await store.close()
