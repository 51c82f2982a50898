"""Outage notices on /metrics: per notice of the last days, the calls that heard it to
its end and how many of them still asked for a person (what the notice did not answer),
and whether it plays now."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime, timedelta

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ivr.domain.notices import Notice
from ivr.notices.store import Hearing, NoticeStore

SHOWN_DAYS = 7  # notices that ended longer ago than this leave /metrics (bounded labels)


class NoticesCollector(Collector):
    def __init__(self, store: NoticeStore, now: Callable[[], datetime]) -> None:
        self.store = store
        self.now = now
        self.notices: list[Notice] = []
        self.hearings: dict[int, Hearing] = {}
        self.taken_at: datetime | None = None

    async def refresh(self) -> None:
        now = self.now()
        self.notices = await self.store.since(now - timedelta(days=SHOWN_DAYS))
        since = min((n.starts_at for n in self.notices), default=now)
        self.hearings = await self.store.hearings(since) if self.notices else {}
        self.taken_at = now

    def collect(self) -> Iterator[Metric]:
        heard = CounterMetricFamily(
            "hotline_notice_heard_calls", "calls that heard an outage notice to its end",
            labels=["notice"],
        )
        asked = CounterMetricFamily(
            "hotline_notice_person_requested_calls",
            "calls that heard an outage notice and still asked for a person",
            labels=["notice"],
        )
        active = GaugeMetricFamily(
            "hotline_notice_active", "1 while an outage notice plays", labels=["notice"]
        )
        now = self.taken_at or self.now()
        for notice in self.notices:
            hearing = self.hearings.get(notice.id, Hearing())
            label = [str(notice.id)]
            heard.add_metric(label, hearing.heard)
            asked.add_metric(label, hearing.asked_for_person)
            active.add_metric(label, int(notice.active_at(now)))
        yield from (heard, asked, active)
