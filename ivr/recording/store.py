"""The listen audit log and the quality scores (the journal's database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.domain.quality import ScoredCall, Scores
from ivr.journal.engine import WRITE
from ivr.recording.tables import ListenRow, ScoreRow, listens_table, scores_table


@dataclass(frozen=True, slots=True)
class Listen:
    linkedid: str
    at: datetime
    by: str
    role: str
    byte_range: str


@dataclass(frozen=True, slots=True)
class StoredScore:
    id: int
    call: ScoredCall
    scored_at: datetime
    scored_by: str
    remarks: str


class RecordingStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add_listen(self, listen: Listen) -> None:
        async with self.engine.connect() as conn:
            await conn.execution_options(**{WRITE: True})
            async with conn.begin():
                await conn.execute(listens_table.insert().values(
                    linkedid=listen.linkedid, at=listen.at, by=listen.by[:64],
                    role=listen.role, byte_range=listen.byte_range[:64],
                ))  # fmt: skip

    async def listens(self, *, linkedid: str | None = None, limit: int = 100) -> list[Listen]:
        query = select(listens_table).order_by(ListenRow.at.desc(), ListenRow.id.desc())
        if linkedid is not None:
            query = query.where(ListenRow.linkedid == linkedid)
        async with self.engine.connect() as conn:
            rows = (await conn.execute(query.limit(limit))).mappings()
            return [
                Listen(r["linkedid"], r["at"], r["by"], r["role"], r["byte_range"]) for r in rows
            ]

    async def add_score(
        self, call: ScoredCall, *, by: str, at: datetime, remarks: str
    ) -> StoredScore:
        s = call.scores
        async with self.engine.connect() as conn:
            await conn.execution_options(**{WRITE: True})
            async with conn.begin():
                result = await conn.execute(scores_table.insert().values(
                    linkedid=call.linkedid, agent=call.agent, call_at=call.call_at,
                    scored_at=at, scored_by=by[:64], service_phrases=s.service_phrases,
                    attitude=s.attitude, responsibility=s.responsibility,
                    professionalism=s.professionalism, remarks=remarks,
                ))  # fmt: skip
                (new_id,) = result.inserted_primary_key or (0,)
        return StoredScore(int(new_id), call, at, by, remarks)

    async def scores(
        self, *, since: datetime | None = None, until: datetime | None = None,
        linkedid: str | None = None,
    ) -> list[StoredScore]:
        """Scores by the call's time, oldest first."""
        query = select(scores_table).order_by(ScoreRow.call_at, ScoreRow.id)
        if since is not None:
            query = query.where(ScoreRow.call_at >= since)
        if until is not None:
            query = query.where(ScoreRow.call_at < until)
        if linkedid is not None:
            query = query.where(ScoreRow.linkedid == linkedid)
        async with self.engine.connect() as conn:
            return [_score(r) for r in (await conn.execute(query)).mappings()]


def _score(row: Any) -> StoredScore:
    scores = Scores(
        row["service_phrases"], row["attitude"], row["responsibility"], row["professionalism"]
    )
    return StoredScore(
        int(row["id"]),
        ScoredCall(row["linkedid"], row["agent"], row["call_at"], scores),
        row["scored_at"],
        row["scored_by"],
        row["remarks"],
    )
