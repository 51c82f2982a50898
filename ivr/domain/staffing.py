"""Agents needed per half hour (R9): Erlang C over the expected calls and handling time.
Pure.

The queue is modelled as Erlang C (M/M/N: Poisson arrivals, exponential handling, no
one gives up) with `pyworkforce`'s formulas. Two targets decide how many agents a half
hour needs, the fewest that meet both:

* the **service level**: P(queue time < `service_level_seconds`) >= `service_level`
  (SPEC §3, 80% within 20 s);
* the **transfer answer rate** (R4, >= 85%): Erlang C has no abandonment, so a caller
  counts as answered when the wait is shorter than their patience: P(queue time <
  `patience_seconds`) >= `answer_target`. The patience is the mean wait of the callers who
  gave up in the queue in the history, at most the queue's `max_wait_seconds` (after which
  the queue stops waiting for an agent).

`pyworkforce.ErlangC.required_positions` starts its search at round(A + 1) agents, which
can overshoot by one when few agents suffice; the search here starts at the first stable
count, floor(A) + 1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

SLOT_SECONDS = 30 * 60
MAX_AGENTS = 10_000


@dataclass(frozen=True, slots=True)
class Staffing:
    """The agents one half hour needs, and what they achieve by Erlang C."""

    calls: float  # expected calls for a person in the half hour
    erlangs: float  # offered load: calls x handling time / half hour
    agents: int
    service_level: float | None  # P(queue time < service_level_seconds); None: no calls
    answered: float | None  # P(queue time < patience): the transfer answer estimate
    occupancy: float | None

    @property
    def waiting(self) -> float | None:
        """P(a call waits at all)."""
        if self.agents == 0 or self.calls == 0:
            return None
        return waiting_probability(self.agents, self.erlangs)


def waiting_probability(agents: int, erlangs: float) -> float:
    """Erlang C: the probability that a call has to wait, N agents, A erlangs (N > A)."""
    if erlangs <= 0:
        return 0.0
    if agents <= erlangs:
        return 1.0
    return float(_erlang(erlangs, SLOT_SECONDS, 1.0).waiting_probability(agents))


def answered_within(agents: int, erlangs: float, seconds: float, handling_seconds: float) -> float:
    """P(queue time < `seconds`) with N agents, A erlangs and this mean handling time."""
    if erlangs <= 0:
        return 1.0
    if agents <= erlangs:
        return 0.0
    erlang = _erlang(erlangs, handling_seconds, seconds)
    return float(erlang.service_level(agents))


def staffing(
    calls: float,
    handling_seconds: float,
    *,
    service_level: float = 0.80,
    service_level_seconds: float = 20.0,
    answer_target: float = 0.85,
    patience_seconds: float = 300.0,
    slot_seconds: int = SLOT_SECONDS,
) -> Staffing:
    """The fewest agents for `calls` arrivals in `slot_seconds` that meet both targets."""
    if calls < 0 or handling_seconds <= 0:
        raise ValueError("calls must be >= 0 and handling time > 0")
    if calls == 0:
        return Staffing(0.0, 0.0, 0, None, None, None)
    erlangs = calls * handling_seconds / slot_seconds
    agents = math.floor(erlangs) + 1
    while agents < MAX_AGENTS:
        level = answered_within(agents, erlangs, service_level_seconds, handling_seconds)
        answered = answered_within(agents, erlangs, patience_seconds, handling_seconds)
        if level >= service_level and answered >= answer_target:
            return Staffing(calls, erlangs, agents, level, answered, erlangs / agents)
        agents += 1
    raise ValueError(f"{calls} calls of {handling_seconds} s need more than {MAX_AGENTS} agents")


@lru_cache(maxsize=4096)
def _erlang(erlangs: float, handling_seconds: float, target_seconds: float) -> Any:
    """pyworkforce's ErlangC for a load of `erlangs` (it takes calls per interval, the
    handling time and the target answer time in one unit: minutes here)."""
    from pyworkforce.queuing import ErlangC  # ortools and pandas come with it: lazily

    minutes = handling_seconds / 60
    return ErlangC(
        transactions=erlangs * SLOT_SECONDS / handling_seconds,
        aht=minutes,
        asa=target_seconds / 60,
        interval=SLOT_SECONDS // 60,
    )
