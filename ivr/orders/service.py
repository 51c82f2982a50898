"""What the work-orders capability does, for the API, the CLI, the desk and the
service's periodic sync alike. Every change writes its hand-off (the outbox) in the
same transaction; the deliverer (ivr/orders/outbox.py) sends it later, so nothing here
waits on a department's server and no call waits on anything here."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

import structlog

from ivr.clock import Clock, SystemClock
from ivr.config import HotlineConfig
from ivr.orders.domain import (
    ADDRESS_MAX,
    AGE_BANDS,
    NEEDS_ORDER,
    TEXT_MAX,
    OrderStatus,
    Urgency,
    WorkOrder,
    age_band,
    department_of,
    order_for_call,
)
from ivr.orders.store import CHUNK, Message, OrderExists, OrderStore

log = structlog.get_logger(__name__)

SYNC_EVERY = 5.0  # seconds between two syncs in the running service
# the sync opens orders for calls this recent only: a journal with years of history must
# not send every old repair call to the departments the day this service is upgraded
SYNC_WINDOW = timedelta(days=2)
WEBHOOK = "webhook"
EMAIL = "email"


class OrderNotFound(LookupError):
    def __init__(self, order_id: int) -> None:
        super().__init__(f"no work order {order_id}")


class CallNotFound(LookupError):
    def __init__(self, linkedid: str) -> None:
        super().__init__(f"no call {linkedid[:64]!r} in the journal")


class NotYours(PermissionError):
    """An agent may only change the orders of their own calls."""


@dataclass(frozen=True, slots=True)
class Actor:
    name: str  # the token's name: an agent's is their endpoint (agent1)
    everyone: bool  # a supervisor: every order


def order_json(order: WorkOrder) -> dict[str, Any]:
    """An order as the hand-off, the API and the CLI's json show it."""
    def at(value: datetime | None) -> str | None:
        return value.isoformat().replace("+00:00", "Z") if value else None

    return {
        "id": order.id, "linkedid": order.linkedid, "caller": order.caller,
        "service": order.service, "department": order.department,
        "taken_by": order.taken_by, "address": order.address, "problem": order.problem,
        "urgency": order.urgency.value, "paid": order.paid, "status": order.status.value,
        "created_at": at(order.created_at), "dispatched_at": at(order.dispatched_at),
        "done_at": at(order.done_at), "closed_at": at(order.closed_at),
        "updated_at": at(order.updated_at), "note": order.note,
    }


