"""The spot checks' table, in the journal's database (migration
`ivr/journal/migrations/versions/0010_recordings_spotchecks.py`): one row per checker's
check (a person entering their result, or a probe), with its dials."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ivr.journal.tables import AutoId, UtcDateTime


class SpotCheckBase(DeclarativeBase):
    pass


class SpotCheckRow(SpotCheckBase):
    __tablename__ = "spot_checks"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    quarter: Mapped[str] = mapped_column(String(8))
    checker: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(8))  # "person" | "probe"
    checked_at: Mapped[datetime] = mapped_column(UtcDateTime())
    dials: Mapped[list[Any]] = mapped_column(JSON())
    connection_score: Mapped[int] = mapped_column(Integer())
    listened_score: Mapped[int | None] = mapped_column(Integer(), nullable=True)
    notes: Mapped[str] = mapped_column(Text())

    __table_args__ = (Index("ix_spot_checks_quarter", "quarter"),)


spot_checks_table: Table = SpotCheckRow.__table__  # type: ignore[assignment]
