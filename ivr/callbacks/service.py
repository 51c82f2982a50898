"""What the callbacks capability does, for the API, the CLI and the service's
periodic sync alike."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import structlog

from ivr.callbacks.domain import (
    DEFAULT_DUE_WITHIN,
    NOTE_MAX,
    Attempt,
    AttemptRefused,
    AttemptResult,
    CallbackMonth,
    CallbackTask,
    Priority,
    TaskClosed,
    TaskStatus,
    month_bounds,
    task_for_call,
    task_for_order,
)
from ivr.callbacks.originate import OriginateError, Originator
from ivr.callbacks.outbound import OutboundGuard, dial_result
from ivr.callbacks.store import CallbackStore
from ivr.clock import Clock, SystemClock
from ivr.domain.callback_cycle import CallbackRules, Satisfaction
from ivr.domain.outbound import OutboundRules

log = structlog.get_logger(__name__)

FUTURE_SLACK = timedelta(minutes=5)  # clocks differ a little; an attempt later than this is refused
SYNC_EVERY = 15.0  # seconds between two syncs in the running service
SYNC_CHUNK = 50  # calls read and turned into tasks at a time


class TaskNotFound(LookupError):
    def __init__(self, linkedid: str) -> None:
        super().__init__(f"no callback task for call {linkedid!r}")


class CallbackRefused(ValueError):
    """The request cannot be done as asked; the message says why (not found: see
    TaskNotFound; closed: TaskClosed)."""


@dataclass(frozen=True, slots=True)
class SyncResult:
    created: int
    dismissed: int


class CallbacksService:
    def __init__(
        self,
        store: CallbackStore,
        zone: Callable[[], ZoneInfo],
        clock: Clock | None = None,
        due_within: Mapping[Priority, timedelta] = DEFAULT_DUE_WITHIN,
        guard: OutboundGuard | None = None,
        rules: Callable[[], CallbackRules] = CallbackRules,
        orders_closed: Callable[[datetime, datetime], Awaitable[int]] | None = None,
    ) -> None:
        self.store = store
        self.zone = zone  # the hotline's time zone, as configured now
        self.clock = clock or SystemClock()
        self.due_within = due_within
        # every originate passes the toll-fraud guard (default: the default [outbound])
        self.guard = guard or OutboundGuard(store.engine, OutboundRules, zone, self.clock)
        self.rules = rules  # [callbacks]: when a closed work order's callback is due
        self.orders_closed = orders_closed  # work orders closed in [start, end)
        self._owed: dict[str, int] = {priority.label: 0 for priority in Priority}

    # -- tasks from calls ---------------------------------------------------------

    async def sync(self) -> SyncResult:
        """Create the task of every finished call that needs a callback and has none
        (idempotent: keyed by linkedid); dismiss open, unattempted tasks whose call no
        longer needs one."""
        now = self.clock.now()
        created = 0
        while True:
            # small chunks: reading records and making tasks is Python on the loop that
            # drives the calls, which must not be held long (at 50 calls/s a sync finds
            # hundreds of calls)
            records = await self.store.calls_without_task(SYNC_CHUNK)
            tasks = [t for r in records if (t := task_for_call(r, now, self.due_within))]
            added = await self.store.insert_tasks(tasks)
            created += added
            if len(records) < SYNC_CHUNK or not added:
                break
        dismissed = 0
        for linkedid in await self.store.open_tasks_no_longer_needed():
            with contextlib.suppress(TaskClosed):
                task = await self.store.change(
                    linkedid, lambda t: t.dismiss(now, "the call no longer needs a callback")
                )
                dismissed += task is not None
        if created or dismissed:
            log.info("callbacks.synced", created=created, dismissed=dismissed)
        await self._count_owed()
        await self.guard.load_counts()
        return SyncResult(created, dismissed)

    async def add_for_order(
        self,
        *,
        order_id: int,
        service: str,
        paid: bool,
        caller: str,
        closed_at: datetime,
        done_at: datetime | None,
        line: str = "",
    ) -> CallbackTask | None:
        """The callback task of a closed work order, due by [callbacks] (idempotent: one
        per order); None when the order needs no callback."""
        task = task_for_order(
            order_id=order_id, service=service, paid=paid, caller=caller,
            closed_at=closed_at, done_at=done_at, now=self.clock.now(), zone=self.zone(),
            rules=self.rules(), line=line,
        )
        if task is None:
            return None
        if await self.store.insert_tasks([task]):
            log.info("callbacks.order_task", order=order_id, due=task.due_at.isoformat())
            await self._count_owed()
        return await self.store.task(task.linkedid)

    def owed(self) -> dict[str, int]:
        """Open tasks by priority label (emergency, repair, normal), as of the last sync
        or change: for the exporter's `hotline_callbacks_owed`, which cannot wait on the
        database at scrape time."""
        return dict(self._owed)

    async def _count_owed(self) -> None:
        counts = await self.store.open_counts()
        self._owed = {priority.label: n for priority, n in counts.items()}

    async def run_sync(self, every: float = SYNC_EVERY) -> None:
        """Sync forever (a task of the running service); errors are logged, not fatal."""
        while True:
            try:
                await self.sync()
            except Exception as exc:  # the database may be briefly away: try again later
                log.warning("callbacks.sync_failed", error=str(exc))
            await asyncio.sleep(every)

    # -- reading ------------------------------------------------------------------

    async def task(self, linkedid: str) -> CallbackTask:
        task = await self.store.task(linkedid)
        if task is None:
            raise TaskNotFound(linkedid)
        return task

    async def tasks(
        self,
        *,
        status: TaskStatus | None = TaskStatus.open,
        priority: Priority | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[CallbackTask]:
        return await self.store.tasks(status=status, priority=priority, limit=limit, offset=offset)

    async def month(self, year: int, month: int) -> CallbackMonth:
        """The callback rate of a local calendar month (see CallbackMonth)."""
        start, end = month_bounds(year, month, self.zone())
        counts = await self.store.month_counts(start, end)
        closed = await self.orders_closed(start, end) if self.orders_closed else 0
        status = counts.by_status
        return CallbackMonth(
            year=year,
            month=month,
            owed=counts.owed,
            called_back=counts.called_back,
            done=status.get(TaskStatus.done.value, 0),
            failed=status.get(TaskStatus.failed.value, 0),
            dismissed=status.get(TaskStatus.dismissed.value, 0),
            still_open=status.get(TaskStatus.open.value, 0),
            attempts=counts.attempts,
            anonymous=counts.anonymous,
            orders_closed=closed,
            order_callbacks_made=counts.order_callbacks_made,
            dissatisfied=counts.dissatisfied,
        )

    async def dissatisfied(self, year: int, month: int) -> list[CallbackTask]:
        """The month's dissatisfied callbacks (回访不满意情况表), by the time asked."""
        start, end = month_bounds(year, month, self.zone())
        return await self.store.dissatisfied(start, end)

    # -- changing -----------------------------------------------------------------

    async def record_attempt(
        self,
        linkedid: str,
        result: AttemptResult,
        *,
        at: datetime | None = None,
        by: str = "",
        note: str = "",
        satisfaction: Satisfaction | None = None,
        satisfaction_note: str = "",
    ) -> CallbackTask:
        now = self.clock.now()
        when = now if at is None else at
        if when.tzinfo is None:
            raise CallbackRefused("the attempt's time needs a time zone")
        if when > now + FUTURE_SLACK:
            raise CallbackRefused(f"the attempt at {when.isoformat()} is in the future")
        attempt = Attempt(
            when.astimezone(UTC), result, by[:64], note.strip()[:NOTE_MAX],
            satisfaction, satisfaction_note.strip()[:NOTE_MAX],
        )
        zone = self.zone()
        try:
            task = await self.store.change(linkedid, lambda t: t.record(attempt, zone))
        except AttemptRefused as exc:
            raise CallbackRefused(str(exc)) from exc
        if task is None:
            raise TaskNotFound(linkedid)
        await self._count_owed()
        return task

    async def dismiss(self, linkedid: str, note: str, by: str = "") -> CallbackTask:
        now = self.clock.now()
        text = note.strip()[:NOTE_MAX]
        if not text:
            raise CallbackRefused("say why the task is dismissed")
        signed = f"{text} ({by})" if by else text
        task = await self.store.change(linkedid, lambda t: t.dismiss(now, signed))
        if task is None:
            raise TaskNotFound(linkedid)
        await self._count_owed()
        return task

    async def call_back(
        self,
        linkedid: str,
        agent_endpoint: str,
        originator: Originator,
        agents: Mapping[str, str],
    ) -> str:
        """Ring the agent, then the customer; returns the agent channel's id. `agents`:
        endpoint -> name of the configured agents (only they may be rung)."""
        task = await self.task(linkedid)
        if task.status.closed:
            raise TaskClosed(task)
        if agent_endpoint not in agents:
            known = ", ".join(sorted(agents)) or "none configured"
            raise CallbackRefused(f"unknown agent {agent_endpoint[:64]!r}; agents: {known}")
        if not task.caller:
            raise CallbackRefused("the caller was anonymous: there is no number to call")
        # OutboundRefused (the toll-fraud guard) goes to the caller as it is: nothing rang
        dial = await self.guard.permit(task.linkedid, task.caller, agent_endpoint)
        try:
            channel = await originator.originate(agent_endpoint, task.caller, task.linkedid)
        except OriginateError as exc:  # Asterisk refused or is away: said as it is
            await self.guard.not_started(dial, str(exc))
            raise
        await self.guard.started(dial, channel)
        log.info("callbacks.originated", task=linkedid, agent=agent_endpoint, channel=channel)
        return channel

    async def dial_ended(
        self, channel: str, task_id: str, number: str, status: str, cause: int | None
    ) -> None:
        """The dialplan told how a call-back's dial of the customer ended (AMI): the
        dial's row is closed and, for a real result, the attempt recorded on the task."""
        task = await self.guard.ended(channel, task_id, number, status, cause)
        if task is None:
            return
        result = dial_result(status, cause)
        if result is None:
            return
        note = f"dialled through the carrier: {status}" + (f", cause {cause}" if cause else "")
        with contextlib.suppress(TaskClosed, TaskNotFound, CallbackRefused):
            await self.record_attempt(task, result, by="asterisk", note=note)
