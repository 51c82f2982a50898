"""Where callback tasks, their attempts and handled voicemails are kept (SQLAlchemy,
the journal's database). Tasks are derived from the journal's `calls` table, read
here, never written."""

from __future__ import annotations

from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import RowMapping, Table, and_, exists, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ivr.callbacks.domain import (
    Attempt,
    AttemptResult,
    CallbackTask,
    Priority,
    Reason,
    TaskStatus,
)
from ivr.callbacks.tables import (
    AttemptRow,
    TaskRow,
    VoicemailHandledRow,
    attempts_table,
    tasks_table,
    voicemail_handled_table,
)
from ivr.domain.callback_cycle import Satisfaction
from ivr.domain.record import CallRecord, Outcome
from ivr.journal.engine import WRITE
from ivr.journal.store import calls_table
from ivr.journal.tables import CallRow, record_from_row

CHUNK = 500


@dataclass(frozen=True, slots=True)
class Handled:
    at: datetime
    by: str


@dataclass(slots=True)
class MonthCounts:
    owed: int = 0
    called_back: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    attempts: int = 0
    anonymous: int = 0
    order_callbacks_made: int = 0
    dissatisfied: int = 0


class CallbackStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    # -- deriving tasks from calls ------------------------------------------------

    async def calls_without_task(self, limit: int = CHUNK) -> list[CallRecord]:
        """Finished calls that need a callback and have no task yet, oldest first."""
        has_task = exists().where(TaskRow.linkedid == CallRow.linkedid)
        query = (
            select(calls_table)
            .where(CallRow.callback_needed.is_(True), CallRow.outcome.is_not(None), ~has_task)
            .order_by(CallRow.arrived_at)
            .limit(limit)
        )
        async with self.engine.connect() as conn:
            return [record_from_row(row) for row in (await conn.execute(query)).mappings()]

    async def insert_tasks(self, tasks: Sequence[CallbackTask]) -> int:
        """Add tasks; one that exists already (same call) is left as it is."""
        if not tasks:
            return 0
        async with self._writing() as conn:
            before = await self._count(conn, [t.linkedid for t in tasks])
            insert = self._insert(tasks_table).on_conflict_do_nothing()
            await conn.execute(insert, [_task_row(task) for task in tasks])
            after = await self._count(conn, [t.linkedid for t in tasks])
        return after - before

    async def open_tasks_no_longer_needed(self) -> list[str]:
        """Open tasks without attempts whose call no longer needs a callback (late
        events re-folded it: say, an agent's answer was reported after the hangup)."""
        attempted = exists().where(AttemptRow.linkedid == TaskRow.linkedid)
        query = (
            select(TaskRow.linkedid)
            .join(calls_table, CallRow.linkedid == TaskRow.linkedid)
            .where(
                TaskRow.status == TaskStatus.open.value,
                CallRow.callback_needed.is_(False),
                ~attempted,
            )
            .limit(CHUNK)
        )
        async with self.engine.connect() as conn:
            return list((await conn.execute(query)).scalars())

    # -- reading ------------------------------------------------------------------

    async def task(self, linkedid: str) -> CallbackTask | None:
        async with self.engine.connect() as conn:
            tasks = await self._load(conn, select(tasks_table).where(TaskRow.linkedid == linkedid))
        return tasks[0] if tasks else None

    async def tasks(
        self,
        *,
        status: TaskStatus | None = TaskStatus.open,
        priority: Priority | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[CallbackTask]:
        """By priority (emergency first), then age (oldest call first)."""
        query = select(tasks_table).order_by(
            TaskRow.priority, TaskRow.arrived_at, TaskRow.linkedid
        )
        if status is not None:
            query = query.where(TaskRow.status == status.value)
        if priority is not None:
            query = query.where(TaskRow.priority == int(priority))
        query = query.limit(limit).offset(offset)
        async with self.engine.connect() as conn:
            return await self._load(conn, query)

    async def month_counts(self, start: datetime, end: datetime) -> MonthCounts:
        """Tasks of calls that arrived in [start, end), by status and whether any callback
        attempt was made for them (anonymous callers apart), and the attempts made then."""
        anonymous = TaskRow.caller == ""
        orders = TaskRow.order_id.is_(None)  # the calls' tasks; work orders' apart below
        called = (
            select(AttemptRow.linkedid).where(AttemptRow.linkedid == TaskRow.linkedid).exists()
        )
        owed = (
            select(TaskRow.status, anonymous, called, func.count())
            .where(TaskRow.arrived_at >= start, TaskRow.arrived_at < end, orders)
            .group_by(TaskRow.status, anonymous, called)
        )
        attempts = select(func.count()).select_from(AttemptRow).where(
            AttemptRow.at >= start, AttemptRow.at < end
        )
        counts = MonthCounts()
        async with self.engine.connect() as conn:
            for status, no_number, was_called, n in await conn.execute(owed):
                if no_number:
                    counts.anonymous += int(n)
                    continue
                counts.owed += int(n)
                counts.called_back += int(n) if was_called else 0
                counts.by_status[status] = counts.by_status.get(status, 0) + int(n)
            counts.attempts = int((await conn.execute(attempts)).scalar_one())
            first = (
                select(AttemptRow.linkedid, func.min(AttemptRow.at).label("first"))
                .join(TaskRow, TaskRow.linkedid == AttemptRow.linkedid)
                .where(TaskRow.order_id.is_not(None))
                .group_by(AttemptRow.linkedid)
                .subquery()
            )
            made = select(func.count()).select_from(first).where(
                first.c.first >= start, first.c.first < end
            )
            counts.order_callbacks_made = int((await conn.execute(made)).scalar_one())
            unhappy = select(func.count()).select_from(AttemptRow).where(
                AttemptRow.at >= start, AttemptRow.at < end,
                AttemptRow.satisfaction == "dissatisfied",
            )
            counts.dissatisfied = int((await conn.execute(unhappy)).scalar_one())
        return counts

    async def dissatisfied(self, start: datetime, end: datetime) -> list[CallbackTask]:
        """Tasks whose customer said they were dissatisfied in [start, end), oldest first."""
        query = (
            select(tasks_table)
            .join(AttemptRow, AttemptRow.linkedid == TaskRow.linkedid)
            .where(AttemptRow.at >= start, AttemptRow.at < end,
                   AttemptRow.satisfaction == "dissatisfied")
            .order_by(AttemptRow.at, TaskRow.linkedid)
        )
        async with self.engine.connect() as conn:
            return await self._load(conn, query)

    async def open_counts(self) -> dict[Priority, int]:
        """Open tasks by priority."""
        query = (
            select(TaskRow.priority, func.count())
            .where(TaskRow.status == TaskStatus.open.value)
            .group_by(TaskRow.priority)
        )
        async with self.engine.connect() as conn:
            found = {int(priority): int(n) for priority, n in await conn.execute(query)}
        return {priority: found.get(int(priority), 0) for priority in Priority}

    # -- changing -----------------------------------------------------------------

    async def change(
        self, linkedid: str, change: Callable[[CallbackTask], CallbackTask]
    ) -> CallbackTask | None:
        """Apply a transition to one task in one write transaction; None if no such
        task. Whatever `change` raises leaves the task as it was."""
        async with self._writing() as conn:
            query = select(tasks_table).where(TaskRow.linkedid == linkedid).with_for_update()
            found = await self._load(conn, query)
            if not found:
                return None
            old = found[0]
            new = change(old)
            await conn.execute(
                update(tasks_table)
                .where(TaskRow.linkedid == linkedid)
                .values(status=new.status.value, closed_at=new.closed_at, close_note=new.close_note)
            )
            added = Counter(new.attempts) - Counter(old.attempts)
            if added:
                await conn.execute(
                    attempts_table.insert(),
                    [_attempt_row(linkedid, attempt) for attempt in added.elements()],
                )
        return new

    async def mark_handled(self, linkedid: str, at: datetime, by: str) -> Handled:
        """Mark a voicemail handled; marking it again keeps the first mark."""
        async with self._writing() as conn:
            insert = self._insert(voicemail_handled_table).on_conflict_do_nothing()
            await conn.execute(insert, [{"linkedid": linkedid, "handled_at": at, "handled_by": by}])
            marks = await self._handled(conn, [linkedid])
        return marks[linkedid]

    async def handled(self, linkedids: Sequence[str]) -> dict[str, Handled]:
        async with self.engine.connect() as conn:
            return await self._handled(conn, linkedids)

    async def voicemails(
        self,
        *,
        since: datetime | None = None,
        until: datetime | None = None,
        handled: bool | None = None,
        line: str | None = None,
        limit: int = 100,
    ) -> list[tuple[CallRecord, Handled | None]]:
        """Calls that left a voicemail, newest first, with their handled mark."""
        mark = voicemail_handled_table
        query = (
            select(calls_table, mark.c.handled_at, mark.c.handled_by)
            .outerjoin(mark, mark.c.linkedid == CallRow.linkedid)
            .where(CallRow.outcome == Outcome.voicemail.value)
            .order_by(CallRow.arrived_at.desc(), CallRow.linkedid)
            .limit(limit)
        )
        conditions = []
        if since is not None:
            conditions.append(CallRow.arrived_at >= since)
        if until is not None:
            conditions.append(CallRow.arrived_at < until)
        if line is not None:
            conditions.append(CallRow.line == line)
        if handled is not None:
            seen = mark.c.handled_at.is_not(None)
            conditions.append(seen if handled else ~seen)
        if conditions:
            query = query.where(and_(*conditions))
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query)).mappings()
            return [
                (
                    record_from_row(row),
                    Handled(row["handled_at"], row["handled_by"]) if row["handled_at"] else None,
                )
                for row in rows
            ]

    # -- helpers ------------------------------------------------------------------

    async def _handled(self, conn: AsyncConnection, linkedids: Sequence[str]) -> dict[str, Handled]:
        marks: dict[str, Handled] = {}
        for chunk in _chunks(linkedids):
            rows = await conn.execute(
                select(voicemail_handled_table).where(VoicemailHandledRow.linkedid.in_(chunk))
            )
            for row in rows.mappings():
                marks[row["linkedid"]] = Handled(row["handled_at"], row["handled_by"])
        return marks

    async def _load(self, conn: AsyncConnection, query: Any) -> list[CallbackTask]:
        rows = list((await conn.execute(query)).mappings())
        attempts: dict[str, list[Attempt]] = {row["linkedid"]: [] for row in rows}
        for chunk in _chunks(list(attempts)):
            found = await conn.execute(
                select(attempts_table)
                .where(AttemptRow.linkedid.in_(chunk))
                .order_by(AttemptRow.at, AttemptRow.id)
            )
            for row in found.mappings():
                attempts[row["linkedid"]].append(Attempt(
                    row["at"], AttemptResult(row["result"]), row["by"], row["note"],
                    Satisfaction(row["satisfaction"]) if row["satisfaction"] else None,
                    row["satisfaction_note"] or "",
                ))
        return [_task(row, attempts[row["linkedid"]]) for row in rows]

    async def known(self, linkedids: Sequence[str]) -> set[str]:
        """Which of these task keys exist."""
        found: set[str] = set()
        async with self.engine.connect() as conn:
            for chunk in _chunks(linkedids):
                rows = await conn.execute(
                    select(TaskRow.linkedid).where(TaskRow.linkedid.in_(chunk))
                )
                found.update(rows.scalars())
        return found

    async def _count(self, conn: AsyncConnection, linkedids: Sequence[str]) -> int:
        total = 0
        for chunk in _chunks(linkedids):
            count = await conn.execute(
                select(func.count()).select_from(TaskRow).where(TaskRow.linkedid.in_(chunk))
            )
            total += int(count.scalar_one())
        return total

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            await conn.execution_options(**{WRITE: True})
            async with conn.begin():
                yield conn

    def _insert(self, table: Table) -> Any:
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        return dialect.insert(table)


