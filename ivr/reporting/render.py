"""A report document as text, JSON, CSV, HTML (charts inline) or PDF (the HTML printed
by weasyprint). Every number comes from `Document`, i.e. from the journal's `report()`:
the text is `hotline report`'s own table followed by the document's extra sections."""

from __future__ import annotations

import base64
import csv
import io
import json
from datetime import date
from typing import Any, Literal
from zoneinfo import ZoneInfo

from jinja2 import Environment, PackageLoader, select_autoescape

from ivr.domain.queue_time import QUEUE_BOUNDS
from ivr.domain.rates import Rate
from ivr.journal.report_text import (
    RATE_TITLES,
    WEEKDAYS,
    percent,
    rate_target,
    rate_value,
    render_report,
)
from ivr.reporting.document import WEEKDAY_NAMES, Document

Format = Literal["text", "json", "csv", "html", "pdf"]
FORMATS: tuple[Format, ...] = ("text", "json", "csv", "html", "pdf")
MEDIA_TYPES = {
    "text": "text/plain; charset=utf-8",
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
}


def render(document: Document, fmt: Format) -> bytes:
    if fmt == "text":
        return text(document).encode("utf-8")
    if fmt == "json":
        return json.dumps(as_json(document), ensure_ascii=False, indent=1).encode("utf-8")
    if fmt == "csv":
        return as_csv(document).encode("utf-8")
    if fmt == "html":
        return html(document).encode("utf-8")
    return pdf(document)


# -- text ---------------------------------------------------------------------------------


def text(document: Document) -> str:
    local = ZoneInfo(document.report.zone)
    lines = [render_report(document.report, document.title, local), ""]
    lines.append("offered calls by weekday and local hour:")
    lines += _grid_text(document.offered)
    lines += ["", "lost calls (busy, abandoned, failed) by weekday and local hour:"]
    lines += _grid_text(document.lost)
    lines += ["", "queue time (queue entry -> answer or leaving), seconds:",
              "  ".join(f"{label}: {n}" for label, n in document.queue_times.labelled())]
    c = document.callbacks
    lines += [
        "",
        f"callback tasks of the period's calls: owed {c.owed}, called back {c.called_back}, "
        f"rate {percent(document.callback_rate)} (anonymous callers apart: {c.anonymous}); "
        f"attempts made {c.attempts}",
        f"work orders closed {document.orders_closed}, order callbacks made "
        f"{c.order_callbacks_made}: callback rate (回访率) {percent(document.order_callback_rate)}",
        "",
        f"dissatisfied callbacks (回访不满意): {len(document.dissatisfied)}",
        *(f"  {row.called_at} {row.caller} {row.service or '-'} order {row.order_id or '-'} "
          f"{row.department or '-'} {row.satisfaction_note or '-'}"
          for row in document.dissatisfied),
        "",
        *_spot_text(document),
        "",
        "forecast against what happened (calls for an agent; peak agents by Erlang C):",
        "day          forecast   came  peak agents forecast / for what came",
    ]
    for d in document.days:
        lines.append(f"{d.day.isoformat()} {WEEKDAYS[d.day.weekday()]} {d.forecast_calls:8.1f} "
                     f"{d.actual_calls:6d}  {d.forecast_peak_agents:>11} / {d.actual_peak_agents}")
    return "\n".join(lines)


def _spot_text(document: Document) -> list[str]:
    spot = document.spot_checks
    lines = [f"spot checks {spot.quarter} (connection part, of 20): quarter score "
             f"{'-' if spot.score is None else f'{spot.score:g}'} from {len(spot.checkers)} "
             "checker(s)"]
    lines += [f"  {c.checker}: {c.score:g} over {c.checks} check(s)" for c in spot.checkers]
    lines.append(f"quality scores (listened, of 80) of {len(document.quality)} agent(s):")
    lines += [f"  {a.agent}: {a.total:g} over {a.calls} call(s)" for a in document.quality]
    return lines


