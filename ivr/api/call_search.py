"""Searching the journal's calls for the API: by arrival time, line, outcome, caller
number and service, newest first, a page at a time (keyset cursor, so a page is as
cheap at the millionth call as at the first). Reads the journal's `calls` table and
the record mapping of `ivr.journal.tables`; writes nothing."""

from __future__ import annotations

import base64
import binascii
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.domain.record import CallRecord, Outcome
from ivr.journal.store import calls_table
from ivr.journal.tables import CallRow, record_from_row


class BadCursor(ValueError):
    def __init__(self) -> None:
        super().__init__("the cursor is not one this API gave out; start again without it")


@dataclass(frozen=True, slots=True)
class CallFilter:
    since: datetime | None = None  # arrival, inclusive (aware)
    until: datetime | None = None  # arrival, exclusive (aware)
    line: str | None = None
    outcome: Outcome | None = None
    caller: str | None = None  # digits: calls whose number contains them
    service: str | None = None
    callback_needed: bool | None = None
    in_progress: bool | None = None
    node: str | None = None  # the Asterisk node (several nodes behind the proxy)


@dataclass(frozen=True, slots=True)
class Page:
    calls: list[CallRecord]
    next_cursor: str | None


class CallSearch:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def page(self, wanted: CallFilter, limit: int, cursor: str | None = None) -> Page:
        query = _query(wanted).limit(limit + 1)
        if cursor:
            at, linkedid = decode_cursor(cursor)
            query = query.where(
                or_(
                    CallRow.arrived_at < at,
                    and_(CallRow.arrived_at == at, CallRow.linkedid < linkedid),
                )
            )
        async with self.engine.connect() as conn:
            records = [record_from_row(row) for row in (await conn.execute(query)).mappings()]
        more = len(records) > limit
        records = records[:limit]
        last = records[-1] if more and records else None
        return Page(records, encode_cursor(last.arrived_at, last.linkedid) if last else None)

    async def each(
        self, wanted: CallFilter, limit: int, batch: int = 1000
    ) -> AsyncIterator[CallRecord]:
        """Up to `limit` calls, newest first, fetched a batch at a time (CSV export)."""
        cursor: str | None = None
        left = limit
        while left > 0:
            page = await self.page(wanted, min(batch, left), cursor)
            for record in page.calls:
                yield record
            left -= len(page.calls)
            if page.next_cursor is None:
                return
            cursor = page.next_cursor


def _query(wanted: CallFilter) -> Select[tuple[object, ...]]:
    query = select(calls_table).order_by(CallRow.arrived_at.desc(), CallRow.linkedid.desc())
    if wanted.since is not None:
        query = query.where(CallRow.arrived_at >= wanted.since)
    if wanted.until is not None:
        query = query.where(CallRow.arrived_at < wanted.until)
    if wanted.line is not None:
        query = query.where(CallRow.line == wanted.line)
    if wanted.outcome is not None:
        query = query.where(CallRow.outcome == wanted.outcome.value)
    if wanted.caller:
        digits = "".join(ch for ch in wanted.caller if ch.isdigit())  # nothing LIKE-special
        query = query.where(CallRow.caller.contains(digits, autoescape=True))
    if wanted.service is not None:
        query = query.where(CallRow.service == wanted.service)
    if wanted.callback_needed is not None:
        query = query.where(CallRow.callback_needed.is_(wanted.callback_needed))
    if wanted.node is not None:
        query = query.where(CallRow.node == wanted.node)
    if wanted.in_progress is not None:
        ongoing = CallRow.outcome.is_(None)
        query = query.where(ongoing if wanted.in_progress else ~ongoing)
    return query


def encode_cursor(at: datetime, linkedid: str) -> str:
    text = f"{at.isoformat()}|{linkedid}"
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        text = base64.urlsafe_b64decode(padded.encode("ascii")).decode()
        stamp, linkedid = text.split("|", 1)
        at = datetime.fromisoformat(stamp)
    except (ValueError, UnicodeError, binascii.Error) as exc:
        raise BadCursor from exc
    if at.tzinfo is None or not linkedid or not 1970 <= at.year <= 2999:
        raise BadCursor
    return at, linkedid
