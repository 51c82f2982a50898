"""The toll-fraud guard in front of every originate (SPEC security: no outbound route a
caller can reach or trick), and the record of what was dialled.

Every request to dial a number passes `OutboundGuard.permit` first: the number must be
domestic by `[outbound]` (ivr/domain/outbound.py), and the task and the local day must
have originates left. The check and the row that counts the originate are one write
transaction, so two clicks at once cannot both take the last one. A refusal is written
too (status `refused`, its reason), logged as a security event and counted in /metrics
(`hotline_outbound_refused_total{reason}`); so is a refusal by the dialplan's own check
(`HotlineOutbound` UserEvent, Status REFUSED), which only a bypassed guard can reach.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import structlog
from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ivr.callbacks.domain import AttemptResult
from ivr.callbacks.tables import OutboundCallRow, TaskRow, outbound_calls_table
from ivr.clock import Clock, SystemClock
from ivr.domain.outbound import OutboundRules, Refusal
from ivr.journal.engine import WRITE

log = structlog.get_logger(__name__)

REFUSED = "refused"
ORIGINATED = "originated"
OUTBOUND_EVENT = "HotlineOutbound"  # the dialplan's UserEvent for each dial's end

# Asterisk's DIALSTATUS (and, for CHANUNAVAIL/CONGESTION, the cause) -> the seed's result
DIAL_RESULTS: Mapping[str, AttemptResult] = {
    "ANSWER": AttemptResult.reached,
    "BUSY": AttemptResult.busy,
    "NOANSWER": AttemptResult.no_answer,
    "CANCEL": AttemptResult.no_answer,
    "CHANUNAVAIL": AttemptResult.unreachable,
    "CONGESTION": AttemptResult.unreachable,
}
UNALLOCATED_NUMBER = 1  # Q.850 cause 1: the number does not exist (空号)


def dial_result(status: str, cause: int | None) -> AttemptResult | None:
    """The attempt result of a dial's end; None for a status that is not one (the
    dialplan's own refusal)."""
    if cause == UNALLOCATED_NUMBER and status != "ANSWER":
        return AttemptResult.number_does_not_exist
    return DIAL_RESULTS.get(status)


class OutboundRefused(ValueError):
    """The guard refused to dial; `reason` is the metric's label."""

    def __init__(self, reason: Refusal, number: str) -> None:
        self.reason = reason
        super().__init__(f"the number {number[:40]!r} may not be dialled ({reason.value})")


@dataclass(frozen=True, slots=True)
class Dial:
    """One originate the guard allowed (its row id is the dial's id)."""

    id: int
    task: str
    number: str
    agent: str


