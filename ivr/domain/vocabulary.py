"""Words the whole hotline shares: what a caller came for, and how a line is run.

They live in the domain so that the rules can speak them without knowing the config
file; the config parses its text into these.
"""

from __future__ import annotations

from enum import StrEnum

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


class Service(StrEnum):
    """What a caller came for; the menu maps keys to these."""

    emergency = "emergency"
    repair = "repair"
    installation = "installation"
    billing = "billing"
    consultation = "consultation"
    complaint = "complaint"
    person = "person"


class LineMode(StrEnum):
    ivr = "ivr"
    manual = "manual"
