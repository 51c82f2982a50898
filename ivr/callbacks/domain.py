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

from ivr.domain.callback_cycle import CallbackRules, Satisfaction, callback_rate
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
    work_order = "work_order"  # a closed work order (回访 of the work, R7)


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
    # the customer's satisfaction survey (满意度调查), only when they were reached
    satisfaction: Satisfaction | None = None
    satisfaction_note: str = ""


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
    order_id: int | None = None  # the work order it calls back about (reason work_order)

    @property
    def satisfaction(self) -> Satisfaction | None:
        """The survey's answer of the reaching attempt, if it was asked."""
        for attempt in self.attempts:
            if attempt.satisfaction is not None:
                return attempt.satisfaction
        return None

    def overdue(self, now: datetime) -> bool:
        return self.status is TaskStatus.open and now > self.due_at

    def failed_days(self, zone: ZoneInfo) -> list[date]:
        return failed_days(self.attempts, zone)

    # -- transitions --------------------------------------------------------------

    def record(self, attempt: Attempt, zone: ZoneInfo) -> CallbackTask:
        """The task after one more attempt (attempts may be recorded late, in any order)."""
        if self.status.closed:
            raise TaskClosed(self)
        if attempt.satisfaction is not None and attempt.result.failed:
            raise AttemptRefused("satisfaction is asked of a customer who was reached")
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


def task_for_order(
    *,
    order_id: int,
    service: str,
    paid: bool,
    caller: str,
    closed_at: datetime,
    done_at: datetime | None,
    now: datetime,
    zone: ZoneInfo,
    rules: CallbackRules,
    line: str = "",
) -> CallbackTask | None:
    """The callback a closed work order needs (ivr/domain/callback_cycle.py), or None.
    Keyed `order-<id>`: one task per order."""
    due = rules.due(service, paid, closed_at, done_at, zone)
    if due is None:
        return None
    priority = (Priority.emergency if service == "emergency"
                else Priority.repair if service == "repair" else Priority.normal)
    task = CallbackTask(
        linkedid=order_task_key(order_id), created_at=now, arrived_at=closed_at, line=line,
        caller=caller, service=service, reason=Reason.work_order, priority=priority,
        due_at=due, order_id=order_id,
    )
    if not caller:
        return task.dismiss(now, "no number to call back")
    return task


def order_task_key(order_id: int) -> str:
    return f"order-{order_id}"


# -- the monthly rate --------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class CallbackMonth:
    """The callback rate of one month (R7, seed: 回访率 = 月度回访量 / 结单量): the
    callbacks made for what the month owed, over what the month owed. Until work orders
    exist, what a month owes is its callback tasks:

    - a task is *owed in the month* when the call that needs it arrived in the month
      (SPEC §3: a call belongs to the period it arrived in), in the hotline's time zone;
      anonymous callers cannot be called back and are counted apart;
    - it was *called back* when at least one callback attempt was made for it (R7: a
      failed attempt is a callback made, its time and reason recorded);
    - **callback rate** = called back / owed; a task never called (still open, or
      dismissed without a call) lowers it; None when the month owed nothing.

    `reached_rate` = done / owed is the share of customers actually reached.
    `attempts` counts every attempt made in the month, whatever task it was for.

    For work orders (the seed's own definition, ivr/domain/callback_cycle.py):
    `order_rate` = order callbacks made in the month / work orders closed in the month.
    """

    year: int
    month: int
    owed: int = 0
    called_back: int = 0
    done: int = 0  # of the owed tasks, by their status now
    failed: int = 0
    dismissed: int = 0
    still_open: int = 0
    attempts: int = 0
    anonymous: int = 0  # tasks of anonymous callers created in the month, not in the rate
    orders_closed: int = 0  # work orders closed in the month (结单量)
    order_callbacks_made: int = 0  # order tasks first attempted in the month (回访量)
    dissatisfied: int = 0  # callbacks in the month whose customer was dissatisfied

    @property
    def order_rate(self) -> float | None:
        return callback_rate(self.order_callbacks_made, self.orders_closed)

    @property
    def never_called(self) -> int:
        return self.owed - self.called_back

    @property
    def rate(self) -> float | None:
        return self.called_back / self.owed if self.owed else None

    @property
    def reached_rate(self) -> float | None:
        return self.done / self.owed if self.owed else None


def month_bounds(year: int, month: int, zone: ZoneInfo) -> tuple[datetime, datetime]:
    """[start, end) of a local calendar month, as aware datetimes in `zone`."""
    if not 1 <= month <= 12:
        raise ValueError(f"month {month} is not 1-12")
    start = datetime(year, month, 1, tzinfo=zone)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=zone)
    return start, end
