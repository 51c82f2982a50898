"""Work orders (首问负责制, R6): agents take and edit the orders of their own calls,
supervisors every order; status steps open -> dispatched -> done -> closed; and the
outbox's dead letters (hand-offs no receiver took)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Path, Query, status
from pydantic import Field, StrictBool

from ivr.api.context import Admin, Agent, Ctx, Supervisor
from ivr.api.params import Since, instant
from ivr.api.schemas import AUTH, In, Out, problem
from ivr.auth.roles import Role
from ivr.auth.tokens import Principal
from ivr.orders.domain import ADDRESS_MAX, NEEDS_ORDER, TEXT_MAX, OrderStatus, Urgency, WorkOrder
from ivr.orders.service import Actor, order_json

router = APIRouter(prefix="/api/orders", tags=["orders"], responses=AUTH)
outbox_router = APIRouter(prefix="/api/outbox", tags=["orders"], responses=AUTH)

OrderId = Annotated[int, Path(ge=1, le=2**62, description="the work order's id")]
NOT_FOUND = problem(404)
NOT_YOURS = problem(403, "not an order of the agent's own calls")
INVALID = problem(422)
Service = Literal["emergency", "repair", "installation", "billing", "consultation", "complaint",
                  "person"]


def actor(who: Principal) -> Actor:
    return Actor(who.name, who.role.allows(Role.supervisor))


class OrderOut(Out):
    id: int
    linkedid: str | None
    caller: str
    service: str
    department: str
    taken_by: str
    address: str
    problem: str
    urgency: str
    paid: bool
    status: str
    created_at: datetime
    dispatched_at: datetime | None
    done_at: datetime | None
    closed_at: datetime | None
    updated_at: datetime | None
    note: str

    @classmethod
    def of(cls, order: WorkOrder) -> OrderOut:
        return cls.model_validate(order_json(order))


class OrderList(Out):
    orders: list[OrderOut]


class OrderIn(In):
    service: Service
    linkedid: str | None = Field(default=None, min_length=1, max_length=64)
    caller: str = Field(default="", pattern=r"^\+?[0-9]{0,32}$")
    address: str = Field(default="", max_length=ADDRESS_MAX)
    problem: str = Field(default="", max_length=TEXT_MAX)
    urgency: Urgency | None = None
    paid: StrictBool = False
    department: str | None = Field(default=None, min_length=1, max_length=64)


class OrderEdit(In):
    address: str | None = Field(default=None, max_length=ADDRESS_MAX)
    problem: str | None = Field(default=None, max_length=TEXT_MAX)
    urgency: Urgency | None = None
    paid: StrictBool | None = None
    department: str | None = Field(default=None, min_length=1, max_length=64)
    note: str | None = Field(default=None, max_length=TEXT_MAX)


class StatusIn(In):
    status: Literal["dispatched", "done", "closed"]
    note: str = Field(default="", max_length=TEXT_MAX)


class SyncOut(Out):
    created: int


class MessageOut(Out):
    id: int
    order_id: int
    event: str
    receiver: str
    target: str
    attempts: int
    created_at: datetime
    next_at: datetime
    delivered_at: datetime | None
    dead_at: datetime | None
    last_error: str


class MessageList(Out):
    messages: list[MessageOut]


@router.get("", response_model=OrderList)
async def list_orders(
    ctx: Ctx,
    who: Agent,
    status_: Annotated[
        Literal["open", "dispatched", "done", "closed", "not_closed", "all"],
        Query(alias="status", description="one status, not_closed, or all (the default)"),
    ] = "all",
    service: Annotated[str | None, Query(pattern="^[a-z]{1,20}$")] = None,
    caller: Annotated[str | None, Query(pattern=r"^\+?[0-9]{3,32}$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> OrderList:
    """Newest first; an agent sees the orders of their own calls."""
    filters: dict[str, Any] = {"service": service, "caller": caller, "limit": limit,
                               "offset": offset}
    if status_ == "not_closed":
        filters["still_open"] = True
    elif status_ != "all":
        filters["status"] = OrderStatus(status_)
    orders = await ctx.orders.orders(actor(who), **filters)
    return OrderList(orders=[OrderOut.of(order) for order in orders])


@router.post("", response_model=OrderOut, status_code=status.HTTP_201_CREATED,
             responses=NOT_FOUND | NOT_YOURS | INVALID
             | problem(409, "the call has an order already"))
async def create_order(ctx: Ctx, who: Agent, body: OrderIn) -> OrderOut:
    """Take a work order: on a call the agent answered (`linkedid`), or without a call.
    Its hand-off to the department is written with it and delivered in the background."""
    if body.linkedid is None and not body.caller:
        raise HTTPException(422, "give the call (linkedid) or the caller's number")
    order = await ctx.orders.create(
        actor(who), service=body.service, linkedid=body.linkedid, caller=body.caller,
        address=body.address, problem=body.problem, urgency=body.urgency, paid=body.paid,
        department=body.department,
    )
    return OrderOut.of(order)


@router.post("/sync", response_model=SyncOut, responses=INVALID)
async def sync(ctx: Ctx, who: Supervisor, since: Since = None) -> SyncOut:
    """Open the orders of the IVR's emergency, repair and installation calls that
    arrived since `since` (default: the last two days) now; the service also does it
    every few seconds for the last two days' calls."""
    return SyncOut(created=await ctx.orders.sync(instant(since, ctx.zone(), "since")))


