"""One call in the controller's hands: a small explicit state machine.

A call enters when Stasis hands it over, walks the IVR, and leaves either routed
(continued into a dialplan context: queue, on-call chain, voicemail), handed to the
dialplan's fallback (something failed, or the controller is going away), or hung up.
A caller may hang up at any moment: any move after that raises `CallGone`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from enum import StrEnum


class CallState(StrEnum):
    arrived = "arrived"
    answered = "answered"
    menu = "menu"
    off_hours = "off_hours"
    routed = "routed"
    fallback = "fallback"
    hung_up = "hung_up"


_LEAVE = {CallState.fallback, CallState.hung_up}
ALLOWED = {
    CallState.arrived: {CallState.answered, *_LEAVE},
    CallState.answered: {CallState.menu, CallState.off_hours, CallState.routed, *_LEAVE},
    CallState.menu: {CallState.routed, *_LEAVE},
    CallState.off_hours: {CallState.routed, *_LEAVE},
    CallState.routed: {CallState.hung_up},
    CallState.fallback: {CallState.hung_up},
    CallState.hung_up: set(),
}

MAX_PENDING_DIGITS = 16  # a flood of digits is cut here; only the first of a prompt counts


class CallGone(Exception):
    """The caller hung up while we were working on the call."""


class IllegalTransition(RuntimeError):
    pass


@dataclass
class Call:
    channel: str
    linkedid: str
    line: str
    caller: str
    state: CallState = CallState.arrived
    needs_answer: bool = False
    digits: asyncio.Queue[str] = field(
        default_factory=lambda: asyncio.Queue(maxsize=MAX_PENDING_DIGITS)
    )
    playback: str | None = None  # the prompt playing now (its ARI playback id)
    playback_done: asyncio.Event = field(default_factory=asyncio.Event)
    gone: asyncio.Event = field(default_factory=asyncio.Event)

    def move_to(self, state: CallState) -> None:
        if self.state is CallState.hung_up:
            raise CallGone(self.channel)  # the caller left before we got here
        if state not in ALLOWED[self.state]:
            raise IllegalTransition(f"call {self.channel}: {self.state} -> {state}")
        self.state = state

    def answer(self) -> None:
        self.move_to(CallState.answered)

    def route(self) -> None:
        self.move_to(CallState.routed)

    def to_fallback(self) -> bool:
        """Hand the call to the dialplan's fallback, if it is still ours to hand:
        False when it has already left (hung up, routed, handed over)."""
        if CallState.fallback not in ALLOWED[self.state]:
            return False
        self.state = CallState.fallback
        return True

    def hang_up(self) -> None:
        if self.state is not CallState.hung_up:
            self.state = CallState.hung_up
        self.gone.set()

    @property
    def in_ivr(self) -> bool:
        return self.state in (CallState.answered, CallState.menu, CallState.off_hours)

    @property
    def place(self) -> str:
        """Where the caller is, for an abandonment's record."""
        return "menu" if self.state is CallState.menu else "ivr"

    def press(self, digit: str) -> None:
        if self.digits.full():
            return
        self.digits.put_nowait(digit)

    def forget_digits(self) -> None:
        while not self.digits.empty():
            self.digits.get_nowait()
