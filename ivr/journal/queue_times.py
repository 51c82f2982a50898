"""The queue-time distribution of the calls that arrived in a period, counted by the
database over the call records (a report document's chart; not on any scrape path)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import case, func, select

from ivr.domain.queue_time import QUEUE_BOUNDS, bucket_labels, per_bucket
from ivr.journal.store import Store
from ivr.journal.tables import CallRow


@dataclass(frozen=True, slots=True)
class QueueTimes:
    counts: tuple[int, ...]  # per bucket of QUEUE_BOUNDS, the last one over the highest
    seconds_sum: float

    @property
    def total(self) -> int:
        return sum(self.counts)

    @property
    def mean_seconds(self) -> float | None:
        return self.seconds_sum / self.total if self.total else None

    def labelled(self) -> list[tuple[str, int]]:
        return list(zip(bucket_labels(), self.counts, strict=True))


async def queue_times(
    store: Store, start: datetime, end: datetime, line: str | None = None
) -> QueueTimes:
    """Calls that arrived in [start, end) and have a queue time."""
    waited = CallRow.queue_seconds
    query = select(
        func.count(waited),
        func.coalesce(func.sum(waited), 0.0),
        *(func.coalesce(func.sum(case((waited <= bound, 1), else_=0)), 0)
          for bound in QUEUE_BOUNDS),
    ).where(CallRow.arrived_at >= start, CallRow.arrived_at < end, waited.is_not(None))
    if line is not None:
        query = query.where(CallRow.line == line)
    async with store.engine.connect() as conn:
        total, seconds, *cumulative = (await conn.execute(query)).one()
    return QueueTimes(tuple(per_bucket([int(n) for n in cumulative], int(total))), float(seconds))
