"""Where work orders and their outbox are kept (SQLAlchemy, the journal's database).
An order and the messages that hand it off are written in one transaction: an order
is never stored without its hand-off, nor a hand-off without its order."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import RowMapping, and_, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ivr.domain.record import CallRecord
from ivr.journal.engine import WRITE
from ivr.journal.store import calls_table
from ivr.journal.tables import CallRow, record_from_row
from ivr.orders.domain import NEEDS_ORDER, OrderStatus, Urgency, WorkOrder
from ivr.orders.tables import OrderRow, OutboxRow, orders_table, outbox_table

CHUNK = 500


class CallNeedingOrder(NamedTuple):
    linkedid: str
    caller: str
    service: str


@dataclass(frozen=True, slots=True)
class Message:
    """One hand-off to write with an order change."""

    event: str
    receiver: str  # webhook | email
    target: str
    payload: str


@dataclass(frozen=True, slots=True)
class StoredMessage:
    id: int
    order_id: int
    event: str
    receiver: str
    target: str
    payload: str
    created_at: datetime
    attempts: int
    next_at: datetime
    delivered_at: datetime | None
    dead_at: datetime | None
    last_error: str


Handoff = Callable[[WorkOrder, str], Sequence[Message]]  # (order, event) -> messages


class OrderExists(LookupError):
    def __init__(self, order: WorkOrder) -> None:
        self.order = order
        super().__init__(f"the call already has work order {order.id}")


class OrderStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    # -- calls that need an order --------------------------------------------------

    async def calls_without_order(
        self, since: datetime | None = None, limit: int = CHUNK
    ) -> list[CallNeedingOrder]:
        """Calls (in progress too) since `since` whose menu choice needs an order and
        have none: only what an order is opened from (the sync runs every few seconds
        on the loop that drives the calls; whole records would cost it far more)."""
        has_order = exists().where(OrderRow.linkedid == CallRow.linkedid)
        conditions = [CallRow.service.in_(sorted(NEEDS_ORDER)), ~has_order]
        if since is not None:
            conditions.append(CallRow.arrived_at >= since)
        query = (
            select(CallRow.linkedid, CallRow.caller, CallRow.service)
            .where(*conditions)
            .order_by(CallRow.arrived_at)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [
                CallNeedingOrder(linkedid, caller, service)
                for linkedid, caller, service in await conn.execute(query)
                if service is not None  # the query's condition: for the type checker
            ]

    async def call(self, linkedid: str) -> CallRecord | None:
        async with self.engine.connect() as conn:
            row = (await conn.execute(
                select(calls_table).where(CallRow.linkedid == linkedid)
            )).mappings().first()
        return record_from_row(row) if row is not None else None

    async def calls_of(self, caller: str, limit: int = 20) -> list[CallRecord]:
        """The caller's calls, newest first (first-contact context)."""
        query = (
            select(calls_table).where(CallRow.caller == caller)
            .order_by(CallRow.arrived_at.desc()).limit(limit)
        )
        async with self.engine.connect() as conn:
            return [record_from_row(row) for row in (await conn.execute(query)).mappings()]

    # -- orders ---------------------------------------------------------------------

    async def create(self, order: WorkOrder, handoff: Handoff, event: str) -> WorkOrder:
        """Store a new order and its hand-off messages in one transaction. A call has
        at most one order: OrderExists with the one it has."""
        async with self._writing() as conn:
            if order.linkedid is not None:
                found = await self._load(
                    conn, select(orders_table).where(OrderRow.linkedid == order.linkedid)
                )
                if found:
                    raise OrderExists(found[0])
            inserted = await conn.execute(
                orders_table.insert().values(**_row(order)).returning(OrderRow.id)
            )
            stored = _with_id(order, int(inserted.scalar_one()))
            await self._write_messages(conn, stored, handoff(stored, event))
        return stored

    async def create_for_calls(
        self, orders: Sequence[WorkOrder], handoff: Handoff, event: str
    ) -> list[WorkOrder] | None:
        """Store the orders of several calls and their hand-off messages in one
        transaction, skipping calls that have an order already; the orders stored.

        The service's sync opens hundreds at a time at busy hours: one statement for all
        of them, not a transaction each, keeps that work short on the loop that drives
        the calls. A call given an order meanwhile (an agent was quicker) makes the
        whole batch fail on the unique linkedid: None, and the caller goes one by one."""
        if not orders:
            return []
        try:
            return await self._create_for_calls(orders, handoff, event)
        except IntegrityError:
            return None

    async def _create_for_calls(
        self, orders: Sequence[WorkOrder], handoff: Handoff, event: str
    ) -> list[WorkOrder]:
        async with self._writing() as conn:
            linkedids = [order.linkedid for order in orders if order.linkedid is not None]
            taken = set((await conn.execute(
                select(OrderRow.linkedid).where(OrderRow.linkedid.in_(linkedids))
            )).scalars())
            new = [order for order in orders if order.linkedid not in taken]
            if not new:
                return []
            inserted = await conn.execute(
                orders_table.insert().returning(OrderRow.id, OrderRow.linkedid),
                [_row(order) for order in new],
            )
            ids = {linkedid: int(order_id) for order_id, linkedid in inserted}
            stored = [_with_id(order, ids[order.linkedid]) for order in new]
            rows = [
                _message_row(order, message)
                for order in stored
                for message in handoff(order, event)
            ]
            if rows:
                await conn.execute(outbox_table.insert(), rows)
        return stored

    async def change(
        self, order_id: int, change: Callable[[WorkOrder], WorkOrder], handoff: Handoff,
        event: str,
    ) -> WorkOrder | None:
        """Apply a change to one order with its hand-off, in one transaction; None if no
        such order. Whatever `change` raises leaves everything as it was."""
        async with self._writing() as conn:
            found = await self._load(
                conn, select(orders_table).where(OrderRow.id == order_id).with_for_update()
            )
            if not found:
                return None
            new = change(found[0])
            values = _row(new)
            values.pop("id", None)
            await conn.execute(update(orders_table).where(OrderRow.id == order_id).values(**values))
            await self._write_messages(conn, new, handoff(new, event))
        return new

    async def get(self, order_id: int) -> WorkOrder | None:
        async with self.engine.connect() as conn:
            found = await self._load(conn, select(orders_table).where(OrderRow.id == order_id))
        return found[0] if found else None

    async def of_call(self, linkedid: str) -> WorkOrder | None:
        async with self.engine.connect() as conn:
            found = await self._load(
                conn, select(orders_table).where(OrderRow.linkedid == linkedid)
            )
        return found[0] if found else None

    async def orders(
        self,
        *,
        status: OrderStatus | None = None,
        still_open: bool = False,
        service: str | None = None,
        caller: str | None = None,
        mine: str | None = None,  # taken by this agent, or on a call they answered
        limit: int = 100,
        offset: int = 0,
    ) -> list[WorkOrder]:
        """Newest first."""
        conditions: list[Any] = []
        if status is not None:
            conditions.append(OrderRow.status == status.value)
        if still_open:
            conditions.append(OrderRow.status != OrderStatus.closed.value)
        if service is not None:
            conditions.append(OrderRow.service == service)
        if caller is not None:
            conditions.append(OrderRow.caller == caller)
        if mine is not None:
            answered = select(CallRow.linkedid).where(CallRow.answered_by == mine)
            conditions.append((OrderRow.taken_by == mine) | OrderRow.linkedid.in_(answered))
        query = select(orders_table).order_by(OrderRow.created_at.desc(), OrderRow.id.desc())
        if conditions:
            query = query.where(and_(*conditions))
        async with self.engine.connect() as conn:
            return await self._load(conn, query.limit(limit).offset(offset))

    async def closed_since(self, since: datetime, limit: int = CHUNK) -> list[WorkOrder]:
        """Orders closed since `since`, oldest first (the callback cycle's catch-up)."""
        query = (
            select(orders_table)
            .where(OrderRow.closed_at >= since)
            .order_by(OrderRow.closed_at, OrderRow.id)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return await self._load(conn, query)

    async def open_orders(self) -> list[tuple[str, datetime]]:
        """(service, created_at) of every order not closed (for /metrics)."""
        query = select(OrderRow.service, OrderRow.created_at).where(
            OrderRow.status != OrderStatus.closed.value
        )
        async with self.engine.connect() as conn:
            return [(str(s), at) for s, at in await conn.execute(query)]

    async def closed_between(self, start: datetime, end: datetime) -> int:
        query = select(func.count()).select_from(orders_table).where(
            OrderRow.closed_at >= start, OrderRow.closed_at < end
        )
        async with self.engine.connect() as conn:
            return int((await conn.execute(query)).scalar_one())

    # -- the outbox -----------------------------------------------------------------

    async def due(self, now: datetime, limit: int = 50) -> list[StoredMessage]:
        query = (
            select(outbox_table)
            .where(OutboxRow.delivered_at.is_(None), OutboxRow.dead_at.is_(None),
                   OutboxRow.next_at <= now)
            .order_by(OutboxRow.next_at, OutboxRow.id)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [_message(row) for row in (await conn.execute(query)).mappings()]

    async def next_due(self) -> datetime | None:
        query = select(func.min(OutboxRow.next_at)).where(
            OutboxRow.delivered_at.is_(None), OutboxRow.dead_at.is_(None)
        )
        async with self.engine.connect() as conn:
            value = (await conn.execute(query)).scalar_one()
        return value if isinstance(value, datetime) else None

    async def mark(self, message_id: int, **values: Any) -> None:
        async with self._writing() as conn:
            await conn.execute(
                update(outbox_table).where(OutboxRow.id == message_id).values(**values)
            )

    async def revive(self, message_id: int, now: datetime) -> bool:
        """A dead message due again from its first attempt; False if none was dead."""
        async with self._writing() as conn:
            result = await conn.execute(
                update(outbox_table)
                .where(OutboxRow.id == message_id, OutboxRow.dead_at.is_not(None))
                .values(dead_at=None, attempts=0, next_at=now)
            )
        return bool(result.rowcount)

    async def messages(
        self, *, dead: bool | None = None, order_id: int | None = None, limit: int = 100
    ) -> list[StoredMessage]:
        query = select(outbox_table).order_by(OutboxRow.id.desc()).limit(limit)
        if dead is True:
            query = query.where(OutboxRow.dead_at.is_not(None))
        elif dead is False:
            query = query.where(OutboxRow.dead_at.is_(None))
        if order_id is not None:
            query = query.where(OutboxRow.order_id == order_id)
        async with self.engine.connect() as conn:
            return [_message(row) for row in (await conn.execute(query)).mappings()]

    async def outbox_counts(self) -> dict[str, int]:
        """Messages by state: pending, delivered, dead."""
        state = (
            select(
                OutboxRow.delivered_at.is_not(None).label("delivered"),
                OutboxRow.dead_at.is_not(None).label("dead"),
                func.count(),
            )
            .group_by("delivered", "dead")
        )
        counts = {"pending": 0, "delivered": 0, "dead": 0}
        async with self.engine.connect() as conn:
            for delivered, dead, n in await conn.execute(state):
                key = "delivered" if delivered else "dead" if dead else "pending"
                counts[key] += int(n)
        return counts

    # -- helpers ------------------------------------------------------------------

    async def _write_messages(
        self, conn: AsyncConnection, order: WorkOrder, messages: Sequence[Message]
    ) -> None:
        if not messages:
            return
        await conn.execute(outbox_table.insert(), [_message_row(order, m) for m in messages])

    async def _load(self, conn: AsyncConnection, query: Any) -> list[WorkOrder]:
        return [_order(row) for row in (await conn.execute(query)).mappings()]

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            await conn.execution_options(**{WRITE: True})
            async with conn.begin():
                yield conn


def _row(order: WorkOrder) -> dict[str, Any]:
    row: dict[str, Any] = {
        "linkedid": order.linkedid,
        "created_at": order.created_at,
        "updated_at": order.updated_at or order.created_at,
        "caller": order.caller,
        "service": order.service,
        "department": order.department,
        "taken_by": order.taken_by,
        "address": order.address,
        "problem": order.problem,
        "urgency": order.urgency.value,
        "paid": order.paid,
        "status": order.status.value,
        "dispatched_at": order.dispatched_at,
        "done_at": order.done_at,
        "closed_at": order.closed_at,
        "note": order.note,
    }
    if order.id:
        row["id"] = order.id
    return row


def _message_row(order: WorkOrder, message: Message) -> dict[str, Any]:
    now = order.updated_at or order.created_at
    return {
        "order_id": order.id, "event": message.event, "receiver": message.receiver,
        "target": message.target[:300], "payload": message.payload, "created_at": now,
        "attempts": 0, "next_at": now, "delivered_at": None, "dead_at": None,
        "last_error": "",
    }


def _with_id(order: WorkOrder, order_id: int) -> WorkOrder:
    from dataclasses import replace

    return replace(order, id=order_id)


def _order(row: RowMapping) -> WorkOrder:
    return WorkOrder(
        id=int(row["id"]),
        linkedid=row["linkedid"],
        created_at=row["created_at"],
        caller=row["caller"],
        service=row["service"],
        department=row["department"],
        taken_by=row["taken_by"],
        address=row["address"],
        problem=row["problem"],
        urgency=Urgency(row["urgency"]),
        paid=bool(row["paid"]),
        status=OrderStatus(row["status"]),
        dispatched_at=row["dispatched_at"],
        done_at=row["done_at"],
        closed_at=row["closed_at"],
        note=row["note"] or "",
        updated_at=row["updated_at"],
    )


def _message(row: RowMapping) -> StoredMessage:
    return StoredMessage(
        id=int(row["id"]), order_id=int(row["order_id"]), event=row["event"],
        receiver=row["receiver"], target=row["target"], payload=row["payload"],
        created_at=row["created_at"], attempts=int(row["attempts"]), next_at=row["next_at"],
        delivered_at=row["delivered_at"], dead_at=row["dead_at"], last_error=row["last_error"],
    )
