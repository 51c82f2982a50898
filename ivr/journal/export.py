"""Calls as JSON or CSV for scripts (`hotline calls --format json|csv`): one object or
row per call, the columns of the API's /api/calls.csv, times in UTC and local."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Sequence
from typing import Any
from zoneinfo import ZoneInfo

from ivr.domain.record import CallRecord

COLUMNS = (
    "linkedid", "arrived_local", "arrived_utc", "line", "mode", "caller", "service", "outcome",
    "answered_by", "answered_by_name", "wait_seconds", "rings", "within_three_rings",
    "queue_seconds",
    "abandon_place", "abandon_wait_seconds", "voicemail_seconds", "voicemail_urgent",
    "oncall_result", "ended_utc", "end_cause", "callback_needed",
)


def call_row(
    r: CallRecord, zone: ZoneInfo, names: Callable[[str | None], str | None]
) -> dict[str, Any]:
    return {
        "linkedid": r.linkedid,
        "arrived_local": r.arrived_at.astimezone(zone).replace(tzinfo=None)
        .isoformat(sep=" ", timespec="seconds"),
        "arrived_utc": r.arrived_at.isoformat(),
        "line": r.line,
        "mode": r.mode.value,
        "caller": r.caller,
        "service": r.service,
        "outcome": r.outcome.value if r.outcome else None,
        "answered_by": r.answered_by,
        "answered_by_name": names(r.answered_by),
        "wait_seconds": r.wait_seconds,
        "rings": r.rings,
        "within_three_rings": r.within_three_rings,
        "queue_seconds": r.queue_seconds,
        "abandon_place": r.abandon_place.value if r.abandon_place else None,
        "abandon_wait_seconds": r.abandon_wait_seconds,
        "voicemail_seconds": r.voicemail_seconds,
        "voicemail_urgent": r.voicemail_urgent,
        "oncall_result": r.oncall_result.value if r.oncall_result else None,
        "ended_utc": r.ended_at.isoformat() if r.ended_at else None,
        "end_cause": r.end_cause,
        "callback_needed": r.callback_needed,
    }


def calls_json(
    records: Sequence[CallRecord], zone: ZoneInfo, names: Callable[[str | None], str | None]
) -> str:
    return json.dumps([call_row(r, zone, names) for r in records], ensure_ascii=False, indent=1)


def calls_csv(
    records: Sequence[CallRecord], zone: ZoneInfo, names: Callable[[str | None], str | None]
) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\n")
    writer.writeheader()
    for r in records:
        row = call_row(r, zone, names)
        writer.writerow({
            key: _cell(value) for key, value in row.items()
        })
    return out.getvalue()


def _cell(value: Any) -> Any:
    if value is None:
        return ""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, float):
        return f"{value:.3f}"
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value  # a spreadsheet would run it as a formula
    return value
