"""Rings to answer (SPEC §3, R5). Pure.

Rings are counted on the answering person's own phone ("专员应在电话铃响三声内接听"):
one ring is one ringback cadence (China: 1 s on, 4 s off, so 5 s). A phone answered
after ringing `ring_time` seconds rang `floor(ring_time / cadence) + 1` times, and was
answered within three rings when `ring_time < 3 * cadence`.

Both are computed in whole microseconds (the resolution of the event timestamps), so
the two definitions always agree: 15.0 s at 5 s is exactly 4 rings, never 3 by a
floating-point hair.
"""

from __future__ import annotations

DEFAULT_CADENCE_SECONDS = 5.0
RING_BUCKETS = (1, 2, 3, 4, 5, 6)  # the last bucket is "6 or more"
_MICROSECONDS = 1_000_000


def rings_to_answer(ring_seconds: float, cadence: float = DEFAULT_CADENCE_SECONDS) -> int:
    """How many times the answering phone rang before it was answered."""
    rang, ring = _micro(ring_seconds), _ring_micro(cadence)
    return rang // ring + 1


def answered_within_three_rings(
    ring_seconds: float, cadence: float = DEFAULT_CADENCE_SECONDS
) -> bool:
    return _micro(ring_seconds) < 3 * _ring_micro(cadence)


def within_seconds(seconds: float, limit: float) -> bool:
    """`seconds` is inside the first `limit` seconds (19.9 of 20 is, 20.0 is not), the
    same way "within three rings" is read."""
    return _micro(seconds) < _micro(limit)


def ring_bucket(rings: int) -> int:
    """The histogram bucket of a ring count: 1..5, and 6 for six or more."""
    return min(max(rings, 1), RING_BUCKETS[-1])


def _micro(seconds: float) -> int:
    # a negative wait is clock skew between sources: it was answered at once
    return max(round(seconds * _MICROSECONDS), 0)


def _ring_micro(cadence: float) -> int:
    ring = round(cadence * _MICROSECONDS)
    if ring <= 0:
        raise ValueError(f"a ring cadence must be positive, not {cadence}")
    return ring
