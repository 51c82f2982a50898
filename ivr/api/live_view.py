"""What the API reads about "now": a small protocol over the running controller, so
tests (and a service without a controller) can hand a `LiveState` directly."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from ivr.live import LiveState


@dataclass(frozen=True, slots=True)
class IvrCall:
    """A call in the controller's hands (greeting, menu, off-hours prompt)."""

    channel: str
    linkedid: str
    line: str
    caller: str
    state: str


class LiveView(Protocol):
    def state(self) -> LiveState:
        """Queue and agents, from AMI."""
        ...

    def calls_in_ivr(self) -> list[IvrCall]: ...

    def ari_connected(self) -> bool: ...

    def ami_connected(self) -> bool: ...


@dataclass
class StaticLiveView:
    """A LiveState with fixed connection flags (tests, or a service run without the
    controller)."""

    live: LiveState
    in_ivr: tuple[IvrCall, ...] = ()
    ari: bool = True
    ami: bool = True

    def state(self) -> LiveState:
        return self.live

    def calls_in_ivr(self) -> list[IvrCall]:
        return list(self.in_ivr)

    def ari_connected(self) -> bool:
        return self.ari

    def ami_connected(self) -> bool:
        return self.ami


def as_live_view(live: LiveView | LiveState) -> LiveView:
    return StaticLiveView(live) if isinstance(live, LiveState) else live