class OutboundGuard:
    def __init__(
        self,
        engine: AsyncEngine,
        rules: Callable[[], OutboundRules],
        zone: Callable[[], ZoneInfo],
        clock: Clock | None = None,
    ) -> None:
        self.engine = engine
        self.rules = rules  # the config's [outbound], as of now
        self.zone = zone
        self.clock = clock or SystemClock()
        self._refused: dict[str, int] = {reason.value: 0 for reason in Refusal}

    async def permit(self, task: str, number: str, agent: str) -> Dial:
        """Count an originate of `number` for `task`, or raise OutboundRefused (the
        refusal written, logged and counted)."""
        rules = self.rules()
        now = self.clock.now()
        local = now.astimezone(self.zone())
        day_start = local.replace(hour=0, minute=0, second=0, microsecond=0)
        day_end = day_start + timedelta(days=1)
        async with self._writing() as conn:
            # the task's row is the lock that keeps two requests from both taking the last
            await conn.execute(
                select(TaskRow.linkedid).where(TaskRow.linkedid == task).with_for_update()
            )
            for_task = await self._originates(conn, OutboundCallRow.task == task)
            for_day = await self._originates(
                conn, OutboundCallRow.at >= day_start, OutboundCallRow.at < day_end
            )
            reason = rules.refusal(number, for_task, for_day)
            row = {
                "task": task, "number": number[:40], "agent": agent[:64], "at": now,
                "status": REFUSED if reason else ORIGINATED,
                "reason": reason.value if reason else None,
            }
            inserted = await conn.execute(
                outbound_calls_table.insert().values(**row).returning(OutboundCallRow.id)
            )
            dial_id = int(inserted.scalar_one())
        if reason is not None:
            self._count_refusal(reason, task=task, number=number, agent=agent)
            raise OutboundRefused(reason, number)
        return Dial(dial_id, task, number, agent)

    async def started(self, dial: Dial, channel: str) -> None:
        """The originate's channel, to find the dial again when it ends."""
        async with self._writing() as conn:
            await conn.execute(
                update(outbound_calls_table)
                .where(OutboundCallRow.id == dial.id)
                .values(channel=channel)
            )

    async def not_started(self, dial: Dial, why: str) -> None:
        """Asterisk refused the originate: the row says so (it still counts: a retry
        storm against a failing Asterisk is limited too)."""
        await self._end(OutboundCallRow.id == dial.id, "not_started", None, self.clock.now())
        log.warning("outbound.not_started", task=dial.task, error=why[:200])

    async def ended(
        self, channel: str, task: str, number: str, status: str, cause: int | None
    ) -> str | None:
        """The dialplan told how the dial of `channel` ended: the task when it was one of
        ours, else None. A dialplan refusal is written and counted even for a channel
        the guard never saw (that is the bypass it exists for)."""
        now = self.clock.now()
        async with self.engine.connect() as conn:
            found = (await conn.execute(
                select(OutboundCallRow.task, OutboundCallRow.number, OutboundCallRow.agent)
                .where(OutboundCallRow.channel == channel)
            )).first()
        if status == "REFUSED":
            if found is None:
                async with self._writing() as conn:
                    await conn.execute(outbound_calls_table.insert().values(
                        task=task[:64], number=number[:40], agent="", at=now, status=REFUSED,
                        reason=Refusal.dialplan.value, channel=channel[:64], ended_at=now,
                        cause=cause,
                    ))
            else:
                task, number = found[0], found[1]
                await self._end(OutboundCallRow.channel == channel, REFUSED, cause, now,
                                reason=Refusal.dialplan.value)
            self._count_refusal(Refusal.dialplan, task=task, number=number, agent="")
            return None
        if found is None:
            return None
        await self._end(OutboundCallRow.channel == channel, status.lower()[:24], cause, now)
        return str(found[0])

    def refused(self) -> dict[str, int]:
        """Refusals by reason since the last `load_counts` (for the exporter, which
        cannot wait on the database at scrape time)."""
        return dict(self._refused)

    async def load_counts(self) -> None:
        """Every refusal ever written, by reason (the counter survives restarts)."""
        query = (
            select(OutboundCallRow.reason, func.count())
            .where(OutboundCallRow.status == REFUSED)
            .group_by(OutboundCallRow.reason)
        )
        async with self.engine.connect() as conn:
            found = {str(reason): int(n) for reason, n in await conn.execute(query)}
        self._refused = {reason.value: found.get(reason.value, 0) for reason in Refusal}

    async def dials(self, task: str) -> list[dict[str, object]]:
        """What was asked for a task, oldest first (the API shows it with the task)."""
        query = (
            select(outbound_calls_table)
            .where(OutboundCallRow.task == task)
            .order_by(OutboundCallRow.at, OutboundCallRow.id)
        )
        async with self.engine.connect() as conn:
            return [dict(row) for row in (await conn.execute(query)).mappings()]

    # -- helpers ------------------------------------------------------------------

    def _count_refusal(self, reason: Refusal, *, task: str, number: str, agent: str) -> None:
        self._refused[reason.value] = self._refused.get(reason.value, 0) + 1
        log.warning(
            "security.outbound_refused", reason=reason.value, task=task,
            number=number[:40], agent=agent,
        )

    async def _originates(self, conn: AsyncConnection, *where: object) -> int:
        query = (
            select(func.count())
            .select_from(outbound_calls_table)
            .where(OutboundCallRow.status != REFUSED, *where)  # type: ignore[arg-type]
        )
        return int((await conn.execute(query)).scalar_one())

    async def _end(
        self, where: object, status: str, cause: int | None, at: datetime,
        reason: str | None = None,
    ) -> None:
        values: dict[str, object] = {"status": status, "ended_at": at.astimezone(UTC)}
        if cause is not None:
            values["cause"] = cause
        if reason is not None:
            values["reason"] = reason
        async with self._writing() as conn:
            await conn.execute(
                update(outbound_calls_table).where(where).values(**values)  # type: ignore[arg-type]
            )

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            await conn.execution_options(**{WRITE: True})
            async with conn.begin():
                yield conn
