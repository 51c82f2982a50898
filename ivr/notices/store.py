"""Where notices are kept (the journal's database), and what the journal says of them:
how many calls heard each, and how many of those still asked for a person."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.domain.events import EventKind
from ivr.domain.notices import Notice
from ivr.journal.engine import WRITE
from ivr.journal.tables import CallRow, EventRow
from ivr.notices.tables import NoticeRow, notices_table


class NoticeNotFound(LookupError):
    pass


@dataclass(frozen=True, slots=True)
class Hearing:
    """Calls that heard a notice to its end, and those of them that asked for a person."""

    heard: int = 0
    asked_for_person: int = 0


class NoticeStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(
        self,
        *,
        text: str | None,
        file: str | None,
        starts_at: datetime,
        ends_at: datetime,
        areas: tuple[str, ...],
        by: str,
        now: datetime,
    ) -> Notice:
        values = {
            "text": text, "file": file, "starts_at": starts_at, "ends_at": ends_at,
            "areas": list(areas), "created_at": now, "created_by": by[:64], "ended_at": None,
        }  # fmt: skip
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(**{WRITE: True})
            async with conn.begin():
                result = await conn.execute(notices_table.insert().values(**values))
                (new_id,) = result.inserted_primary_key or (None,)
                row = (
                    await conn.execute(select(notices_table).where(NoticeRow.id == new_id))
                ).mappings().one()
        return _notice(row)

    async def end(self, notice_id: int, now: datetime) -> Notice:
        """End a notice now (ending it again keeps the first end)."""
        async with self.engine.connect() as conn:
            conn = await conn.execution_options(**{WRITE: True})
            async with conn.begin():
                await conn.execute(
                    update(notices_table)
                    .where(NoticeRow.id == notice_id, NoticeRow.ended_at.is_(None))
                    .values(ended_at=now)
                )
                row = (
                    await conn.execute(select(notices_table).where(NoticeRow.id == notice_id))
                ).mappings().one_or_none()
        if row is None:
            raise NoticeNotFound(f"no notice {notice_id}")
        return _notice(row)

    async def get(self, notice_id: int) -> Notice:
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(select(notices_table).where(NoticeRow.id == notice_id))
            ).mappings().one_or_none()
        if row is None:
            raise NoticeNotFound(f"no notice {notice_id}")
        return _notice(row)

    async def find(self, *, now: datetime, include_expired: bool = False) -> list[Notice]:
        """Notices that may still play (all of them with `include_expired`), oldest first."""
        query = select(notices_table).order_by(NoticeRow.starts_at, NoticeRow.id)
        if not include_expired:
            query = query.where(NoticeRow.ends_at > now, NoticeRow.ended_at.is_(None))
        async with self.engine.connect() as conn:
            return [_notice(row) for row in (await conn.execute(query)).mappings()]

    async def since(self, at: datetime) -> list[Notice]:
        """Notices that played after `at` or will (what /metrics reports on)."""
        query = (
            select(notices_table).where(NoticeRow.ends_at > at).order_by(NoticeRow.id)
        )
        async with self.engine.connect() as conn:
            return [_notice(row) for row in (await conn.execute(query)).mappings()]

    async def hearings(self, since: datetime) -> dict[int, Hearing]:
        """Per notice id: calls that heard it (since `since`), and how many of them then
        asked for a person, from the journal's events and folded call records."""
        query = (
            select(EventRow.linkedid, EventRow.data, CallRow.human_requested_at)
            .join(CallRow, CallRow.linkedid == EventRow.linkedid, isouter=True)
            .where(EventRow.kind == EventKind.notice_heard.value, EventRow.at >= since)
        )
        heard: dict[int, set[str]] = {}
        asked: dict[int, set[str]] = {}
        async with self.engine.connect() as conn:
            for linkedid, data, requested in (await conn.execute(query)).all():
                notice = _notice_id(data)
                if notice is None:
                    continue
                heard.setdefault(notice, set()).add(linkedid)
                if requested is not None:
                    asked.setdefault(notice, set()).add(linkedid)
        counts = Counter({k: len(v) for k, v in heard.items()})
        return {
            k: Hearing(counts[k], len(asked.get(k, ()))) for k in counts
        }


def _notice_id(data: Any) -> int | None:
    try:
        return int(data.get("notice"))
    except (AttributeError, TypeError, ValueError):
        return None


def _notice(row: Any) -> Notice:
    return Notice(
        id=int(row["id"]),
        text=row["text"],
        file=row["file"],
        starts_at=row["starts_at"],
        ends_at=row["ends_at"],
        areas=tuple(str(a) for a in row["areas"] or ()),
        created_by=row["created_by"],
        ended_at=row["ended_at"],
    )
