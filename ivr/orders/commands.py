"""What `hotline orders ...` does, behind the thin typer commands: the same service
the API uses, as a supervisor (the CLI runs on the server, as its administrator)."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime
from typing import Any

from ivr.config import HotlineConfig
from ivr.journal.commands import open_journal
from ivr.orders.domain import OrderStatus, WorkOrder
from ivr.orders.service import Actor, OrdersService, order_json
from ivr.orders.store import OrderStore

CLI = Actor("cli", everyone=True)
COLUMNS = ("id", "status", "service", "department", "caller", "address", "problem",
           "taken_by", "created_at", "closed_at", "linkedid")


def render(orders: list[WorkOrder], fmt: str, config: HotlineConfig) -> str:
    rows = [order_json(order) for order in orders]
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=2)
    if fmt == "csv":
        out = io.StringIO()
        writer = csv.DictWriter(out, fieldnames=list(rows[0]) if rows else list(COLUMNS))
        writer.writeheader()
        writer.writerows(rows)
        return out.getvalue()
    if not rows:
        return "no work orders"
    zone = config.hotline.zone

    def local(order: WorkOrder) -> str:
        return order.created_at.astimezone(zone).strftime("%Y-%m-%d %H:%M")

    lines = [f"{'id':>6}  {'status':<10} {'service':<12} {'taken':<16} {'department':<10} "
             "caller / address / problem"]
    for order in orders:
        lines.append(
            f"{order.id:>6}  {order.status.value:<10} {order.service:<12} {local(order):<16} "
            f"{order.department:<10} {order.caller} / {order.address or '-'} / "
            f"{order.problem or '-'}"
        )
    return "\n".join(lines)


async def list_orders(
    config: HotlineConfig, status: str | None, service: str | None, limit: int, fmt: str
) -> str:
    filters: dict[str, Any] = {"service": service, "limit": limit}
    if status == "not_closed":
        filters["still_open"] = True
    elif status:
        filters["status"] = OrderStatus(status)
    async with open_journal(config) as store:
        orders = await OrdersService(OrderStore(store.engine), lambda: config).orders(
            CLI, **filters
        )
    return render(orders, fmt, config)


async def move_order(config: HotlineConfig, order_id: int, status: str, note: str) -> str:
    async with open_journal(config) as store:
        service = OrdersService(OrderStore(store.engine), lambda: config)
        order = await service.move(order_id, CLI, OrderStatus(status), note)
    return render([order], "text", config)


async def sync_orders(config: HotlineConfig, since: str | None = None) -> int:
    start = None
    if since is not None:
        try:
            start = datetime.fromisoformat(since)
        except ValueError as exc:
            raise ValueError(f"{since!r} is not a date or time like 2026-11-03T08:00") from exc
        start = start if start.tzinfo else start.replace(tzinfo=config.hotline.zone)
    async with open_journal(config) as store:
        return await OrdersService(OrderStore(store.engine), lambda: config).sync(start)