class OrdersService:
    def __init__(
        self,
        store: OrderStore,
        config: Callable[[], HotlineConfig],
        clock: Clock | None = None,
    ) -> None:
        self.store = store
        self.config = config
        self.clock = clock or SystemClock()
        self.written = asyncio.Event()  # set when hand-offs were written (wakes delivery)
        self._open: dict[tuple[str, str], int] = {}
        self.on_closed: list[Callable[[WorkOrder], Any]] = []  # e.g. the callback cycle

    # -- the hand-off -----------------------------------------------------------------

    def handoff(self, order: WorkOrder, event: str) -> Sequence[Message]:
        """The messages an order change sends ([outbox]): the webhook, and e-mail to
        the department's address."""
        outbox = self.config().outbox
        body = json.dumps(
            {"event": event, "hotline": self.config().hotline.name, "order": order_json(order)},
            ensure_ascii=False, sort_keys=True,
        )
        messages = []
        if outbox.webhook_url:
            messages.append(Message(event, WEBHOOK, outbox.webhook_url, body))
        address = outbox.mail_to.get(order.department)
        if outbox.smtp_host and address:
            messages.append(Message(event, EMAIL, address, body))
        return messages

    def _wrote(self) -> None:
        self.written.set()

    # -- orders from the IVR ----------------------------------------------------------

    async def sync(self, since: datetime | None = None) -> int:
        """Open the order of every call since `since` (default: SYNC_WINDOW ago) whose
        menu choice needs one (emergency, repair, installation) and has none;
        idempotent (one order per call)."""
        created = 0
        departments = self.config().departments.as_map()
        start = since if since is not None else self.clock.now() - SYNC_WINDOW
        while True:
            records = await self.store.calls_without_order(start, CHUNK)
            now = self.clock.now()
            orders = [
                order_for_call(
                    linkedid=call.linkedid, caller=call.caller, service=call.service,
                    now=now, departments=departments,
                )
                for call in records
            ]
            created += await self._create_for_calls(orders)
            if len(records) < CHUNK:
                break
        if created:
            log.info("orders.synced", created=created)
            self._wrote()
        await self.count_open()
        return created

    async def _create_for_calls(self, orders: list[WorkOrder]) -> int:
        """All in one transaction; if an agent took one of these calls' orders meanwhile
        (the batch then fails on the unique call), one by one."""
        stored = await self.store.create_for_calls(orders, self.handoff, "order.created")
        if stored is not None:
            return len(stored)
        created = 0
        for order in orders:
            try:
                await self.store.create(order, self.handoff, "order.created")
            except OrderExists:
                continue  # an agent was quicker
            created += 1
        return created

    async def run_sync(self, every: float = SYNC_EVERY) -> None:
        while True:
            try:
                await self.sync()
            except Exception as exc:  # the database may be briefly away: try again later
                log.warning("orders.sync_failed", error=str(exc))
            await asyncio.sleep(every)

    # -- reading ----------------------------------------------------------------------

    async def order(self, order_id: int, actor: Actor | None = None) -> WorkOrder:
        order = await self.store.get(order_id)
        if order is None:
            raise OrderNotFound(order_id)
        if actor is not None:
            await self._check_mine(order, actor)
        return order

    async def orders(self, actor: Actor | None = None, **filters: Any) -> list[WorkOrder]:
        mine = None if actor is None or actor.everyone else actor.name
        return await self.store.orders(mine=mine, **filters)

    # -- changing ---------------------------------------------------------------------

    async def create(
        self,
        actor: Actor,
        *,
        service: str,
        linkedid: str | None = None,
        caller: str = "",
        address: str = "",
        problem: str = "",
        urgency: Urgency | None = None,
        paid: bool = False,
        department: str | None = None,
    ) -> WorkOrder:
        """An order taken by an agent (for any call of theirs, or without a call)."""
        now = self.clock.now()
        if linkedid is not None:
            call = await self.store.call(linkedid)
            if call is None:
                raise CallNotFound(linkedid)
            if not actor.everyone and call.answered_by != actor.name:
                raise NotYours(f"call {linkedid[:64]} was not answered by {actor.name}")
            caller = caller or call.caller
        departments = self.config().departments.as_map()
        order = WorkOrder(
            id=0, linkedid=linkedid, created_at=now, caller=caller[:32], service=service,
            department=(department or department_of(service, departments))[:64],
            taken_by=actor.name[:64], address=address.strip()[:ADDRESS_MAX],
            problem=problem.strip()[:TEXT_MAX],
            urgency=urgency or (Urgency.emergency if service == "emergency" else Urgency.normal),
            paid=paid, updated_at=now,
        )
        stored = await self.store.create(order, self.handoff, "order.created")
        log.info("orders.created", order=stored.id, service=service, by=actor.name)
        self._wrote()
        await self.count_open()
        return stored

    async def take_for_call(
        self, actor: Actor, linkedid: str, service: str, **details: Any
    ) -> WorkOrder:
        """The desk's save: the order of the agent's call, created, or completed when the
        IVR's choice opened it already (the agent then is who took it)."""
        existing = await self.store.of_call(linkedid)
        if existing is None:
            try:
                return await self.create(actor, service=service, linkedid=linkedid, **details)
            except OrderExists as exc:  # the IVR's sync was quicker
                existing = exc.order
        await self._check_mine(existing, actor)
        now = max(self.clock.now(), existing.created_at)
        cleaned = {k: v for k, v in details.items() if v is not None}
        for key, limit in (("address", ADDRESS_MAX), ("problem", TEXT_MAX)):
            if key in cleaned:
                cleaned[key] = str(cleaned[key]).strip()[:limit]
        if service != existing.service:
            cleaned["service"] = service
            cleaned.setdefault(
                "department", department_of(service, self.config().departments.as_map())
            )
        claim = existing.taken_by == "ivr"

        def change(order: WorkOrder) -> WorkOrder:
            edited = order.edit(now, **cleaned)
            return replace(edited, taken_by=actor.name[:64]) if claim else edited

        return await self._change(existing.id, change, "order.updated")

    async def edit(self, order_id: int, actor: Actor, **fields: Any) -> WorkOrder:
        order = await self.order(order_id, actor)
        now = max(self.clock.now(), order.created_at)
        cleaned = {k: v for k, v in fields.items() if v is not None}
        for key, limit in (("address", ADDRESS_MAX), ("problem", TEXT_MAX), ("note", TEXT_MAX)):
            if key in cleaned:
                cleaned[key] = str(cleaned[key]).strip()[:limit]
        if not cleaned:
            return order
        updated = await self._change(order_id, lambda o: o.edit(now, **cleaned), "order.updated")
        return updated

    async def move(
        self, order_id: int, actor: Actor, to: OrderStatus, note: str = ""
    ) -> WorkOrder:
        order = await self.order(order_id, actor)
        now = max(self.clock.now(), order.created_at)
        moved = await self._change(
            order_id, lambda o: o.move(to, now, note.strip()[:TEXT_MAX]), f"order.{to.value}"
        )
        if moved.status is OrderStatus.closed:
            for listener in self.on_closed:
                result = listener(moved)
                if asyncio.iscoroutine(result):
                    await result
        await self.count_open()
        return moved

    async def _change(
        self, order_id: int, change: Callable[[WorkOrder], WorkOrder], event: str
    ) -> WorkOrder:
        changed = await self.store.change(order_id, change, self.handoff, event)
        if changed is None:
            raise OrderNotFound(order_id)
        self._wrote()
        return changed

    async def _check_mine(self, order: WorkOrder, actor: Actor) -> None:
        if actor.everyone or order.taken_by == actor.name:
            return
        if order.linkedid is not None:
            call = await self.store.call(order.linkedid)
            if call is not None and call.answered_by == actor.name:
                return
        raise NotYours(f"work order {order.id} is not on a call of {actor.name}")

    # -- /metrics -------------------------------------------------------------------

    async def count_open(self) -> None:
        now = self.clock.now()
        counts = {(service, band): 0 for service in sorted(NEEDS_ORDER) for band, _ in AGE_BANDS}
        for service, created_at in await self.store.open_orders():
            key = (service, age_band(now - created_at))
            counts[key] = counts.get(key, 0) + 1
        self._open = counts

    def open_counts(self) -> dict[tuple[str, str], int]:
        """Orders not closed, by service and age band, as of the last change or sync."""
        return dict(self._open)
