"""Spot checks on /metrics: each checker's latest connection score this quarter
(`hotline_spotcheck_score{checker,kind}`, 0-20; the alert fires when a probe's is under
20) and the quarter's score once three or more checkers have checked."""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ivr.domain.spotcheck import QuarterScore
from ivr.spotchecks.service import SpotChecksService
from ivr.spotchecks.store import SpotCheck


class SpotChecksCollector(Collector):
    def __init__(self, service: SpotChecksService) -> None:
        self.service = service
        self.latest: dict[tuple[str, str], SpotCheck] = {}
        self.quarter: QuarterScore | None = None

    async def refresh(self) -> None:
        self.latest = await self.service.latest_by_checker()
        self.quarter = await self.service.quarter()

    def collect(self) -> Iterator[Metric]:
        score = GaugeMetricFamily(
            "hotline_spotcheck_score",
            "the latest connection score (0-20) of each checker this quarter",
            labels=["checker", "kind"],
        )
        for (checker, kind), check in sorted(self.latest.items()):
            score.add_metric([checker, kind], check.connection_score)
        yield score
        quarter = GaugeMetricFamily(
            "hotline_spotcheck_quarter_score",
            "the quarter's connection score: the average of its checkers (3 or more)",
            labels=["quarter"],
        )
        if self.quarter is not None and self.quarter.score is not None:
            quarter.add_metric([self.quarter.quarter], self.quarter.score)
        yield quarter
        checkers = GaugeMetricFamily(
            "hotline_spotcheck_checkers", "checkers who checked this quarter", labels=["quarter"]
        )
        if self.quarter is not None:
            checkers.add_metric([self.quarter.quarter], len(self.quarter.checkers))
        yield checkers
