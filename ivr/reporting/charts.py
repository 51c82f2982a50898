"""The report document's charts, drawn with matplotlib as PNG bytes (Figure objects
with the Agg canvas: no pyplot, no display, no global figure state).
Chinese labels use Debian's Noto Sans CJK (fonts-noto-cjk) when it is installed."""

from __future__ import annotations

import io
import itertools
from collections.abc import Sequence
from typing import Any

import matplotlib
from matplotlib.figure import Figure

from ivr.reporting.document import WEEKDAY_NAMES, Document

CJK_FONTS = ["Noto Sans CJK SC", "Noto Sans CJK JP", "Noto Serif CJK SC", "DejaVu Sans"]
DPI = 130


def _style() -> None:
    params = matplotlib.rcParams
    params["font.family"] = "sans-serif"
    if params["font.sans-serif"][:1] != CJK_FONTS[:1]:
        params["font.sans-serif"] = [*CJK_FONTS, *params["font.sans-serif"]]
    params["axes.unicode_minus"] = False


def _png(figure: Figure) -> bytes:
    out = io.BytesIO()
    figure.savefig(out, format="png", dpi=DPI)  # laid out once: constrained, not "tight"
    return out.getvalue()


def heatmap(grid: Sequence[Sequence[int]], title: str, colours: str = "Blues") -> bytes:
    """A weekday x hour grid, each cell with its count."""
    _style()
    figure = Figure(figsize=(10, 3.2), layout="constrained")
    axes = figure.subplots()
    image = axes.imshow(grid, aspect="auto", cmap=colours, vmin=0)
    axes.set_yticks(range(7), WEEKDAY_NAMES)
    axes.set_xticks(range(24), [f"{h:02d}" for h in range(24)], fontsize=8)
    axes.set_xlabel("local hour of arrival")
    axes.set_title(title)
    top = max((max(row) for row in grid), default=0)
    for y, row in enumerate(grid):
        for x, value in enumerate(row):
            if value:
                light = top and value > top * 0.6
                axes.text(x, y, str(value), ha="center", va="center", fontsize=7,
                          color="white" if light else "black")
    figure.colorbar(image, ax=axes, fraction=0.02)
    return _png(figure)


def bars(labels: Sequence[str], values: Sequence[float], title: str, xlabel: str,
         colour: str = "#3b6ea5", marks: dict[str, Any] | None = None) -> bytes:
    _style()
    figure = Figure(figsize=(5, 2.8), layout="constrained")
    axes = figure.subplots()
    axes.bar(range(len(values)), values, color=colour)
    axes.set_xticks(range(len(labels)), labels, fontsize=8, rotation=45 if len(labels) > 8 else 0)
    axes.set_xlabel(xlabel)
    axes.set_ylabel("calls")
    axes.set_title(title)
    for x, value in enumerate(values):
        if value:
            axes.text(x, value, f"{value:g}", ha="center", va="bottom", fontsize=8)
    if marks:
        axes.axvline(marks["at"], color="#c0392b", linestyle="--", linewidth=1)
        axes.text(marks["at"], axes.get_ylim()[1] * 0.9, marks["text"], color="#c0392b",
                  fontsize=8, ha="left")
    return _png(figure)


def forecast_lines(document: Document) -> bytes:
    _style()
    figure = Figure(figsize=(10, 3), layout="constrained")
    axes = figure.subplots()
    days = [d.day.day for d in document.days]
    axes.plot(days, [d.forecast_calls for d in document.days], marker="o", label="forecast")
    axes.plot(days, [d.actual_calls for d in document.days], marker="s", label="came")
    axes.set_xticks(days, [str(d) for d in days], fontsize=8)
    axes.set_xlabel("day of the period")
    axes.set_ylabel("calls for an agent")
    axes.set_title(f"{document.hotline}: forecast against what happened")
    axes.legend()
    return _png(figure)


def all_charts(document: Document) -> dict[str, bytes]:
    """Every chart of the document, by name."""
    tally = document.report.tally
    rings = tally.rings()
    answer = [count for _, count in tally.answer_buckets()]
    per_bucket = [answer[0], *(b - a for a, b in itertools.pairwise(answer))]
    bounds = [f"≤{b:g}" for b, _ in tally.answer_buckets()[:-1]] + [">300"]
    abandoned = tally.abandoned()
    queue = document.queue_times.labelled()
    return {
        "offered": heatmap(document.offered, "offered calls: weekday x hour"),
        "lost": heatmap(document.lost, "lost calls (busy, abandoned, failed)", "Reds"),
        "rings": bars(list(rings), list(rings.values()), "rings to answer (the person's phone)",
                      "rings", marks={"at": 2.5, "text": "three rings"}),
        "answer": bars(bounds, per_bucket, "speed of answer (request for a person → answer)",
                       "seconds", marks={"at": 6.5, "text": "20 s"}),
        "queue": bars([label for label, _ in queue], [n for _, n in queue],
                      "queue time (queue entry → answer or leaving)", "seconds",
                      marks={"at": 2.5, "text": "20 s"}),
        "abandoned": bars([p.value for p in abandoned], [n for n, _ in abandoned.values()],
                          "abandoned calls by place", "where the caller hung up", "#c0392b"),
        "forecast": forecast_lines(document),
    }
