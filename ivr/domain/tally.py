"""What one call adds to the pre-aggregated statistics, and sums of those.

The store keeps one row of these counters per line, line mode and 15-minute bucket of
arrival (UTC), updated in the same transaction as the call record: the old record's tally is
subtracted and the new one's added, so re-ingesting changes nothing. Reports, the
exporter and the API read these rows, so a month costs the same with 10 or 10 million
calls.

Durations are whole milliseconds: integer sums add and subtract exactly, so the rollup
always equals a recount of the calls table.

Buckets are 15 minutes rather than an hour so that any time zone's local days and
hours (India +05:30, Nepal +05:45) are whole numbers of buckets.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from operator import add, attrgetter, sub

from ivr.domain.rates import RateCounts
from ivr.domain.record import AbandonPlace, CallRecord, OncallResult, Outcome
from ivr.domain.rings import RING_BUCKETS, ring_bucket
from ivr.domain.vocabulary import LineMode

BUCKET = timedelta(minutes=15)
# Upper bounds (seconds, inclusive) of the answer-time histogram; 15 = three rings at 5 s,
# 20 = the industry's "80% within 20 s".
ANSWER_BOUNDS = (1, 2, 3, 5, 10, 15, 20, 30, 45, 60, 90, 120, 180, 300)
ANSWER_COLUMNS = (*(f"answer_le_{bound}" for bound in ANSWER_BOUNDS), "answer_le_inf")
RING_COLUMNS = (*(f"rings_{n}" for n in RING_BUCKETS[:-1]), f"rings_{RING_BUCKETS[-1]}_plus")
PLACES = tuple(place.value for place in AbandonPlace)


def bucket_start(at: datetime) -> datetime:
    """The start of the 15-minute bucket (UTC) an instant falls in."""
    utc = at.astimezone(UTC)
    return utc.replace(minute=utc.minute - utc.minute % 15, second=0, microsecond=0)


def milliseconds(seconds: float | None) -> int:
    return round(seconds * 1000) if seconds is not None else 0


@dataclass(slots=True)
class Tally:
    # calls
    offered: int = 0
    in_progress: int = 0
    # the parts of the rates (SPEC §3)
    ivr_answered: int = 0
    human_requested: int = 0
    oncall_requested: int = 0
    answered_by_person: int = 0
    answered_within_three_rings: int = 0
    unanswered: int = 0
    queued: int = 0  # entered the queue or the on-call chain
    answered_in_service_level: int = 0
    queue_ms_sum: int = 0  # queue time of the queued calls
    # ring attempts judged by the three-rings rule, and those that kept it
    ring_attempts: int = 0
    ring_attempts_within_three_rings: int = 0
    # handling time (talk + wrap-up) of calls answered by a person
    handled: int = 0
    talk_ms_sum: int = 0
    handling_ms_sum: int = 0
    # outcomes
    outcome_answered_by_agent: int = 0
    outcome_answered_by_oncall: int = 0
    outcome_voicemail: int = 0
    outcome_ivr_completed: int = 0
    outcome_abandoned: int = 0
    outcome_busy: int = 0
    outcome_failed: int = 0
    # rings to answer (calls answered by a person)
    rings_1: int = 0
    rings_2: int = 0
    rings_3: int = 0
    rings_4: int = 0
    rings_5: int = 0
    rings_6_plus: int = 0
    rings_sum: int = 0  # every ring, six and more counted as they were
    # speed of answer: request for a person -> answer, non-cumulative buckets
    answer_le_1: int = 0
    answer_le_2: int = 0
    answer_le_3: int = 0
    answer_le_5: int = 0
    answer_le_10: int = 0
    answer_le_15: int = 0
    answer_le_20: int = 0
    answer_le_30: int = 0
    answer_le_45: int = 0
    answer_le_60: int = 0
    answer_le_90: int = 0
    answer_le_120: int = 0
    answer_le_180: int = 0
    answer_le_300: int = 0
    answer_le_inf: int = 0
    answer_ms_sum: int = 0
    # abandonment: where, and how long the caller had waited
    abandoned_ivr: int = 0
    abandoned_menu: int = 0
    abandoned_queue: int = 0
    abandoned_oncall: int = 0
    abandoned_voicemail_prompt: int = 0
    abandon_ms_ivr: int = 0
    abandon_ms_menu: int = 0
    abandon_ms_queue: int = 0
    abandon_ms_oncall: int = 0
    abandon_ms_voicemail_prompt: int = 0
    # voicemail, night emergency transfers, follow-up
    voicemail_ms_sum: int = 0
    voicemail_empty: int = 0
    voicemail_urgent: int = 0
    oncall_answered: int = 0
    oncall_failed: int = 0
    oncall_abandoned: int = 0
    callbacks_needed: int = 0
    controller_absent: int = 0

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def of(cls, record: CallRecord | None) -> Tally:
        """What one call record contributes (nothing for a channel that reached no line)."""
        tally = cls()
        if record is None or not record.line:
            return tally
        if record.outcome is None:
            tally.in_progress = 1
            return tally
        counts = record.counts_as
        tally.offered = 1
        tally.ivr_answered = int(counts.ivr_answered)
        tally.human_requested = int(counts.human_requested)
        tally.oncall_requested = int(counts.human_requested and record.human_target == "oncall")
        tally.answered_by_person = int(counts.answered_by_person)
        tally.answered_within_three_rings = int(counts.answered_within_three_rings)
        tally.unanswered = int(counts.unanswered)
        tally.queued = int(counts.queued)
        tally.answered_in_service_level = int(counts.answered_in_service_level)
        if counts.queued:
            tally.queue_ms_sum = milliseconds(record.queue_seconds)
        tally.ring_attempts, tally.ring_attempts_within_three_rings = record.ring_attempts()
        if counts.answered_by_person and record.handling_seconds is not None:
            tally.handled = 1
            tally.talk_ms_sum = milliseconds(record.talk_seconds)
            tally.handling_ms_sum = milliseconds(record.handling_seconds)
        tally._add(f"outcome_{record.outcome.value}")
        if counts.answered_by_person and record.rings is not None:
            tally._add(RING_COLUMNS[ring_bucket(record.rings) - 1])
            tally.rings_sum = record.rings
        if counts.answered_by_person and record.wait_seconds is not None:
            tally._add(_answer_column(record.wait_seconds))
            tally.answer_ms_sum = milliseconds(record.wait_seconds)
        if record.abandon_place is not None:
            tally._add(f"abandoned_{record.abandon_place.value}")
            tally._add(
                f"abandon_ms_{record.abandon_place.value}",
                milliseconds(record.abandon_wait_seconds),
            )
        if record.outcome is Outcome.voicemail:
            tally.voicemail_ms_sum = milliseconds(record.voicemail_seconds)
            tally.voicemail_empty = int(record.voicemail_empty)
            tally.voicemail_urgent = int(record.voicemail_urgent)
        if record.oncall_result is not None:
            tally._add(f"oncall_{record.oncall_result.value}")
        tally.callbacks_needed = int(record.callback_needed)
        tally.controller_absent = int(record.controller_absent)
        return tally

    def _add(self, name: str, amount: int = 1) -> None:
        setattr(self, name, getattr(self, name) + amount)

    def __add__(self, other: Tally) -> Tally:
        return Tally(*map(add, _values(self), _values(other)))

    def __sub__(self, other: Tally) -> Tally:
        return Tally(*map(sub, _values(self), _values(other)))

    def values(self) -> tuple[int, ...]:
        return _values(self)

    def as_dict(self) -> dict[str, int]:
        return asdict(self)

    def __bool__(self) -> bool:
        return any(self.values())

    # -- readings ---------------------------------------------------------------------

    def outcomes(self) -> dict[Outcome, int]:
        return {outcome: getattr(self, f"outcome_{outcome.value}") for outcome in Outcome}

    def rings(self) -> dict[str, int]:
        """Calls answered by a person, by rings heard: "1" .. "5", "6+"."""
        labels = [*(str(n) for n in RING_BUCKETS[:-1]), f"{RING_BUCKETS[-1]}+"]
        pairs = zip(labels, RING_COLUMNS, strict=True)
        return {label: getattr(self, column) for label, column in pairs}

    def abandoned(self) -> dict[AbandonPlace, tuple[int, float | None]]:
        """Abandoned calls by place: (count, mean seconds the caller had waited)."""
        result: dict[AbandonPlace, tuple[int, float | None]] = {}
        for place in AbandonPlace:
            count = getattr(self, f"abandoned_{place.value}")
            total_ms = getattr(self, f"abandon_ms_{place.value}")
            result[place] = (count, total_ms / count / 1000 if count else None)
        return result

    def oncall(self) -> dict[OncallResult, int]:
        return {result: getattr(self, f"oncall_{result.value}") for result in OncallResult}

    def answer_buckets(self) -> list[tuple[float, int]]:
        """Cumulative answer-time histogram: (upper bound in seconds, count), +Inf last."""
        bounds = [*(float(b) for b in ANSWER_BOUNDS), float("inf")]
        running, result = 0, []
        for bound, column in zip(bounds, ANSWER_COLUMNS, strict=True):
            running += getattr(self, column)
            result.append((bound, running))
        return result

    @property
    def rings_count(self) -> int:
        return sum(getattr(self, column) for column in RING_COLUMNS)

    @property
    def answer_count(self) -> int:
        return sum(getattr(self, column) for column in ANSWER_COLUMNS)

    @property
    def answer_mean_seconds(self) -> float | None:
        count = self.answer_count
        return self.answer_ms_sum / count / 1000 if count else None

    def answer_quantile(self, q: float) -> float | None:
        """Estimated like Prometheus' histogram_quantile: linear within the bucket."""
        buckets = self.answer_buckets()
        total = buckets[-1][1]
        if not total:
            return None
        rank = q * total
        lower_bound, lower_count = 0.0, 0
        for bound, count in buckets:
            if count >= rank:
                if bound == float("inf"):
                    return lower_bound  # beyond the last finite bound: its bound
                inside = count - lower_count
                share = (rank - lower_count) / inside if inside else 0.0
                return lower_bound + (bound - lower_bound) * share
            lower_bound, lower_count = bound, count
        return lower_bound


