"""The recordings' tables, in the journal's database (migration
`ivr/journal/migrations/versions/0010_recordings_spotchecks.py`).

- `recording_listens`: the audit log, one row each time someone fetched a recording.
- `quality_scores`: a supervisor's score of a recorded call on the seed's form.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, Integer, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ivr.journal.tables import AutoId, UtcDateTime


class RecordingBase(DeclarativeBase):
    pass


class ListenRow(RecordingBase):
    __tablename__ = "recording_listens"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    linkedid: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    by: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    byte_range: Mapped[str] = mapped_column(String(64))

    __table_args__ = (
        Index("ix_recording_listens_at", "at"),
        Index("ix_recording_listens_linkedid", "linkedid"),
    )


class ScoreRow(RecordingBase):
    __tablename__ = "quality_scores"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    linkedid: Mapped[str] = mapped_column(String(64))
    agent: Mapped[str] = mapped_column(String(64))
    call_at: Mapped[datetime] = mapped_column(UtcDateTime())
    scored_at: Mapped[datetime] = mapped_column(UtcDateTime())
    scored_by: Mapped[str] = mapped_column(String(64))
    service_phrases: Mapped[int] = mapped_column(Integer())
    attitude: Mapped[int] = mapped_column(Integer())
    responsibility: Mapped[int] = mapped_column(Integer())
    professionalism: Mapped[int] = mapped_column(Integer())
    remarks: Mapped[str] = mapped_column(Text())

    __table_args__ = (
        Index("ix_quality_scores_call_at", "call_at"),
        Index("ix_quality_scores_linkedid", "linkedid"),
    )


listens_table: Table = ListenRow.__table__  # type: ignore[assignment]
scores_table: Table = ScoreRow.__table__  # type: ignore[assignment]
