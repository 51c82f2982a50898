"""`hotline_forecast_agents` and `hotline_forecast_calls`: what the staffing forecast
(R9, `ivr.journal.forecast`) expects for the current local half hour: agents needed by
Erlang C and calls for an agent. The dashboard draws them against the agents logged in.
Today's forecast is made once a day (from the weeks before today) and kept."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, datetime

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from ivr.config import HotlineConfig
from ivr.domain.forecast import MonthForecast, SlotForecast
from ivr.journal.forecast import days_forecast
from ivr.journal.store import Store


class ForecastCollector(Collector):
    def __init__(
        self, store: Store, config: Callable[[], HotlineConfig], clock: Callable[[], datetime]
    ) -> None:
        self.store, self.config, self.clock = store, config, clock
        self.made_for: tuple[date, int] | None = None
        self.forecast: MonthForecast | None = None
        self.now: SlotForecast | None = None

    async def refresh(self) -> None:
        config = self.config()
        local = self.clock().astimezone(config.hotline.zone)
        key = (local.date(), id(config))  # a reload makes it again
        if self.made_for != key:
            today = local.date()
            self.forecast = await days_forecast(
                self.store, config, today.isoformat(), [today], today
            )
            self.made_for = key
        assert self.forecast is not None
        self.now = self.forecast.slots[(local.hour * 60 + local.minute) // 30]

    def collect(self) -> Iterator[Metric]:
        now = self.now
        yield GaugeMetricFamily(
            "hotline_forecast_agents",
            "Agents the staffing forecast needs in the current local half hour (Erlang C)",
            value=now.agents if now else 0,
        )
        yield GaugeMetricFamily(
            "hotline_forecast_calls",
            "Calls for an agent the forecast expects in the current local half hour",
            value=now.staffing.calls if now else 0,
        )
