"""The Grafana dashboard and its provisioning: the dashboard queries only what the exporter
and the recording rules provide, draws every target next to its rate, and is loaded from
the folder docker-compose.yml mounts, through the datasource provisioned by uid.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

from tests.unit.test_prometheus_rules import (
    AVERAGES,
    EXPORTED,
    METRIC_TOKEN,
    RATIOS,
    RECORDED_TOKEN,
    ROOT,
    TARGET_AVERAGES,
    TARGET_KINDS,
    load_yaml,
    recorded_names,
)

GRAFANA = ROOT / "metrics" / "grafana"
DASHBOARD = GRAFANA / "dashboards" / "hotline.json"
DATASOURCES = GRAFANA / "provisioning" / "datasources"
PROVIDERS = GRAFANA / "provisioning" / "dashboards"
COMPOSE = ROOT / "docker-compose.yml"

RATIO_METRICS = re.compile(r"hotline_ratio\b|hotline_target_ratio\b|hotline:[a-z_]+_ratio")
SECONDS_AVERAGES = re.compile(r"average_(?:queue|handling|speed_of_answer)_seconds")
HANDLING_BAND = (210, 330)  # SPEC section 3: talk + wrap-up, industry band in seconds
VARIABLE = re.compile(r"\$(\w+)")


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def panels(container: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for panel in container.get("panels", []):
        yield panel
        yield from panels(panel)  # panels inside collapsed rows


def variables() -> dict[str, dict[str, Any]]:
    return {var["name"]: var for var in dashboard()["templating"]["list"]}


def expansions(expr: str) -> list[str]:
    """The expression with each value of the dashboard's custom variables (e.g. $window),
    so that recording rule names built from a variable can be checked."""
    custom = {
        name: [option["value"] for option in var["options"]]
        for name, var in variables().items()
        if var["type"] == "custom"
    }
    results = [expr]
    for name, values in custom.items():
        if f"${name}" in expr:
            results = [text.replace(f"${name}", value) for text in results for value in values]
    return results


def exprs() -> Iterator[tuple[dict[str, Any], str]]:
    for panel in panels(dashboard()):
        for target in panel.get("targets", []):
            yield panel, target["expr"]


def provisioned_datasource() -> dict[str, Any]:
    sources = [
        source
        for path in sorted(DATASOURCES.glob("*.yml"))
        for source in load_yaml(path)["datasources"]
    ]
    assert len(sources) == 1
    return sources[0]


def test_the_dashboard_is_valid_grafana_json_with_a_fixed_uid() -> None:
    board = dashboard()
    assert board["uid"] == "hotline-overview"
    assert 36 <= board["schemaVersion"] <= 41
    ids = [panel["id"] for panel in panels(board)]
    assert len(ids) == len(set(ids)), "panel ids must be unique"
    for panel in panels(board):
        grid = panel["gridPos"]
        assert grid["x"] + grid["w"] <= 24, panel["title"]


def test_every_query_uses_exported_metrics_or_recording_rules() -> None:
    recorded = recorded_names()
    seen = 0
    for panel, expr in exprs():
        for text in expansions(expr):
            seen += 1
            unknown = set(METRIC_TOKEN.findall(text)) - EXPORTED
            assert not unknown, f"{panel['title']}: not exported: {unknown}"
            unknown = set(RECORDED_TOKEN.findall(text)) - recorded
            assert not unknown, f"{panel['title']}: no such recording rule: {unknown}"
    assert seen > 20


def test_every_target_kind_is_drawn_as_a_target_series() -> None:
    drawn = set()
    bounds = set()
    for _, expr in exprs():
        drawn.update(re.findall(r'hotline_target_ratio\{kind="(\w+)"\}', expr))
        bounds.update(re.findall(r'hotline_target_average\{kind="(\w+)",bound="(\w+)"\}', expr))
    assert drawn == set(TARGET_KINDS)
    assert bounds == TARGET_AVERAGES


def test_every_recording_rule_is_drawn() -> None:
    drawn = {
        name
        for _, expr in exprs()
        for text in expansions(expr)
        for name in RECORDED_TOKEN.findall(text)
    }
    assert drawn == recorded_names()


def test_every_calendar_ratio_and_average_is_shown() -> None:
    text = " ".join(expr for _, expr in exprs())
    shown = set(re.findall(r'hotline_ratio\{kind="(\w+)"', text))
    assert shown == set(RATIOS)
    averaged = set(re.findall(r'hotline_average\{kind="(\w+)"', text))
    assert averaged >= set(AVERAGES)


def test_each_rate_panel_shows_its_target() -> None:
    """A panel drawing a rate also queries that rate's target from the exporter."""
    for panel in panels(dashboard()):
        text = " ".join(target["expr"] for target in panel.get("targets", []))
        for kind in TARGET_KINDS:
            if f"hotline:{kind}_ratio" in text:
                assert f'hotline_target_ratio{{kind="{kind}"}}' in text, panel["title"]
        for kind in AVERAGES:
            if f"hotline:{kind}" in text:
                assert f'hotline_target_average{{kind="{kind}",' in text, panel["title"]


