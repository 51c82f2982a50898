"""Queue time (SPEC §3: queue entry -> answer or leaving the queue) as a distribution: the
bounds every report shows it in, and the non-cumulative counts a chart draws."""

from __future__ import annotations

import itertools
from collections.abc import Sequence

QUEUE_BOUNDS = (5, 10, 20, 30, 60, 120, 300)  # seconds; 20 is the service-level threshold


def bucket_labels() -> list[str]:
    return [f"≤{bound}" for bound in QUEUE_BOUNDS] + [f">{QUEUE_BOUNDS[-1]}"]


def per_bucket(cumulative: Sequence[int], total: int) -> list[int]:
    """Counts at or under each bound (cumulative, as SQL counts them) and the total, as the
    calls that fall in each bucket, the last one being over the highest bound."""
    if len(cumulative) != len(QUEUE_BOUNDS):
        raise ValueError(f"{len(cumulative)} counts for {len(QUEUE_BOUNDS)} bounds")
    edges = [0, *cumulative, total]
    return [high - low for low, high in itertools.pairwise(edges)]
