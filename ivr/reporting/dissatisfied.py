"""The month's 回访不满意情况表 (R7: "话务中心每月将回访不满意情况表整理汇总交公司综合管理部"):
every callback whose customer answered dissatisfied, with the work order it was about.
Read from the callbacks and the work orders together, for the API and the CLI."""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime, tzinfo

from pydantic import BaseModel

from ivr.callbacks.domain import month_bounds
from ivr.callbacks.service import CallbacksService
from ivr.callbacks.store import CallbackStore
from ivr.config import HotlineConfig
from ivr.journal.commands import open_journal
from ivr.orders.store import OrderStore

COLUMNS = ("called_at", "task", "order_id", "caller", "service", "department", "address",
           "problem", "satisfaction_note", "by")


class DissatisfiedRow(BaseModel):
    called_at: str  # local time of the callback
    task: str
    order_id: int | None
    caller: str
    service: str | None
    department: str
    address: str
    problem: str
    satisfaction_note: str
    by: str


class DissatisfiedTable(BaseModel):
    month: str
    zone: str
    rows: list[DissatisfiedRow]


async def dissatisfied_rows(
    callbacks: CallbacksService, orders: OrderStore, year: int, month: int
) -> list[DissatisfiedRow]:
    start, end = month_bounds(year, month, callbacks.zone())
    return await dissatisfied_between(callbacks.store, orders, start, end, callbacks.zone())


async def dissatisfied_between(
    store: CallbackStore, orders: OrderStore, start: datetime, end: datetime, zone: tzinfo
) -> list[DissatisfiedRow]:
    """The dissatisfied callbacks of the tasks whose calls arrived in [start, end)."""
    rows = []
    for task in await store.dissatisfied(start, end):
        answer = next(a for a in task.attempts if a.satisfaction is not None)
        order = await orders.get(task.order_id) if task.order_id is not None else None
        rows.append(DissatisfiedRow(
            called_at=answer.at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            task=task.linkedid,
            order_id=task.order_id,
            caller=task.caller,
            service=task.service,
            department=order.department if order else "",
            address=order.address if order else "",
            problem=order.problem if order else "",
            satisfaction_note=answer.satisfaction_note,
            by=answer.by,
        ))
    return rows


def dissatisfied_csv(rows: list[DissatisfiedRow]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(COLUMNS))
    writer.writeheader()
    for row in rows:
        writer.writerow(row.model_dump())
    return out.getvalue()


async def month_command(config: HotlineConfig, month: str, fmt: str, table: bool) -> str:
    """`hotline callbacks rate|dissatisfied --month`: the month's callback rates, or its
    dissatisfaction table (text, csv or json)."""
    year, number = _month(month)
    async with open_journal(config) as store:
        orders = OrderStore(store.engine)
        callbacks = CallbacksService(
            CallbackStore(store.engine), lambda: config.hotline.zone,
            rules=lambda: config.callbacks.rules, orders_closed=orders.closed_between,
        )
        if table:
            rows = await dissatisfied_rows(callbacks, orders, year, number)
            if fmt == "csv":
                return dissatisfied_csv(rows)
            if fmt == "json":
                return DissatisfiedTable(month=month, zone=config.hotline.timezone,
                                         rows=rows).model_dump_json(indent=2)
            if not rows:
                return f"{month}: no dissatisfied callbacks"
            return "\n".join([f"{month} 回访不满意情况表 ({len(rows)})"] + [
                f"{r.called_at}  order {r.order_id or '-'}  {r.caller}  {r.service or '-'}  "
                f"{r.department or '-'}  {r.address or '-'}  {r.satisfaction_note or '-'}"
                for r in rows
            ])
        result = await callbacks.month(year, number)
    rate = "-" if result.order_rate is None else f"{result.order_rate:.1%}"
    calls_rate = "-" if result.rate is None else f"{result.rate:.1%}"
    return (
        f"{month}: 回访率 {rate} = {result.order_callbacks_made} callbacks made / "
        f"{result.orders_closed} work orders closed; dissatisfied {result.dissatisfied}\n"
        f"calls' callbacks (voicemail, abandoned, failed emergency): {calls_rate} = "
        f"{result.called_back} called back / {result.owed} owed"
    )


def _month(text: str) -> tuple[int, int]:
    match = re.fullmatch(r"(\d{4})-(\d{2})", text)
    if not match or not 1 <= int(match[2]) <= 12:
        raise ValueError(f"{text!r} is not a month like 2026-12")
    return int(match[1]), int(match[2])