def test_the_handling_time_panels_show_the_band() -> None:
    """SPEC section 3: handling time is judged against a band, drawn as thresholds."""
    seen = 0
    for panel in panels(dashboard()):
        text = " ".join(target["expr"] for target in panel.get("targets", []))
        if "average_handling_seconds" not in text:
            continue
        seen += 1
        steps = panel["fieldConfig"]["defaults"]["thresholds"]["steps"]
        colors = {step["value"]: step["color"] for step in steps}
        low, high = HANDLING_BAND
        assert colors.get(low) == "green", panel["title"]
        assert high in colors and colors[high] != "green", panel["title"]
    assert seen >= 2  # the calendar period and the rolling window


def test_ratios_are_shown_as_percentages_and_times_in_seconds() -> None:
    for panel, expr in exprs():
        unit = panel["fieldConfig"]["defaults"].get("unit")
        if RATIO_METRICS.search(expr):
            assert unit == "percentunit", panel["title"]
        if "hotline_person_wait_seconds" in expr and "histogram_quantile" in expr:
            assert unit == "s", panel["title"]
        if SECONDS_AVERAGES.search(expr):
            assert unit == "s", panel["title"]
        if "average_rings" in expr:
            assert unit in {"short", "none"}, panel["title"]


def test_the_dashboard_covers_what_supervisors_watch() -> None:
    text = " ".join(expr for _, expr in exprs())
    for needed in (
        "hotline_answer_rings_bucket",
        "histogram_quantile(",
        "hotline_abandoned_total",
        "hotline_calls_offered_total",
        "hotline_agents",
        "hotline_oncall_transfers_total",
        "hotline_voicemails_total",
        "hotline_voicemails_empty_total",
        "hotline_refused_total",
        "hotline_callbacks_owed",
        "hotline_calls_shed_total",
    ):
        assert needed in text, needed


def test_the_line_and_period_variables_exist() -> None:
    found = variables()
    line = found["line"]
    assert line["type"] == "query"
    query = line["query"]["query"] if isinstance(line["query"], dict) else line["query"]
    assert query == "label_values(hotline_calls_offered_total, line)"
    assert line["includeAll"] and line["multi"]
    period = found["period"]
    assert {option["value"] for option in period["options"]} == {"today", "month"}
    used = {name for _, expr in exprs() for name in VARIABLE.findall(expr)}
    assert {"line", "period"} <= used
    assert used <= set(found) | {"__range", "__rate_interval", "__interval"}


def test_panels_use_the_provisioned_datasource_by_uid() -> None:
    source = provisioned_datasource()
    assert source["type"] == "prometheus"
    assert source["url"] == "http://prometheus:9090"
    expected = {"type": "prometheus", "uid": source["uid"]}
    board = dashboard()
    for panel in panels(board):
        if panel["type"] == "row":
            continue
        assert panel["datasource"] == expected, panel["title"]
        for target in panel["targets"]:
            assert target["datasource"] == expected, panel["title"]
    for var in board["templating"]["list"]:
        if var["type"] == "query":
            assert var["datasource"] == expected


def test_the_provider_loads_the_folder_compose_mounts() -> None:
    providers = [
        provider
        for path in sorted(PROVIDERS.glob("*.yml"))
        for provider in load_yaml(path)["providers"]
    ]
    assert len(providers) == 1
    container_path = providers[0]["options"]["path"]
    grafana = load_yaml(COMPOSE)["services"]["grafana"]
    mounts = dict(volume.split(":")[:2] for volume in grafana["volumes"] if volume.startswith("./"))
    assert mounts["./metrics/grafana/dashboards"] == container_path
    for sub in ("datasources", "dashboards"):
        source = f"./metrics/grafana/provisioning/{sub}"
        assert mounts[source] == f"/etc/grafana/provisioning/{sub}"
    home = grafana["environment"]["GF_DASHBOARDS_DEFAULT_HOME_DASHBOARD_PATH"]
    assert home == f"{container_path}/{DASHBOARD.name}"


def test_a_true_weekday_by_hour_heatmap_of_offered_and_lost_calls() -> None:
    """Rows are weekdays, columns hours: the exported 7 x 24 grid turned into a matrix
    (groupingToMatrix) and drawn as a heatmap of the values as they are (no bucketing)."""
    grid = re.compile(r'hotline_weekday_hour_calls\{kind="(\w+)"')
    heatmaps = {
        kind: panel
        for panel in panels(dashboard())
        if panel["type"] == "heatmap"
        for kind in grid.findall(panel["targets"][0]["expr"])
    }
    assert set(heatmaps) == {"offered", "lost"}
    for panel in heatmaps.values():
        (target,) = panel["targets"]
        assert target["expr"].startswith("sum by (hour, weekday) (")
        assert 'line=~"$line"' in target["expr"]  # the chosen lines, never the "all" series
        assert (target["format"], target["instant"]) == ("table", True)
        steps = {step["id"]: step["options"] for step in panel["transformations"]}
        assert steps["groupingToMatrix"]["rowField"] == "hour"
        assert steps["groupingToMatrix"]["columnField"] == "weekday"
        order = steps["organize"]["indexByName"]
        assert sorted(order, key=order.get)[1:] == ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
        assert panel["options"]["calculate"] is False
        assert panel["gridPos"]["w"] >= 12


def test_the_forecast_is_drawn_against_the_agents_logged_in() -> None:
    (panel,) = [p for p in panels(dashboard())
                if any("hotline_forecast_agents" in t["expr"] for t in p.get("targets", []))]
    text = " ".join(t["expr"] for t in panel["targets"])
    assert 'hotline_agents{state="logged_in"}' in text
    assert panel["type"] == "timeseries"
