"""The notices' table, in the journal's database (migration
`ivr/journal/migrations/versions/0009_notices.py`)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ivr.journal.tables import AutoId, UtcDateTime


class NoticesBase(DeclarativeBase):
    pass


class NoticeRow(NoticesBase):
    __tablename__ = "notices"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    text: Mapped[str | None] = mapped_column(Text(), nullable=True)
    file: Mapped[str | None] = mapped_column(Text(), nullable=True)
    starts_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ends_at: Mapped[datetime] = mapped_column(UtcDateTime())
    areas: Mapped[list[Any]] = mapped_column(JSON())
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    __table_args__ = (Index("ix_notices_ends_at", "ends_at"),)


notices_table: Table = NoticeRow.__table__  # type: ignore[assignment]
