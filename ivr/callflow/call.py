"""One call in the controller's hands: a small explicit state machine.

A call enters when Stasis hands it over, walks the IVR, and leaves either routed
(continued into a dialplan context: queue, on-call chain, voicemail) or hung up.
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
    hung_up = "hung_up"


ALLOWED = {
    CallState.arrived: {CallState.answered, CallState.hung_up},
    CallState.answered: {CallState.menu, CallState.off_hours, CallState.routed, CallState.hung_up},
    CallState.menu: {CallState.routed, CallState.hung_up},
    CallState.off_hours: {CallState.routed, CallState.hung_up},
    CallState.routed: {CallState.hung_up},
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
    playback_done: asyncio.Event = field(default_factory=asyncio.Event)
    gone: asyncio.Event = field(default_factory=asyncio.Event)

    def move_to(self, state: CallState) -> None:
        if state not in ALLOWED[self.state]:
            raise IllegalTransition(f"call {self.channel}: {self.state} -> {state}")
        self.state = state

    def answer(self) -> None:
        self.move_to(CallState.answered)

    def route(self) -> None:
        self.move_to(CallState.routed)

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
