"""Callback tasks (回访, SPEC R7): what each call that needs one becomes, and how a task
moves as attempts are made. Pure: no I/O, times in UTC, days in the hotline's zone.

A task is a small state machine:

    open --reached--------------------------------------> done
    open --failed attempt, failures on 2 local days-----> failed
    open --failed attempt, failures on 1 local day------> open
    open --dismiss--------------------------------------> dismissed
    done / failed / dismissed: closed, nothing more is recorded

"A callback counts as failed only after 2 failed attempts on different days" (R7):
different *local calendar dates* in the hotline's time zone, so 23:50 on 30 November
and 00:10 on 1 December are two days, and three failures on one afternoon are one.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import IntEnum, StrEnum
from zoneinfo import ZoneInfo

from ivr.domain.record import CallRecord, OncallResult, Outcome

FAILED_DAYS = 2  # failed attempts on this many different local days: the task failed
NOTE_MAX = 500


class AttemptResult(StrEnum):
    """How one callback attempt ended (R7's reasons for a failed attempt, and success)."""

    reached = "reached"
    busy = "busy"
    number_does_not_exist = "number_does_not_exist"
    no_answer = "no_answer"
    unreachable = "unreachable"  # switched off, out of coverage
    call_reminder_service = "call_reminder_service"  # the operator's 来电提醒 answered

    @property
    def failed(self) -> bool:
        return self is not AttemptResult.reached


class TaskStatus(StrEnum):
    open = "open"
    done = "done"  # the customer was reached
    failed = "failed"  # failed attempts on two different days
    dismissed = "dismissed"  # closed without a callback (say, an anonymous caller)

    @property
    def closed(self) -> bool:
        return self is not TaskStatus.open


class Reason(StrEnum):
    """Why the call needs a callback (R7, for this project)."""

    voicemail = "voicemail"
    abandoned = "abandoned"  # hung up after asking for a person
    emergency_failed = "emergency_failed"  # the night on-call chain reached nobody


class Priority(IntEnum):
    """Lower first: emergencies before repairs before everything else."""

    emergency = 0
    repair = 1
    normal = 2

    @property
    def label(self) -> str:
        return self.name


# R7: "emergency calls: callback within a set time limit". Defaults, per priority;
# CallbacksService takes others.
DEFAULT_DUE_WITHIN: Mapping[Priority, timedelta] = {
    Priority.emergency: timedelta(hours=1),
    Priority.repair: timedelta(hours=24),
    Priority.normal: timedelta(hours=48),
}


class TaskClosed(Exception):
    """The task is closed: nothing more can be recorded on it."""

    def __init__(self, task: CallbackTask) -> None:
        self.task = task
        super().__init__(
            f"callback task {task.linkedid} is already {task.status.value}; "
            "nothing more can be recorded on it"
        )


class AttemptRefused(ValueError):
    """An attempt that cannot have happened (before the call, in the future)."""


@dataclass(frozen=True, slots=True)
class Attempt:
    at: datetime  # when the attempt was made (UTC)
    result: AttemptResult
    by: str = ""  # who recorded it (the API token's name)
    note: str = ""


@dataclass(frozen=True, slots=True)
class CallbackTask:
    linkedid: str  # the call it comes from: one task per call
    created_at: datetime
    arrived_at: datetime  # the call's arrival: the task's age runs from here
    line: str
    caller: str
    service: str | None
    reason: Reason
    priority: Priority
    due_at: datetime
    status: TaskStatus = TaskStatus.open
    closed_at: datetime | None = None
    close_note: str = ""
    attempts: tuple[Attempt, ...] = ()

    def overdue(self, now: datetime) -> bool:
        return self.status is TaskStatus.open and now > self.due_at

    def failed_days(self, zone: ZoneInfo) -> list[date]:
        return failed_days(self.attempts, zone)

    # -- transitions --------------------------------------------------------------

    def record(self, attempt: Attempt, zone: ZoneInfo) -> CallbackTask:
        """The task after one more attempt (attempts may be recorded late, in any order)."""
        if self.status.closed:
            raise TaskClosed(self)
        if attempt.at < self.arrived_at:
            raise AttemptRefused(
                f"the attempt at {attempt.at.isoformat()} is before the call arrived "
                f"({self.arrived_at.isoformat()})"
            )
        attempts = tuple(sorted((*self.attempts, attempt), key=lambda a: a.at))
        task = replace(self, attempts=attempts)
        if attempt.result is AttemptResult.reached:
            return replace(task, status=TaskStatus.done, closed_at=attempt.at)
        failed_at = moment_failed(attempts, zone)
        if failed_at is not None:
            return replace(task, status=TaskStatus.failed, closed_at=failed_at)
        return task

    def dismiss(self, at: datetime, note: str) -> CallbackTask:
        if self.status.closed:
            raise TaskClosed(self)
        return replace(self, status=TaskStatus.dismissed, closed_at=at, close_note=note)


def failed_days(attempts: Iterable[Attempt], zone: ZoneInfo) -> list[date]:
    """The distinct local dates on which attempts failed, in order."""
    return sorted({a.at.astimezone(zone).date() for a in attempts if a.result.failed})


def moment_failed(attempts: Iterable[Attempt], zone: ZoneInfo) -> datetime | None:
    """When the task failed: the first failed attempt on the FAILED_DAYS-th distinct
    local date, in time order; None while failures cover fewer days."""
    days: set[date] = set()
    for attempt in sorted(attempts, key=lambda a: a.at):
        if attempt.result.failed:
            days.add(attempt.at.astimezone(zone).date())
            if len(days) >= FAILED_DAYS:
                return attempt.at
    return None


# -- from a call record ------------------------------------------------------------


def reason_of(record: CallRecord) -> Reason | None:
    """Why this call needs a callback; None when it does not (`callback_needed`)."""
    if not record.callback_needed:
        return None
    if record.oncall_result is OncallResult.failed:
        return Reason.emergency_failed
    if record.outcome is Outcome.voicemail:
        return Reason.voicemail
    return Reason.abandoned


def priority_of(record: CallRecord, reason: Reason) -> Priority:
    if (
        reason is Reason.emergency_failed
        or record.service == "emergency"
        or record.voicemail_urgent
    ):
        return Priority.emergency
    if record.service == "repair":
        return Priority.repair
    return Priority.normal


def task_for_call(
    record: CallRecord,
    now: datetime,
    due_within: Mapping[Priority, timedelta] = DEFAULT_DUE_WITHIN,
) -> CallbackTask | None:
    """The task a call needs, or None. An anonymous caller cannot be called back: the
    task is created dismissed, so it is still seen and counted."""
    reason = reason_of(record)
    if reason is None:
        return None
    priority = priority_of(record, reason)
    task = CallbackTask(
        linkedid=record.linkedid,
        created_at=now,
        arrived_at=record.arrived_at,
        line=record.line,
        caller=record.caller,
        service=record.service,
        reason=reason,
        priority=priority,
        due_at=record.arrived_at + due_within.get(priority, DEFAULT_DUE_WITHIN[priority]),
    )
    if not record.caller:
        return task.dismiss(now, "anonymous caller: no number to call back")
    return task


# -- the monthly rate --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallbackMonth:
    """The callback rate of one month (R7: callbacks made in the month / tickets closed
    in the month), for this project's tasks:

    - the month is a calendar month in the hotline's time zone;
    - a task is *closed in the month* when the moment that closed it falls in the
      month: the attempt that reached the customer (done), the first failed attempt on
      the second different day (failed), or the dismissal (dismissed);
    - a *callback was made* for a closed task when it was closed by calling: done, or
      failed after attempts on two different days, which R7 counts as a callback made
      (and failed). A dismissed task was closed without one;
    - **callback rate** = (done + failed) / (done + failed + dismissed), over tasks
      closed in the month; None when no task closed (no data is not 0%).

    `reached_rate` = done / closed is the share of customers actually reached.
    `attempts` counts every attempt made in the month, whatever task it was for.
    """

    year: int
    month: int
    done: int = 0
    failed: int = 0
    dismissed: int = 0
    attempts: int = 0
    open_now: int = 0  # tasks still open (at the time of asking)
    anonymous: int = 0  # tasks of anonymous callers closed in the month, not in the rate

    @property
    def closed(self) -> int:
        return self.done + self.failed + self.dismissed

    @property
    def called_back(self) -> int:
        return self.done + self.failed

    @property
    def rate(self) -> float | None:
        return self.called_back / self.closed if self.closed else None

    @property
    def reached_rate(self) -> float | None:
        return self.done / self.closed if self.closed else None


def month_bounds(year: int, month: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar month, as aware datetimes in `zone`."""
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} is not 1-12")
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start, end