def _grid_text(grid: tuple[tuple[int, ...], ...]) -> list[str]:
    hours = [h for h in range(24) if any(row[h] for row in grid)]
    if not hours:
        return ["  (none)"]
    rows = ["     " + "".join(f"{h:>5}" for h in hours) + "  total"]
    for day, row in zip(WEEKDAY_NAMES, grid, strict=True):
        rows.append(f"  {day}" + "".join(f"{row[h]:>5}" for h in hours) + f"{sum(row):>7}")
    return rows


# -- JSON and CSV -------------------------------------------------------------------------


def _rate(rate: Rate) -> dict[str, Any]:
    return {
        "name": rate.name,
        "title": RATE_TITLES.get(rate.name, rate.name),
        "numerator": rate.numerator,
        "denominator": rate.denominator,
        "value": rate.value,
        "target": rate.target,
        "upper": rate.upper,
        "direction": rate.direction.value,
        "met": rate.met,
        "unit": rate.unit,
    }


def as_json(document: Document) -> dict[str, Any]:
    report, tally = document.report, document.report.tally
    return {
        "title": document.title,
        "period": {
            "kind": document.kind,
            "label": document.label,
            "first_day": document.first_day.isoformat(),
            "last_day": document.last_day.isoformat(),
            "start": report.start.isoformat(),
            "end": report.end.isoformat(),
            "zone": report.zone,
        },
        "line": report.line,
        "offered": tally.offered,
        "in_progress": tally.in_progress,
        "rates": [_rate(rate) for rate in report.kpi.all],
        "outcomes": {o.value: n for o, n in tally.outcomes().items()},
        "per_line": {
            name: {"offered": part.tally.offered, "rates": [_rate(r) for r in part.kpi.headline]}
            for name, part in report.per_line.items()
        },
        "heatmap": {
            "weekdays": list(WEEKDAY_NAMES),
            "offered": [list(row) for row in document.offered],
            "lost": [list(row) for row in document.lost],
        },
        "rings": tally.rings(),
        "answer_time": {
            "buckets": [{"le": None if b == float("inf") else b, "count": n}
                        for b, n in tally.answer_buckets()],
            "mean_seconds": tally.answer_mean_seconds,
        },
        "queue_time": {
            "buckets": [{"le": b, "count": n}
                        for b, n in zip((*QUEUE_BOUNDS, None), document.queue_times.counts,
                                        strict=True)],
            "queued": document.queue_times.total,
            "mean_seconds": document.queue_times.mean_seconds,
        },
        "abandoned": [
            {"place": p.value, "count": n, "mean_wait_seconds": w}
            for p, (n, w) in tally.abandoned().items()
        ],
        "voicemails": {
            "count": tally.outcome_voicemail,
            "urgent": tally.voicemail_urgent,
            "empty": tally.voicemail_empty,
            "seconds": tally.voicemail_ms_sum / 1000,
        },
        "callbacks": {
            "owed_by_calls": tally.callbacks_needed,
            "tasks_owed": document.callbacks.owed,
            "called_back": document.callbacks.called_back,
            "rate": document.callback_rate,
            "attempts": document.callbacks.attempts,
            "anonymous": document.callbacks.anonymous,
            "orders_closed": document.orders_closed,
            "order_callbacks_made": document.callbacks.order_callbacks_made,
            "order_rate": document.order_callback_rate,
            "dissatisfied": document.callbacks.dissatisfied,
        },
        "dissatisfied": [row.model_dump() for row in document.dissatisfied],
        "spot_checks": {
            "quarter": document.spot_checks.quarter,
            "score": document.spot_checks.score,
            "checkers": [{"checker": c.checker, "checks": c.checks, "score": c.score}
                         for c in document.spot_checks.checkers],
        },
        "quality": [{"agent": a.agent, "calls": a.calls, "items": a.items, "total": a.total}
                    for a in document.quality],
        "forecast": {
            "handling_seconds": document.forecast.assumptions.handling_seconds,
            "history_days": document.forecast.assumptions.history_days,
            "days": [
                {"day": d.day.isoformat(), "forecast_calls": d.forecast_calls,
                 "actual_calls": d.actual_calls, "forecast_peak_agents": d.forecast_peak_agents,
                 "actual_peak_agents": d.actual_peak_agents}
                for d in document.days
            ],
        },
        "generated_at": document.generated_at.isoformat(),
    }