@router.get("/{order_id:int}", response_model=OrderOut, responses=NOT_FOUND | NOT_YOURS)
async def one_order(ctx: Ctx, who: Agent, order_id: OrderId) -> OrderOut:
    return OrderOut.of(await ctx.orders.order(order_id, actor(who)))


@router.patch("/{order_id:int}", response_model=OrderOut,
              responses=NOT_FOUND | NOT_YOURS | INVALID | problem(409, "the order is closed"))
async def edit_order(ctx: Ctx, who: Agent, order_id: OrderId, body: OrderEdit) -> OrderOut:
    """Change an order's details (the agent's own calls' orders; a supervisor's all)."""
    fields = body.model_dump(exclude_none=True)
    return OrderOut.of(await ctx.orders.edit(order_id, actor(who), **fields))


@router.post("/{order_id:int}/status", response_model=OrderOut,
             responses=NOT_FOUND | NOT_YOURS | problem(409, "not a step from its status"))
async def move_order(ctx: Ctx, who: Agent, order_id: OrderId, body: StatusIn) -> OrderOut:
    """The next step: dispatched, done, closed (结单: the callback is then due)."""
    order = await ctx.orders.move(order_id, actor(who), OrderStatus(body.status), body.note)
    return OrderOut.of(order)


def _message_out(message: Any) -> MessageOut:
    fields = {name: getattr(message, name) for name in MessageOut.model_fields}
    return MessageOut(**fields)


@outbox_router.get("", response_model=MessageList)
async def outbox(
    ctx: Ctx,
    who: Supervisor,
    dead: Annotated[bool | None, Query(description="true: the dead letters only")] = None,
    order: Annotated[int | None, Query(ge=1, le=2**62)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> MessageList:
    """Hand-off messages, newest first; `dead=true`: those no receiver took after every
    retry."""
    messages = await ctx.orders.store.messages(dead=dead, order_id=order, limit=limit)
    return MessageList(messages=[_message_out(m) for m in messages])


@outbox_router.post("/{message_id:int}/retry", status_code=status.HTTP_202_ACCEPTED,
                    responses=NOT_FOUND)
async def retry(
    ctx: Ctx, who: Admin, message_id: Annotated[int, Path(ge=1, le=2**62)]
) -> dict[str, str]:
    """Put a dead message back in the queue (after the receiver was fixed)."""
    if not await ctx.deliverer.retry(message_id):
        raise HTTPException(404, f"no dead message {message_id}")
    return {"detail": f"message {message_id} is queued again"}


__all__ = ["NEEDS_ORDER", "outbox_router", "router"]
