"""Where spot checks are kept (the journal's database)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.domain.spotcheck import Dial, DialResult
from ivr.journal.engine import WRITE
from ivr.spotchecks.tables import SpotCheckRow, spot_checks_table


@dataclass(frozen=True, slots=True)
class SpotCheck:
    id: int
    quarter: str
    checker: str
    kind: str  # "person" (entered) or "probe"
    checked_at: datetime
    dials: tuple[Dial, ...]
    connection_score: int
    listened_score: int | None = None  # the 80 listened points, when a person scored them
    notes: str = ""

    @property
    def total(self) -> int | None:
        if self.listened_score is None:
            return None
        return self.connection_score + self.listened_score


class SpotCheckStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def add(self, check: SpotCheck) -> SpotCheck:
        values = {
            "quarter": check.quarter, "checker": check.checker[:64], "kind": check.kind,
            "checked_at": check.checked_at,
            "dials": [{"at": d.at.isoformat(), "result": d.result.value} for d in check.dials],
            "connection_score": check.connection_score,
            "listened_score": check.listened_score, "notes": check.notes,
        }  # fmt: skip
        async with self.engine.connect() as conn:
            await conn.execution_options(**{WRITE: True})
            async with conn.begin():
                result = await conn.execute(spot_checks_table.insert().values(**values))
                (new_id,) = result.inserted_primary_key or (0,)
        return SpotCheck(
            int(new_id), check.quarter, check.checker, check.kind, check.checked_at,
            check.dials, check.connection_score, check.listened_score, check.notes,
        )  # fmt: skip

    async def of_quarter(self, quarter: str | None = None) -> list[SpotCheck]:
        query = select(spot_checks_table).order_by(SpotCheckRow.checked_at, SpotCheckRow.id)
        if quarter is not None:
            query = query.where(SpotCheckRow.quarter == quarter)
        async with self.engine.connect() as conn:
            return [_check(row) for row in (await conn.execute(query)).mappings()]


def _check(row: Any) -> SpotCheck:
    dials = tuple(
        Dial(datetime.fromisoformat(d["at"]), DialResult(d["result"])) for d in row["dials"]
    )
    return SpotCheck(
        int(row["id"]), row["quarter"], row["checker"], row["kind"], row["checked_at"], dials,
        int(row["connection_score"]), row["listened_score"], row["notes"],
    )  # fmt: skip