_values = attrgetter(*Tally.names())  # all counters at once, in order


def rate_counts(by_mode: Mapping[str, Tally]) -> RateCounts:
    """The rates' parts from tallies split by line mode ("ivr", "manual")."""
    ivr = by_mode.get(LineMode.ivr.value, Tally())
    manual = by_mode.get(LineMode.manual.value, Tally())
    both = ivr + manual
    return RateCounts(
        offered=both.offered,
        unanswered=both.unanswered,
        busy=both.outcome_busy,
        human_requested=both.human_requested,
        answered_by_person=both.answered_by_person,
        answered_within_three_rings=both.answered_within_three_rings,
        ring_attempts=both.ring_attempts,
        ring_attempts_within_three_rings=both.ring_attempts_within_three_rings,
        rings_counted=both.rings_count,
        rings_sum=both.rings_sum,
        queued=both.queued,
        queue_ms_sum=both.queue_ms_sum,
        answered_in_service_level=both.answered_in_service_level,
        answered_with_wait=both.answer_count,
        wait_ms_sum=both.answer_ms_sum,
        handled=both.handled,
        handling_ms_sum=both.handling_ms_sum,
        ivr_line_offered=ivr.offered,
        ivr_line_ivr_answered=ivr.ivr_answered,
        ivr_line_human_requested=ivr.human_requested,
        ivr_line_answered_by_person=ivr.answered_by_person,
        manual_line_offered=manual.offered,
        manual_line_answered_by_person=manual.answered_by_person,
    )


def ring_tally(record: CallRecord | None) -> dict[tuple[str, str, str], tuple[int, int]]:
    """The call's ring attempts: (who, role, result) -> (attempts, milliseconds rung).
    Attempts still ringing are counted once they end."""
    tally: dict[tuple[str, str, str], tuple[int, int]] = {}
    if record is None or not record.line:
        return tally
    for attempt in record.attempts:
        if attempt.result is None:
            continue
        key = (attempt.who, attempt.role, attempt.result)
        count, ms = tally.get(key, (0, 0))
        tally[key] = (count + 1, ms + milliseconds(attempt.ring_seconds))
    return tally


def _answer_column(wait_seconds: float) -> str:
    for bound, column in zip(ANSWER_BOUNDS, ANSWER_COLUMNS, strict=False):
        if wait_seconds <= bound:
            return column
    return ANSWER_COLUMNS[-1]
