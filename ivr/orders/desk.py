"""The agent's desk (首问负责制 at the phone): which call each agent is on, from AMI's
AgentConnect, and what the desk page shows with it: the caller, the IVR's choice, the
caller's earlier calls and open work orders, and the order of this call.

The board only remembers the last call per agent (in memory: a restarted service shows
the next call); everything else is read from the journal and the orders when asked.
"""

from __future__ import annotations

import asyncio
import contextlib
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from ivr.ami.translate import agent_name
from ivr.orders.service import order_json
from ivr.orders.store import OrderStore

EARLIER_CALLS = 10


@dataclass(frozen=True, slots=True)
class DeskCall:
    linkedid: str
    caller: str
    answered_at: datetime
    ended: bool = False


class DeskBoard:
    """Each agent's current (or last) call, and an event for the pages waiting on it."""

    def __init__(self) -> None:
        self.calls: dict[str, DeskCall] = {}
        self.changed = asyncio.Event()
        self.version = 0

    def on_ami_event(self, event: dict[str, str]) -> None:
        name = event.get("Event")
        if name == "AgentConnect":
            agent = agent_name(event)
            self.calls[agent] = DeskCall(
                linkedid=event.get("Linkedid") or event.get("Uniqueid", ""),
                caller=event.get("CallerIDNum", "")[:32],
                answered_at=datetime.now(UTC),
            )
            self._bump()
        elif name == "AgentComplete":
            agent = agent_name(event)
            call = self.calls.get(agent)
            if call is not None and not call.ended:
                self.calls[agent] = DeskCall(call.linkedid, call.caller, call.answered_at, True)
                self._bump()

    def on_call(self, agent: str, linkedid: str) -> bool:
        """Is (or was, last) `agent` on this call? AMI says so before the journal does."""
        call = self.calls.get(agent)
        return call is not None and call.linkedid == linkedid

    def _bump(self) -> None:
        self.version += 1
        self.changed.set()
        self.changed = asyncio.Event()

    async def wait(self, version: int, timeout: float) -> int:
        """Until the board is newer than `version` (or the timeout); the version now."""
        if self.version == version:
            event = self.changed
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), timeout)
        return self.version


async def desk_view(
    board: DeskBoard, agent: str, orders: OrderStore, zone: ZoneInfo
) -> dict[str, Any]:
    """What the agent's desk page shows now."""
    call = board.calls.get(agent)
    view: dict[str, Any] = {"agent": agent, "version": board.version, "call": None}
    if call is None:
        return view
    record = await orders.call(call.linkedid)
    caller = call.caller or (record.caller if record else "")
    earlier = [r for r in await orders.calls_of(caller, EARLIER_CALLS + 1)
               if r.linkedid != call.linkedid][:EARLIER_CALLS] if caller else []
    open_orders = await orders.orders(caller=caller, still_open=True, limit=20) if caller else []
    this_order = await orders.of_call(call.linkedid)
    view["call"] = {
        "linkedid": call.linkedid,
        "caller": caller,
        "answered_at": call.answered_at.astimezone(zone).strftime("%H:%M:%S"),
        "ended": call.ended,
        "line": record.line if record else "",
        "service": record.service if record else None,
        "choices": [c.service for c in record.menu_choices] if record else [],
        "off_hours": record.off_hours if record else False,
    }
    view["earlier_calls"] = [
        {
            "linkedid": r.linkedid,
            "arrived": r.arrived_at.astimezone(zone).strftime("%Y-%m-%d %H:%M"),
            "service": r.service,
            "outcome": r.outcome.value if r.outcome else "in progress",
            "agent": r.answered_by,
        }
        for r in earlier
    ]
    view["open_orders"] = [order_json(o) for o in open_orders if o.linkedid != call.linkedid]
    view["order"] = order_json(this_order) if this_order else None
    return view
