"""Roles and what each may see (SPEC R10: access needs credentials, and only what a
role needs). Pure.

- `viewer`: wallboards and reports; caller numbers masked everywhere, no recordings, no
  configuration, no search by caller number.
- `agent`: a viewer who also takes work orders: creates and edits the orders of their
  own calls (the token's name is the agent's endpoint, e.g. `agent1`), and has the desk
  page (/desk); customers' numbers in clear only there and in their own orders.
- `supervisor`: reads everything (numbers in clear, voicemail audio, configuration).
- `admin`: also changes things (configuration, reload, callbacks, voicemail handled).
"""

from __future__ import annotations

import re
from enum import StrEnum


class Role(StrEnum):
    viewer = "viewer"
    agent = "agent"
    supervisor = "supervisor"
    admin = "admin"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def allows(self, needed: Role) -> bool:
        """Does this role include everything `needed` may do?"""
        return self.rank >= needed.rank

    @property
    def sees_numbers(self) -> bool:
        """May this role see customers' numbers in clear?"""
        return self.allows(Role.supervisor)


_RANK = {Role.viewer: 0, Role.agent: 1, Role.supervisor: 2, Role.admin: 3}


def mask_number(number: str) -> str:
    """A caller number as a viewer sees it: its length kept, the middle hidden.

    13812348000 -> 138****8000 (mobile: prefix and last four, the common Chinese
    practice); 88886666 -> 88****66; short numbers keep only their last digit.
    """
    if not number:
        return ""
    plus = "+" if number.startswith("+") else ""
    digits = number[len(plus):]
    n = len(digits)
    if n >= 11:
        head, tail = 3, 4
    elif n >= 7:
        head, tail = 2, 2
    else:
        head, tail = 0, 1 if n > 1 else 0
    return plus + digits[:head] + "*" * (n - head - tail) + digits[n - tail:]


def shown_number(number: str, role: Role) -> str:
    return number if role.sees_numbers else mask_number(number)


# 7 or more digits (ASCII or full-width, as typed on a Chinese keyboard), possibly split
# by single spaces or dashes: 13812348000, 138-1234-8000, １３８１２３４８０００
DIGIT_RUN = re.compile(r"\+?[0-9０-９](?:[ -]?[0-9０-９]){6,}")


def mask_digit_runs(text: str) -> str:
    """Free text (a callback note) as a viewer sees it: every run of 7+ digits masked."""
    def masked(match: re.Match[str]) -> str:
        digits = "".join(ch for ch in match[0] if ch.isdigit() or ch == "+")
        return mask_number(digits.translate(FULL_WIDTH))

    return DIGIT_RUN.sub(masked, text)


FULL_WIDTH = str.maketrans("０１２３４５６７８９", "0123456789")


def shown_text(text: str, role: Role) -> str:
    return text if role.sees_numbers else mask_digit_runs(text)