def _task_row(task: CallbackTask) -> dict[str, Any]:
    return {
        "linkedid": task.linkedid,
        "created_at": task.created_at,
        "arrived_at": task.arrived_at,
        "line": task.line,
        "caller": task.caller,
        "service": task.service,
        "reason": task.reason.value,
        "priority": int(task.priority),
        "due_at": task.due_at,
        "status": task.status.value,
        "closed_at": task.closed_at,
        "close_note": task.close_note,
        "order_id": task.order_id,
    }


def _attempt_row(linkedid: str, attempt: Attempt) -> dict[str, Any]:
    return {
        "linkedid": linkedid,
        "at": attempt.at,
        "result": attempt.result.value,
        "by": attempt.by,
        "note": attempt.note,
        "satisfaction": attempt.satisfaction.value if attempt.satisfaction else None,
        "satisfaction_note": attempt.satisfaction_note or None,
    }


def _task(row: RowMapping, attempts: Iterable[Attempt]) -> CallbackTask:
    return CallbackTask(
        linkedid=row["linkedid"],
        created_at=row["created_at"],
        arrived_at=row["arrived_at"],
        line=row["line"],
        caller=row["caller"],
        service=row["service"],
        reason=Reason(row["reason"]),
        priority=Priority(row["priority"]),
        due_at=row["due_at"],
        status=TaskStatus(row["status"]),
        closed_at=row["closed_at"],
        close_note=row["close_note"] or "",
        attempts=tuple(attempts),
        order_id=row["order_id"],
    )


def _chunks(items: Sequence[str]) -> Iterable[Sequence[str]]:
    for start in range(0, len(items), CHUNK):
        yield items[start : start + CHUNK]
