"""The Prometheus rules and config: promtool accepts them, their unit tests
(metrics/prometheus/rules_test.yml) pass, and they use only the metrics the hotline
exporter exposes, counters only through increase()/rate().

promtool comes from Debian's prometheus package; without it these tests skip, except with
CI=true, where they fail.
"""

from __future__ import annotations

import itertools
import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest

ROOT = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = ROOT / "metrics" / "prometheus"
RULES = PROMETHEUS_DIR / "rules.yml"
RULES_TEST = PROMETHEUS_DIR / "rules_test.yml"
CONFIG = PROMETHEUS_DIR / "prometheus.yml"
IN_CI = os.environ.get("CI") == "true"

# The exporter's contract: every metric family the hotline exposes (checked against
# metrics/exporter.py by test_the_exported_metric_list_is_the_exporters).
COUNTERS = frozenset(
    {
        "hotline_calls_offered_total",
        "hotline_outbound_refused_total",
        "hotline_calls_total",
        "hotline_calls_ivr_answered_total",
        "hotline_calls_human_requested_total",
        "hotline_calls_answered_by_person_total",
        "hotline_calls_unanswered_total",
        "hotline_calls_within_three_rings_total",
        "hotline_calls_queued_total",
        "hotline_calls_in_service_level_total",
        "hotline_calls_handled_total",
        "hotline_handling_seconds_total",
        "hotline_queue_seconds_total",
        "hotline_ring_attempts_judged_total",
        "hotline_ring_attempts_within_three_rings_total",
        "hotline_abandoned_total",
        "hotline_agent_ring_attempts_total",
        "hotline_oncall_transfers_total",
        "hotline_voicemails_total",
        "hotline_voicemails_empty_total",
        "hotline_refused_total",
        "hotline_notice_heard_calls_total",
        "hotline_notice_person_requested_calls_total",
        "hotline_calls_shed_total",
    }
)
HISTOGRAMS = frozenset({"hotline_person_wait_seconds", "hotline_answer_rings"})
GAUGES = frozenset(
    {
        "hotline_ratio",
        "hotline_average",
        "hotline_target_ratio",
        "hotline_target_average",
        "hotline_calls_in_ivr",
        "hotline_calls_waiting",
        "hotline_calls_talking",
        "hotline_agents",
        "hotline_in_service_hours",
        "hotline_callbacks_owed",
        "hotline_ari_connected",
        "hotline_ami_connected",
        "hotline_last_event_age_seconds",
        "hotline_journal_spooled_events",
        "hotline_weekday_hour_calls",
        "hotline_forecast_agents",
        "hotline_forecast_calls",
        # several Asterisk nodes only
        "hotline_node_calls_today",
        "hotline_node_ratio",
        "hotline_node_up",
        "hotline_spotcheck_score",
        "hotline_spotcheck_quarter_score",
        "hotline_spotcheck_checkers",
        "hotline_recordings_bytes",
        "hotline_recordings_files",
        "hotline_notice_active",
    }
)
HISTOGRAM_SERIES = frozenset(
    f"{name}{suffix}" for name in HISTOGRAMS for suffix in ("_bucket", "_sum", "_count")
)
EXPORTED = COUNTERS | GAUGES | HISTOGRAM_SERIES
# Series that only grow: PromQL may read them through increase()/rate() only.
CUMULATIVE = COUNTERS | HISTOGRAM_SERIES

# Recorded as hotline:<kind>_ratio[_line]:<window>; each is also a hotline_target_ratio{kind}.
RATIOS = (
    "auto_answer",
    "transfer_answer",
    "manual_answer",
    "no_answer",
    "within_three_rings",
    "busy",
    "service_level",
    "ring_attempts_within_three_rings",
)
# Recorded as hotline:<kind>[_line]:<window>.
AVERAGES = ("average_queue_seconds", "average_rings", "average_handling_seconds")
WINDOWS = ("5m", "1h", "1d")
TARGET_KINDS = RATIOS  # hotline_target_ratio{kind}
# hotline_target_average{kind,bound}: the bounds the exporter exports for each average
TARGET_AVERAGES = frozenset(
    {
        ("average_rings", "max"),
        ("average_queue_seconds", "max"),
        ("average_speed_of_answer_seconds", "max"),
        ("average_handling_seconds", "min"),
        ("average_handling_seconds", "max"),
    }
)

