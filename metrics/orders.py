"""Work orders and their hand-off in /metrics, from the capability's own cached counts
(a scrape never waits on the database): open orders by service and age band, and the
outbox's messages by state (pending, delivered, dead: the dead letters)."""

from __future__ import annotations

from collections.abc import Callable, Iterator

from prometheus_client.core import GaugeMetricFamily, Metric


def order_families(
    open_orders: Callable[[], dict[tuple[str, str], int]],
    outbox: Callable[[], dict[str, int]],
) -> Callable[[], Iterator[Metric]]:
    def families() -> Iterator[Metric]:
        orders = GaugeMetricFamily(
            "hotline_work_orders_open",
            "work orders not closed, by service and age band since they were taken",
            labels=["service", "age"],
        )
        for (service, band), count in sorted(open_orders().items()):
            orders.add_metric([service, band], count)
        yield orders
        messages = GaugeMetricFamily(
            "hotline_outbox_messages",
            "work-order hand-off messages by state (dead: no receiver took it after every "
            "retry)",
            labels=["state"],
        )
        for state, count in sorted(outbox().items()):
            messages.add_metric([state], count)
        yield messages

    return families
