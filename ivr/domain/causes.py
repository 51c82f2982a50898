"""Asterisk's hangup causes and Dial statuses, read once, for every source.

Q.850 causes arrive on Hangup events (the caller's channel, an agent's leg) and with
`HANGUPCAUSE` after a Dial; Dial's own `DIALSTATUS` says how one ring attempt ended.
Both the AMI translation and the fold read these tables, so a cause means one thing.
"""

from __future__ import annotations

from ivr.domain.events import RingResult

CAUSE_BUSY = "17"  # user busy
# Causes that mean the network or the system failed, not a person: unallocated number,
# no route, subscriber absent (phone not registered), out of order, congestion,
# temporary failure, switching equipment congestion, resource unavailable, bearer
# capability not available, interworking.
FAILURE_CAUSES = frozenset(
    {"1", "3", "20", "27", "34", "38", "41", "42", "47", "58", "127"}
)

# How one Dial attempt ended, where DIALSTATUS says it plainly. CANCEL: the caller hung
# up (or the attempt was withdrawn) while the phone rang; it is not a ring-out. The rest
# (CONGESTION, CHANUNAVAIL ...) failed, unless the cause says the phone was busy.
_DIAL_STATUS = {
    "ANSWER": RingResult.answered,
    "NOANSWER": RingResult.noanswer,
    "BUSY": RingResult.busy,
    "CANCEL": RingResult.cancelled,
}


def dial_result(status: str, cause: str = "") -> RingResult:
    """One Dial attempt's result from DIALSTATUS, else from the Q.850 cause."""
    known = _DIAL_STATUS.get(status.strip().upper())
    if known is not None:
        return known
    return cause_result(cause, default=RingResult.failed)


def cause_result(cause: str, default: RingResult = RingResult.noanswer) -> RingResult:
    """A ring attempt that ended unanswered, by the Q.850 cause of the phone's leg
    (app_queue reports a busy agent as a ring-no-answer of 0 s: only the cause tells)."""
    if cause == CAUSE_BUSY:
        return RingResult.busy
    if cause in FAILURE_CAUSES:
        return RingResult.failed
    return default


def ring_result(raw: object) -> RingResult:
    """A result already named by a source: a RingResult value or a Dial status."""
    text = str(raw or "").strip()
    try:
        return RingResult(text.lower())
    except ValueError:
        return dial_result(text)


def is_failure_cause(cause: str | None) -> bool:
    return cause in FAILURE_CAUSES