METRIC_TOKEN = re.compile(r"\bhotline_[a-z_]+")
RECORDED_TOKEN = re.compile(r"\bhotline:[a-z_]+:[a-z0-9_$]+")
RANGE_FUNCTION_ARG = re.compile(r"\b(?:increase|rate|irate)\(\s*(hotline_[a-z_]+)")
RANGE_SELECTOR = re.compile(r"\[(\d+[smhdw])\]")
REQUIRED_ALERTS = frozenset(
    {
        "HotlineAutoAnswerRateLow",
        "HotlineTransferAnswerRateLow",
        "HotlineManualAnswerRateLow",
        "HotlineThreeRingsRateLow",
        "HotlineBusyRateHigh",
        "HotlineServiceLevelLow",
        "HotlineQueueTimeHigh",
        "HotlineCallNotAnswered",
        "HotlineOnCallTransferFailed",
        "HotlineControllerDisconnected",
        "HotlineNodeDown",
        "HotlineNoAgentLoggedIn",
        "HotlineSpotCheckProbeBelow20",
    }
)


def load_yaml(path: Path) -> Any:
    """PyYAML is a dev dependency; without it skip, except in CI."""
    try:
        import yaml
    except ImportError:
        if IN_CI:
            raise
        pytest.skip("PyYAML is not installed (pip install pyyaml)")
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def promtool() -> str:
    found = shutil.which("promtool")
    if found:
        return found
    if IN_CI:
        pytest.fail("CI needs promtool (Debian package prometheus) to check the rules")
    pytest.skip("promtool is missing: apt-get install prometheus")


def run_promtool(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [promtool(), *args], cwd=ROOT, capture_output=True, text=True, timeout=120
    )


def rules() -> list[dict[str, Any]]:
    groups = load_yaml(RULES)["groups"]
    return [rule for group in groups for rule in group["rules"]]


def recorded_names() -> set[str]:
    """The recording rule names rules.yml defines (other files may use them)."""
    return {rule["record"] for rule in rules() if "record" in rule}


def test_promtool_accepts_the_rules() -> None:
    result = run_promtool("check", "rules", str(RULES))
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_rules_unit_tests_pass() -> None:
    result = run_promtool("test", "rules", str(RULES_TEST))
    assert result.returncode == 0, result.stdout + result.stderr


