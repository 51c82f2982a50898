"""`hotline_weekday_hour_calls`: calls of the last four weeks by local weekday and hour
of arrival, offered and lost (busy + abandoned + failed), per line and for all lines:
what the dashboard's weekday x hour heatmaps draw. Read from the rollup at scrape time
(`ivr.journal.heatmap`, the report document's grids); 7 x 24 x 2 series per line."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ivr.config import ALL_LINES, HotlineConfig
from ivr.journal.heatmap import WeekdayHour, weekday_hour_by_line
from ivr.journal.queries import today_range
from ivr.journal.store import Store

WEEKS = 4
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class WeekdayHourCollector(Collector):
    def __init__(
        self, store: Store, config: Callable[[], HotlineConfig], clock: Callable[[], datetime]
    ) -> None:
        self.store, self.config, self.clock = store, config, clock
        self.grids: dict[str, WeekdayHour] = {}

    async def refresh(self) -> None:
        """The four whole weeks of local days before today."""
        config = self.config()
        zone = config.hotline.zone
        today, _ = today_range(self.clock(), zone)
        start = today - timedelta(weeks=WEEKS)  # local midnights, DST aside
        every, by_line = await weekday_hour_by_line(self.store, start, today, zone)
        grids = {ALL_LINES: every}
        for line in config.lines:
            grids[line.name] = by_line.get(line.name) or _empty()
        self.grids = grids

    def collect(self) -> Iterator[Metric]:
        family = GaugeMetricFamily(
            "hotline_weekday_hour_calls",
            f"Calls of the last {WEEKS} weeks by local weekday and hour of arrival "
            "(kind: offered, or lost = busy + abandoned + failed)",
            labels=["line", "kind", "weekday", "hour"],
        )
        for line, grid in self.grids.items():
            for kind, rows in (("offered", grid.offered), ("lost", grid.lost)):
                for day, row in zip(WEEKDAYS, rows, strict=True):
                    for hour, count in enumerate(row):
                        family.add_metric([line, kind, day, f"{hour:02d}"], count)
        yield family


def _empty() -> WeekdayHour:
    zeros = tuple(tuple(0 for _ in range(24)) for _ in range(7))
    return WeekdayHour(zeros, zeros)
