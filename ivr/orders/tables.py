"""The work orders' tables, in the journal's database (migration
`ivr/journal/migrations/versions/0007_work_orders_outbox.py`).

- `work_orders`: one row per order; at most one per call (`linkedid`).
- `outbox_messages`: the hand-off of each order change to each receiver, written in the
  same transaction as the change (the transactional outbox); a deliverer sends them.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, Index, Integer, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ivr.journal.tables import AutoId, UtcDateTime


class OrdersBase(DeclarativeBase):
    pass


class OrderRow(OrdersBase):
    __tablename__ = "work_orders"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    linkedid: Mapped[str | None] = mapped_column(String(64), nullable=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    updated_at: Mapped[datetime] = mapped_column(UtcDateTime())
    caller: Mapped[str] = mapped_column(String(32))
    service: Mapped[str] = mapped_column(String(32))
    department: Mapped[str] = mapped_column(String(64))
    taken_by: Mapped[str] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(Text())
    problem: Mapped[str] = mapped_column(Text())
    urgency: Mapped[str] = mapped_column(String(16))
    paid: Mapped[bool] = mapped_column(Boolean())
    status: Mapped[str] = mapped_column(String(16))
    dispatched_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    done_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    note: Mapped[str] = mapped_column(Text())

    __table_args__ = (
        Index("ix_work_orders_linkedid", "linkedid", unique=True),
        Index("ix_work_orders_status", "status", "service"),
        Index("ix_work_orders_closed_at", "closed_at"),
        Index("ix_work_orders_caller", "caller"),
    )


class OutboxRow(OrdersBase):
    __tablename__ = "outbox_messages"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    order_id: Mapped[int] = mapped_column(Integer())
    event: Mapped[str] = mapped_column(String(32))
    receiver: Mapped[str] = mapped_column(String(16))  # webhook | email
    target: Mapped[str] = mapped_column(String(300))  # the URL or the address
    payload: Mapped[str] = mapped_column(Text())  # the JSON body, as sent
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    attempts: Mapped[int] = mapped_column(Integer())
    next_at: Mapped[datetime] = mapped_column(UtcDateTime())
    delivered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    dead_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    last_error: Mapped[str] = mapped_column(Text())

    __table_args__ = (
        Index("ix_outbox_messages_pending", "delivered_at", "dead_at", "next_at"),
        Index("ix_outbox_messages_order", "order_id"),
    )


orders_table: Table = OrderRow.__table__  # type: ignore[assignment]
outbox_table: Table = OutboxRow.__table__  # type: ignore[assignment]
