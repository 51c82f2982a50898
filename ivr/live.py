"""What is happening now: calls waiting and talking, agents and their state, the
last events. Fed by AMI events (pure `apply`), read by the exporter and the API."""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from contextlib import suppress
from dataclasses import dataclass, field

# app_queue's member Status values (AST_DEVICE_*)
DEVICE_NOT_INUSE, DEVICE_INUSE, DEVICE_BUSY = "1", "2", "3"
DEVICE_INVALID, DEVICE_UNAVAILABLE, DEVICE_RINGING, DEVICE_RINGINUSE = "4", "5", "6", "7"
DEVICE_ONHOLD = "8"
OFFLINE = {DEVICE_INVALID, DEVICE_UNAVAILABLE}
ENGAGED = {DEVICE_INUSE, DEVICE_BUSY, DEVICE_RINGINUSE, DEVICE_ONHOLD}


@dataclass
class AgentState:
    name: str
    interface: str
    status: str = DEVICE_UNAVAILABLE
    paused: bool = False

    @property
    def endpoint(self) -> str:
        """The member's PJSIP endpoint: app_queue names a member by its interface
        ("PJSIP/agent1") unless it was added with a name of its own."""
        return self.interface.rpartition("/")[2] or self.name

    @property
    def state(self) -> str:
        if self.status in OFFLINE:
            return "logged_out"
        if self.paused:
            return "paused"
        if self.status in ENGAGED:
            return "busy"
        if self.status == DEVICE_RINGING:
            return "ringing"
        return "available"


def _timestamp(event: Mapping[str, str]) -> float:
    try:
        return float(event.get("Timestamp", ""))
    except ValueError:
        return 0.0


# which of two states of one agent on two nodes to show
_ENGAGEMENT = {"logged_out": 0, "available": 1, "paused": 2, "ringing": 3, "busy": 4}


@dataclass
class LiveState:
    agents: dict[str, AgentState] = field(default_factory=dict)
    waiting: set[str] = field(default_factory=set)  # caller channels in the queue
    # when each waiting caller joined the queue (AMI's Timestamp, epoch seconds)
    waiting_since: dict[str, float] = field(default_factory=dict)
    talking: set[str] = field(default_factory=set)  # caller channels with a person
    recent: deque[dict[str, str]] = field(default_factory=lambda: deque(maxlen=50))

    def apply(self, event: Mapping[str, str]) -> None:
        name = event.get("Event", "")
        if name not in ("QueueMember", "QueueParams", "QueueStatusComplete", "FullyBooted"):
            self.recent.append(
                {k: event[k] for k in ("Event", "Timestamp", "Linkedid") if k in event}
            )
        handler = getattr(self, f"_on_{name}", None)
        if handler is not None:
            handler(event)

    def _member(self, event: Mapping[str, str]) -> None:
        interface = event.get("Interface") or event.get("Location") or ""
        agent = self.agents.setdefault(
            interface, AgentState(name=event.get("MemberName", interface), interface=interface)
        )
        agent.status = event.get("Status", agent.status)
        agent.paused = event.get("Paused", "1" if agent.paused else "0") == "1"

    _on_QueueMember = _member
    _on_QueueMemberStatus = _member
    _on_QueueMemberPause = _member
    _on_QueueMemberAdded = _member

    def _on_QueueMemberRemoved(self, event: Mapping[str, str]) -> None:
        self.agents.pop(event.get("Interface", ""), None)

    def _on_QueueCallerJoin(self, event: Mapping[str, str]) -> None:
        caller = event.get("Uniqueid", "")
        self.waiting.add(caller)
        with suppress(KeyError, ValueError):  # no Timestamp: the wait is not known
            self.waiting_since.setdefault(caller, float(event["Timestamp"]))

    def _on_QueueEntry(self, event: Mapping[str, str]) -> None:
        caller = event.get("Uniqueid", "")
        self.waiting.add(caller)
        with suppress(KeyError, ValueError):  # QueueStatus' entries say how long they waited
            wait = float(event["Wait"])
            self.waiting_since.setdefault(caller, float(event["Timestamp"]) - wait)

    def _on_QueueCallerLeave(self, event: Mapping[str, str]) -> None:
        self._left(event.get("Uniqueid", ""))

    def _on_AgentConnect(self, event: Mapping[str, str]) -> None:
        caller = event.get("Uniqueid", "")
        self._left(caller)
        self.talking.add(caller)

    def _left(self, caller: str) -> None:
        self.waiting.discard(caller)
        self.waiting_since.pop(caller, None)

    def longest_wait(self, now: float) -> float | None:
        """Seconds the longest-waiting caller has waited (None: nobody with a known join
        time is waiting)."""
        joined = [self.waiting_since[c] for c in self.waiting if c in self.waiting_since]
        return max(0.0, now - min(joined)) if joined else None

    def _on_AgentComplete(self, event: Mapping[str, str]) -> None:
        self.talking.discard(event.get("Uniqueid", ""))

    def _on_Hangup(self, event: Mapping[str, str]) -> None:
        uniqueid = event.get("Uniqueid", "")
        self._left(uniqueid)
        self.talking.discard(uniqueid)

    @classmethod
    def merged(cls, states: Iterable[LiveState]) -> LiveState:
        """Several nodes' live states as one. Callers are told apart by their uniqueids
        (each node's systemname prefixes them). An agent is a member of every node's
        queue: it shows in its most engaged state on any node (busy on one node is busy)."""
        out = cls()
        recent: list[dict[str, str]] = []
        for state in states:
            for key, agent in state.agents.items():
                have = out.agents.get(key)
                if have is None or _ENGAGEMENT[agent.state] > _ENGAGEMENT[have.state]:
                    out.agents[key] = agent
            out.waiting |= state.waiting
            out.waiting_since.update(state.waiting_since)
            out.talking |= state.talking
            recent += state.recent
        recent.sort(key=_timestamp)
        out.recent.extend(recent)
        return out

    def agents_by_state(self) -> dict[str, int]:
        counts = {"logged_in": 0, "available": 0, "busy": 0, "paused": 0, "ringing": 0}
        for agent in self.agents.values():
            state = agent.state
            if state == "logged_out":
                continue
            counts["logged_in"] += 1
            counts[state] += 1
        return counts