def as_csv(document: Document) -> str:
    """One long table: section, key, subkey, value (a spreadsheet pivots it)."""
    data = as_json(document)
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(("section", "key", "subkey", "value"))
    writer.writerow(("period", document.kind, "", document.label))
    writer.writerow(("calls", "offered", "", data["offered"]))
    for rate in data["rates"]:
        for field in ("numerator", "denominator", "value", "target", "met"):
            value = rate[field]
            writer.writerow(("rate", rate["name"], field, "" if value is None else value))
    for outcome, count in data["outcomes"].items():
        writer.writerow(("outcome", outcome, "", count))
    for kind in ("offered", "lost"):
        for day, row in zip(WEEKDAY_NAMES, data["heatmap"][kind], strict=True):
            for hour, count in enumerate(row):
                writer.writerow((f"heatmap_{kind}", day, f"{hour:02d}", count))
    for label, count in data["rings"].items():
        writer.writerow(("rings", label, "", count))
    for bucket in data["answer_time"]["buckets"]:
        writer.writerow(("answer_time_le", bucket["le"] or "+Inf", "", bucket["count"]))
    for bucket in data["queue_time"]["buckets"]:
        writer.writerow(("queue_time", bucket["le"] or f">{QUEUE_BOUNDS[-1]}", "",
                         bucket["count"]))
    for item in data["abandoned"]:
        writer.writerow(("abandoned", item["place"], "", item["count"]))
    for key, value in data["voicemails"].items():
        writer.writerow(("voicemails", key, "", value))
    for key, value in data["callbacks"].items():
        writer.writerow(("callbacks", key, "", "" if value is None else value))
    for row in data["dissatisfied"]:
        writer.writerow(("dissatisfied", row["task"], row["caller"], row["satisfaction_note"]))
    spot = data["spot_checks"]
    writer.writerow(("spot_checks", spot["quarter"], "score",
                     "" if spot["score"] is None else spot["score"]))
    for checker in spot["checkers"]:
        writer.writerow(("spot_checks", spot["quarter"], checker["checker"], checker["score"]))
    for agent in data["quality"]:
        writer.writerow(("quality", agent["agent"], "total", agent["total"]))
    for day in data["forecast"]["days"]:
        for key in ("forecast_calls", "actual_calls", "forecast_peak_agents",
                    "actual_peak_agents"):
            writer.writerow(("forecast", day["day"], key, day[key]))
    return out.getvalue()


# -- HTML and PDF -------------------------------------------------------------------------

_env = Environment(
    loader=PackageLoader("ivr.reporting", "templates"),
    autoescape=select_autoescape(["html", "j2"]),
)


def html(document: Document) -> str:
    from ivr.reporting.charts import all_charts

    charts = {
        name: "data:image/png;base64," + base64.b64encode(png).decode("ascii")
        for name, png in all_charts(document).items()
    }
    report = document.report
    rates = [
        {"title": RATE_TITLES.get(r.name, r.name), "value": rate_value(r),
         "target": rate_target(r), "met": r.met, "calls": f"{r.numerator} / {r.denominator}"}
        for r in report.kpi.all
    ]
    local = ZoneInfo(report.zone)
    return _env.get_template("report.html.j2").render(
        d=document,
        tally=report.tally,
        rates=rates,
        per_line=[(name, part, [(RATE_TITLES[r.name], rate_value(r), r.met)
                                for r in part.kpi.headline])
                  for name, part in report.per_line.items()],
        charts=charts,
        weekdays=WEEKDAY_NAMES,
        percent=percent,
        start=report.start.astimezone(local),
        end=report.end.astimezone(local),
        weekday_of=lambda day: WEEKDAYS[day.weekday()] if isinstance(day, date) else "",
    )


def pdf(document: Document) -> bytes:
    from weasyprint import HTML

    data: bytes = HTML(string=html(document)).write_pdf()
    return data