def test_promtool_accepts_the_compose_prometheus_config() -> None:
    # rule_files in prometheus.yml are relative to the config file itself
    result = run_promtool("check", "config", str(CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr
    config = load_yaml(CONFIG)
    assert all((CONFIG.parent / name).is_file() for name in config["rule_files"])


def test_the_compose_config_scrapes_the_hotline_every_15_seconds() -> None:
    config = load_yaml(CONFIG)
    (job,) = [job for job in config["scrape_configs"] if job["job_name"] == "hotline"]
    assert job.get("scrape_interval", config["global"]["scrape_interval"]) == "15s"
    assert job.get("metrics_path", "/metrics") == "/metrics"
    targets = [t for static in job["static_configs"] for t in static["targets"]]
    assert [t.rsplit(":", 1)[1] for t in targets] == ["9095"]


@dataclass
class _Health:
    ari_connected: bool = True
    ami_connected: bool = True
    calls_in_ivr: int = 0
    last_event_age_seconds: float | None = 1.0
    calls_shed: dict[str, int] = field(default_factory=dict)


def test_the_exported_metric_list_is_the_exporters() -> None:
    """COUNTERS, HISTOGRAMS and GAUGES are what the exporter's collector yields, so the
    rules and the dashboard are checked against the real exporter."""
    from ivr.config import load_config
    from ivr.recording.service import DiskUse
    from metrics.exporter import HotlineCollector, Sources
    from metrics.forecast import ForecastCollector
    from metrics.notices import NoticesCollector
    from metrics.spotchecks import SpotChecksCollector
    from metrics.weekday_hour import WeekdayHourCollector

    class _Disk:
        def disk_use(self) -> DiskUse:
            return DiskUse(0, 0)

    # with two nodes, so the families only several nodes export are listed too
    config = load_config(ROOT / "hotline.example.toml").with_nodes(2)
    sources = Sources(store=cast(Any, None), config=lambda: config, health=_Health(),
                      recordings=cast(Any, _Disk()))
    kinds: dict[str, set[str]] = {}
    targets: dict[str, set[tuple[str, ...]]] = {}
    grids = WeekdayHourCollector(cast(Any, None), sources.config, sources.clock)
    forecast = ForecastCollector(cast(Any, None), sources.config, sources.clock)
    notices = NoticesCollector(cast(Any, None), sources.clock)
    spotchecks = SpotChecksCollector(cast(Any, None))
    others = [*grids.collect(), *forecast.collect(), *notices.collect(), *spotchecks.collect()]
    for family in [*HotlineCollector(sources).collect(), *others]:
        name = f"{family.name}_total" if family.type == "counter" else family.name
        kinds.setdefault(family.type, set()).add(name)
        for sample in family.samples:
            if sample.name in {"hotline_target_ratio", "hotline_target_average"}:
                labels = tuple(
                    sample.labels[key] for key in ("kind", "bound") if key in sample.labels
                )
                targets.setdefault(sample.name, set()).add(labels)
    assert kinds == {"counter": COUNTERS, "histogram": HISTOGRAMS, "gauge": GAUGES}
    assert targets["hotline_target_ratio"] == {(kind,) for kind in TARGET_KINDS}
    assert targets["hotline_target_average"] == TARGET_AVERAGES


def test_counters_end_in_total() -> None:
    assert all(name.endswith("_total") for name in COUNTERS)
    assert not any(name.endswith("_total") for name in GAUGES | HISTOGRAMS)


def test_the_rules_use_only_exported_metrics() -> None:
    recorded = recorded_names()
    for rule in rules():
        name = rule.get("record") or rule["alert"]
        expr = rule["expr"]
        unknown = set(METRIC_TOKEN.findall(expr)) - EXPORTED
        assert not unknown, f"{name} uses metrics the exporter does not expose: {unknown}"
        unknown = set(RECORDED_TOKEN.findall(expr)) - recorded
        assert not unknown, f"{name} uses recording rules nobody defines: {unknown}"


def test_the_rules_read_counters_only_through_increase_or_rate() -> None:
    for rule in rules():
        name = rule.get("record") or rule["alert"]
        expr = rule["expr"]
        used = [token for token in METRIC_TOKEN.findall(expr) if token in CUMULATIVE]
        through_range_function = RANGE_FUNCTION_ARG.findall(expr)
        assert sorted(used) == sorted(through_range_function), (
            f"{name}: a counter is read raw (use increase() or rate()): {expr}"
        )
        assert all(token.endswith(("_total", "_bucket", "_sum", "_count")) for token in used)


def test_recording_rules_are_every_measure_per_line_and_overall_in_every_window() -> None:
    names = [f"{ratio}_ratio" for ratio in RATIOS] + list(AVERAGES)
    expected = {
        f"hotline:{name}{level}:{window}"
        for name in names
        for level in ("", "_line")
        for window in WINDOWS
    }
    assert recorded_names() == expected


# SPEC section 3: record name -> (numerator, denominator) of the new or corrected measures
SPEC_MEASURES = {
    "within_three_rings_ratio": (
        "hotline_calls_within_three_rings_total",
        "hotline_calls_answered_by_person_total",
    ),
    "busy_ratio": ('hotline_calls_total{outcome="busy"}', "hotline_calls_offered_total"),
    "no_answer_ratio": ("hotline_calls_unanswered_total", "hotline_calls_offered_total"),
    "service_level_ratio": (
        "hotline_calls_in_service_level_total",
        "hotline_calls_queued_total",
    ),
    "ring_attempts_within_three_rings_ratio": (
        "hotline_ring_attempts_within_three_rings_total",
        "hotline_ring_attempts_judged_total",
    ),
    "average_queue_seconds": ("hotline_queue_seconds_total", "hotline_calls_queued_total"),
    "average_rings": ("hotline_answer_rings_sum", "hotline_answer_rings_count"),
    "average_handling_seconds": (
        "hotline_handling_seconds_total",
        "hotline_calls_handled_total",
    ),
}


def test_the_ratios_and_averages_have_the_spec_denominators() -> None:
    by_name = {rule["record"]: rule["expr"] for rule in rules() if "record" in rule}
    for (name, (numerator, denominator)), level, window in itertools.product(
        SPEC_MEASURES.items(), ("", "_line"), WINDOWS
    ):
        record = f"hotline:{name}{level}:{window}"
        above, below = by_name[record].split("\n/\n")
        assert f"increase({numerator}[{window}])" in above, record
        assert f"increase({denominator}[{window}])" in below, record
        # no sample, rather than NaN or +Inf, while nothing was counted
        assert re.search(r"\) > 0\)\s*$", below), record


def test_each_recording_rule_covers_the_window_its_name_says() -> None:
    for rule in rules():
        if "record" not in rule:
            continue
        window = rule["record"].rsplit(":", 1)[1]
        assert set(RANGE_SELECTOR.findall(rule["expr"])) == {window}, rule["record"]
        per_line = rule["record"].split(":")[1].endswith("_line")
        assert ("by (line)" in rule["expr"]) == per_line, rule["record"]


def test_every_alert_is_labelled_and_explained() -> None:
    alerts = [rule for rule in rules() if "alert" in rule]
    assert {rule["alert"] for rule in alerts} >= REQUIRED_ALERTS
    for rule in alerts:
        assert rule["labels"]["severity"] in {"warning", "critical"}, rule["alert"]
        annotations = rule["annotations"]
        assert annotations["summary"].strip(), rule["alert"]
        assert len(annotations["description"].split()) >= 10, rule["alert"]


def test_rate_alerts_compare_with_the_exported_target_and_need_enough_calls() -> None:
    by_name = {rule["alert"]: rule for rule in rules() if "alert" in rule}
    for alert, kind in (
        ("HotlineAutoAnswerRateLow", "auto_answer"),
        ("HotlineTransferAnswerRateLow", "transfer_answer"),
        ("HotlineManualAnswerRateLow", "manual_answer"),
        ("HotlineThreeRingsRateLow", "within_three_rings"),
        ("HotlineBusyRateHigh", "busy"),
        ("HotlineServiceLevelLow", "service_level"),
    ):
        expr = by_name[alert]["expr"]
        assert f'hotline_target_ratio{{kind="{kind}"}}' in expr, alert
        assert re.search(r">=\s*\d+\)?\s*$", expr.strip()), f"{alert} needs a minimum of calls"
        assert by_name[alert].get("for"), f"{alert} must be sustained"
    queue = by_name["HotlineQueueTimeHigh"]
    assert 'hotline_target_average{kind="average_queue_seconds",bound="max"}' in queue["expr"]
    assert re.search(r">=\s*\d+\)?\s*$", queue["expr"].strip())
    assert queue.get("for")
    # the minimum of calls is counted in the ratio's own denominator
    for alert, denominator in (
        ("HotlineThreeRingsRateLow", "hotline_calls_answered_by_person_total"),
        ("HotlineBusyRateHigh", "hotline_calls_offered_total"),
        ("HotlineServiceLevelLow", "hotline_calls_queued_total"),
        ("HotlineQueueTimeHigh", "hotline_calls_queued_total"),
    ):
        guard = by_name[alert]["expr"].rsplit("and on (line)", 1)[1]
        assert f"increase({denominator}[1h])" in guard, alert
    for alert in ("HotlineBusyRateHigh", "HotlineServiceLevelLow", "HotlineQueueTimeHigh"):
        assert by_name[alert]["labels"]["severity"] == "warning", alert
    assert by_name["HotlineCallNotAnswered"]["labels"]["severity"] == "critical"


def test_busy_calls_do_not_page_as_unanswered() -> None:
    """SPEC section 3: a busy call is no no-answer call; it has its own rate and alert."""
    by_name = {rule["alert"]: rule for rule in rules() if "alert" in rule}
    expr = by_name["HotlineCallNotAnswered"]["expr"]
    assert METRIC_TOKEN.findall(expr) == ["hotline_calls_unanswered_total"]
    assert "busy" in by_name["HotlineCallNotAnswered"]["annotations"]["description"]
    assert "hotline:busy_ratio_line:1h" in by_name["HotlineBusyRateHigh"]["expr"]
