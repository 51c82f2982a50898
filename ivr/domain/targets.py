"""What the hotline is judged against (SPEC R4, R5 and §3), as plain values.

The seeds give the connection targets (98% / 85% / 90%, no-answer 0) and "answer within
three rings"; the industry notes give the rest (average rings 2-3, average queue time
at most 20 s, 80% answered within 20 s, handling time 210-330 s).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Targets:
    auto_answer: float = 0.98
    transfer_answer: float = 0.85
    manual_answer: float = 0.90
    no_answer: float = 0.0
    within_three_rings: float = 0.80
    # busy calls count against auto-answer, so 2% busy alone spends its whole margin
    busy: float = 0.02
    average_rings: float = 3.0
    average_queue_seconds: float = 20.0
    service_level: float = 0.80
    service_level_seconds: float = 20.0
    handling_min_seconds: float = 210.0
    handling_max_seconds: float = 330.0
