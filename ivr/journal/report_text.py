"""Reports and call lists as plain-text tables, for the terminal."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import tzinfo

from ivr.domain.rates import Direction, Kpi, Rate
from ivr.domain.record import CallRecord
from ivr.journal.queries import Report, Slice

RATE_TITLES = {
    "auto_answer": "auto-answer connection (IVR lines)",
    "transfer_answer": "transfer answer (IVR lines)",
    "manual_answer": "manual answer (manual lines)",
    "no_answer": "no-answer",
    "within_three_rings": "answered within three rings",
    "busy": "busy (line full)",
    "ring_attempts_within_three_rings": "ring attempts answered within three rings",
    "average_rings": "average rings (answering phone)",
    "average_queue_seconds": "average queue time",
    "service_level": "service level (answered within the target wait)",
    "average_speed_of_answer_seconds": "average speed of answer",
    "average_handling_seconds": "average handling time (talk + wrap-up)",
}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value * 100:.2f}%"


def render_report(
    report: Report, title: str, zone: tzinfo, per_node: Mapping[str, Slice] | None = None
) -> str:
    """The report as text; `per_node` (several nodes) adds the split by node."""
    tally, kpi = report.tally, report.kpi
    start = report.start.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    end = report.end.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    lines = [
        f"{title} ({report.zone}), {'line ' + report.line if report.line else 'all lines'}",
        f"calls that arrived {start} to {end} local time",
        "",
        f"offered calls: {tally.offered}"
        + (f"   (still in progress, not counted yet: {tally.in_progress})"
           if tally.in_progress else ""),
        "",
        *_rate_table(kpi),
        "",
        "rings to answer: "
        + "  ".join(f"{label}: {count}" for label, count in tally.rings().items()),
        _answer_time(report.total),
        "outcomes: " + ", ".join(
            f"{outcome.value} {count}" for outcome, count in tally.outcomes().items()
        ),
        "abandoned by place: " + ", ".join(
            f"{place.value} {count}" + (f" (mean wait {wait:.1f} s)" if wait is not None else "")
            for place, (count, wait) in tally.abandoned().items()
        ),
        f"voicemails: {tally.outcome_voicemail} (urgent {tally.voicemail_urgent}, "
        f"empty {tally.voicemail_empty}, {tally.voicemail_ms_sum / 1000:.0f} s recorded)",
        "emergency transfers (on-call): "
        + ", ".join(f"{result.value} {count}" for result, count in tally.oncall().items()),
        f"callbacks owed: {tally.callbacks_needed}",
        f"calls routed by the dialplan alone (controller absent): {tally.controller_absent}",
    ]
    if len(report.per_line) > 1 or (report.per_line and not report.line):
        lines += ["", "per line:", *_slice_table(report.per_line.items())]
    if per_node:
        lines += ["", "per node (the Asterisk that had the call):",
                  *_slice_table(per_node.items())]
    busy_hours = [(f"{hour:02d}h", s) for hour, s in enumerate(report.by_hour) if s.tally.offered]
    if busy_hours:
        lines += ["", "by local hour of day:", *_slice_table(busy_hours)]
    busy_days = [(WEEKDAYS[day], s) for day, s in enumerate(report.by_weekday) if s.tally.offered]
    if busy_days:
        lines += ["", "by weekday:", *_slice_table(busy_days)]
    return "\n".join(lines)


def _rate_table(kpi: Kpi) -> list[str]:
    rows = [("rate", "value", "target", "met", "calls")]
    for rate in kpi.all:
        rows.append(
            (
                RATE_TITLES.get(rate.name, rate.name),
                rate_value(rate),
                rate_target(rate),
                {True: "yes", False: "NO", None: "-"}[rate.met],
                f"{rate.numerator} / {rate.denominator}",
            )
        )
    return _columns(rows, right=(1, 2, 4))


_UNITS = {"seconds": " s", "rings": ""}


def rate_value(rate: Rate) -> str:
    """A rate's value as the report shows it: 97.50%, 12.2 s, n/a."""
    if rate.unit == "share":
        return percent(rate.value)
    return "n/a" if rate.value is None else f"{rate.value:.1f}{_UNITS[rate.unit]}"


def rate_target(rate: Rate) -> str:
    """A rate's target as the report shows it: >= 85%, <= 20 s, 210-330 s."""
    if rate.direction is Direction.between:
        return f"{rate.target:g}-{rate.upper:g}{_UNITS.get(rate.unit, '')}"
    sign = ">=" if rate.direction is Direction.at_least else "<="
    if rate.unit == "share":
        return f"{sign} {rate.target * 100:.0f}%"
    return f"{sign} {rate.target:g}{_UNITS[rate.unit]}"


def _answer_time(total: Slice) -> str:
    tally = total.tally
    if not tally.answer_count:
        return "answer time: no call answered by a person"
    within_20 = dict(tally.answer_buckets())[20.0] / tally.answer_count
    quantiles = ", ".join(
        f"p{round(q * 100)} ~{tally.answer_quantile(q) or 0:.1f} s" for q in (0.5, 0.8, 0.9)
    )
    return (
        f"answer time: mean {tally.answer_mean_seconds or 0:.1f} s, {quantiles} "
        f"(estimated from the histogram); within 20 s: {percent(within_20)}"
    )


def _slice_table(slices: Iterable[tuple[str, Slice]]) -> list[str]:
    rows = [("", "offered", "auto", "transfer", "manual", "no-answer", "3 rings", "abandoned")]
    for name, part in slices:
        kpi = part.kpi
        rows.append(
            (
                name,
                str(part.tally.offered),
                percent(kpi.auto_answer_rate.value),
                percent(kpi.transfer_answer_rate.value),
                percent(kpi.manual_answer_rate.value),
                percent(kpi.no_answer_rate.value),
                percent(kpi.within_three_rings_rate.value),
                str(part.tally.outcome_abandoned),
            )
        )
    return _columns(rows, right=tuple(range(1, 8)))


def render_calls(
    records: Sequence[CallRecord], zone: tzinfo, names: Callable[[str | None], str | None]
) -> str:
    rows = [("arrived", "line", "caller", "outcome", "wait", "rings", "where", "by", "callback")]
    for r in records:
        rows.append(
            (
                r.arrived_at.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S"),
                r.line or "-",
                r.caller or "-",
                r.outcome.value if r.outcome else "in progress",
                f"{r.wait_seconds:.1f}s" if r.wait_seconds is not None else
                (f"{r.abandon_wait_seconds:.1f}s" if r.abandon_wait_seconds is not None else ""),
                str(r.rings or ""),
                r.abandon_place.value if r.abandon_place else (r.service or ""),
                names(r.answered_by) or "",
                "yes" if r.callback_needed else "",
            )
        )
    return "\n".join(_columns(rows, right=(4, 5)))


def _columns(rows: Sequence[Sequence[str]], right: tuple[int, ...] = ()) -> list[str]:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(row, widths, strict=True))
        ).rstrip()
        for row in rows
    ]
