"""Work orders (首问负责制, SPEC R6): what an emergency, repair or installation call
becomes, and how an order moves. Pure: no I/O, times in UTC.

    open --dispatch--> dispatched --complete--> done --close--> closed

An order may also go straight from open to done (fixed on the phone) and from any
state but closed to closed (cancelled, with a note). Each step keeps its time. The
seed: "抢修、抢险、报装必须记录详细信息，转单至相关部门" — emergency, repair and installation
calls are recorded with details and handed to the responsible department.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

# the services whose calls must leave a work order (R6)
NEEDS_ORDER = frozenset({"emergency", "repair", "installation"})
TEXT_MAX = 2000
ADDRESS_MAX = 300
AGE_BANDS: tuple[tuple[str, timedelta | None], ...] = (
    ("under_1h", timedelta(hours=1)),
    ("1h_to_4h", timedelta(hours=4)),
    ("4h_to_24h", timedelta(hours=24)),
    ("over_24h", None),
)


class OrderStatus(StrEnum):
    open = "open"
    dispatched = "dispatched"  # handed to the department, someone is on it
    done = "done"  # the work is finished
    closed = "closed"  # checked and closed (结单): the callback clock starts

    @property
    def still_open(self) -> bool:
        return self is not OrderStatus.closed


class Urgency(StrEnum):
    normal = "normal"
    urgent = "urgent"
    emergency = "emergency"


class OrderRefused(ValueError):
    """A change an order cannot take; the message says why."""


NEXT: Mapping[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.open: frozenset({OrderStatus.dispatched, OrderStatus.done, OrderStatus.closed}),
    OrderStatus.dispatched: frozenset({OrderStatus.done, OrderStatus.closed}),
    OrderStatus.done: frozenset({OrderStatus.closed}),
    OrderStatus.closed: frozenset(),
}


@dataclass(frozen=True, slots=True)
class WorkOrder:
    id: int  # 0 until stored
    linkedid: str | None  # the call it was taken on (None: taken without a call)
    created_at: datetime
    caller: str
    service: str
    department: str
    taken_by: str  # the agent (token name / endpoint), or "ivr" for the menu's choice
    address: str = ""
    problem: str = ""
    urgency: Urgency = Urgency.normal
    paid: bool = False  # a paid repair or modification: always called back (R7)
    status: OrderStatus = OrderStatus.open
    dispatched_at: datetime | None = None
    done_at: datetime | None = None
    closed_at: datetime | None = None
    note: str = ""
    updated_at: datetime | None = None

    def move(self, to: OrderStatus, at: datetime, note: str = "") -> WorkOrder:
        """The order in status `to`, the step's time kept (times never go back)."""
        if to is self.status:
            raise OrderRefused(f"work order {self.id} is already {to.value}")
        if to not in NEXT[self.status]:
            raise OrderRefused(
                f"work order {self.id} is {self.status.value}; it cannot become {to.value}"
            )
        if at < self.created_at:
            raise OrderRefused("a step cannot be before the order was taken")
        changes: dict[str, object] = {"status": to, "updated_at": at}
        if to is OrderStatus.dispatched:
            changes["dispatched_at"] = at
        elif to is OrderStatus.done:
            changes["done_at"] = at
        else:
            changes["closed_at"] = at
            if self.done_at is None and note:
                changes["note"] = note  # closed without the work: say why
        if note:
            changes["note"] = note[:TEXT_MAX]
        return replace(self, **changes)  # type: ignore[arg-type]

    def edit(self, at: datetime, **fields: object) -> WorkOrder:
        """Details changed (address, problem, urgency, paid, department, note)."""
        if self.status is OrderStatus.closed:
            raise OrderRefused(f"work order {self.id} is closed; it can no longer change")
        allowed = {"address", "problem", "urgency", "paid", "department", "note", "caller",
                   "service"}
        unknown = set(fields) - allowed
        if unknown:
            raise OrderRefused(f"these cannot be edited: {', '.join(sorted(unknown))}")
        return replace(self, updated_at=at, **fields)  # type: ignore[arg-type]

    def age_band(self, now: datetime) -> str:
        return age_band(now - self.created_at)


def age_band(age: timedelta) -> str:
    for name, upper in AGE_BANDS:
        if upper is None or age < upper:
            return name
    return AGE_BANDS[-1][0]


def needs_order(service: str | None) -> bool:
    return service in NEEDS_ORDER


def urgency_of(service: str) -> Urgency:
    return Urgency.emergency if service == "emergency" else Urgency.normal


def department_of(service: str, departments: Mapping[str, str]) -> str:
    """The responsible department ([departments]); the service's own name otherwise."""
    return departments.get(service, service)


def order_for_call(
    *,
    linkedid: str,
    caller: str,
    service: str,
    now: datetime,
    departments: Mapping[str, str],
    taken_by: str = "ivr",
) -> WorkOrder:
    """The order the IVR's choice of an order-needing service opens (details to come
    from the agent or the on-call person)."""
    return WorkOrder(
        id=0, linkedid=linkedid, created_at=now, caller=caller, service=service,
        department=department_of(service, departments), taken_by=taken_by,
        urgency=urgency_of(service), updated_at=now,
    )
