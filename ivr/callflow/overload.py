"""The controller's load, measured where it is felt, and the shedding decision asked of
the domain (`ivr.domain.overload`) for each new call."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import Counter
from datetime import UTC, datetime

from ivr.domain.overload import Load, OverloadBounds, ShedReason, shed_reason

LAG_TICK = 0.05  # seconds between the lag monitor's timers
LAG_MEMORY = 20  # ticks a lag is remembered for (1 s): one late timer is not a trend over


class LoopLag:
    """How late the event loop runs timers: a task asks to sleep `LAG_TICK` and notes
    how much later it woke. The lag reported is the largest of the last second's."""

    def __init__(self) -> None:
        self._recent: list[float] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def seconds(self) -> float:
        return max(self._recent, default=0.0)

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._watch(), name="loop-lag")

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _watch(self) -> None:
        while True:
            asked = time.monotonic()
            await asyncio.sleep(LAG_TICK)
            self._recent.append(max(0.0, time.monotonic() - asked - LAG_TICK))
            del self._recent[:-LAG_MEMORY]


class OverloadGuard:
    """Decides, for each StasisStart, whether the controller takes the call."""

    def __init__(self, bounds: OverloadBounds, lag: LoopLag | None = None) -> None:
        self.bounds = bounds
        self.lag = lag or LoopLag()
        self.shed: Counter[str] = Counter()  # calls sent to the dialplan's menu, by reason

    def decide(self, started: str | None, calls_in_flight: int) -> ShedReason | None:
        load = Load(
            start_age_seconds=start_age(started),
            calls_in_flight=calls_in_flight,
            loop_lag_seconds=self.lag.seconds,
        )
        reason = shed_reason(load, self.bounds)
        if reason is not None:
            self.shed[reason.value] += 1
        return reason


def start_age(timestamp: str | None, now: datetime | None = None) -> float | None:
    """Seconds since an ARI event's `timestamp` (e.g. 2026-12-01T13:00:00.123+0000),
    or None when there is none to read."""
    if not timestamp:
        return None
    try:
        at = datetime.strptime(timestamp, "%Y-%m-%dT%H:%M:%S.%f%z")
    except ValueError:
        return None
    return ((now or datetime.now(UTC)) - at).total_seconds()
