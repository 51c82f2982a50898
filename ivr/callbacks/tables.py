"""The callbacks' tables, in the journal's database (migration
`ivr/journal/migrations/versions/0002_callbacks_tokens.py`).

- `callback_tasks`: one row per call that needs a callback (key: its `linkedid`).
- `callback_attempts`: every attempt, with its time and result.
- `voicemail_handled`: voicemails someone has dealt with (listened to, passed on).
- `outbound_calls` (migration 0006): every number the hotline was asked to dial, refused
  or originated, with its result: the toll-fraud guard counts originates from here.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Table, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ivr.journal.tables import AutoId, UtcDateTime


class CallbacksBase(DeclarativeBase):
    pass


class TaskRow(CallbacksBase):
    __tablename__ = "callback_tasks"

    linkedid: Mapped[str] = mapped_column(String(64), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    arrived_at: Mapped[datetime] = mapped_column(UtcDateTime())
    line: Mapped[str] = mapped_column(String(64))
    caller: Mapped[str] = mapped_column(String(32))
    service: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reason: Mapped[str] = mapped_column(String(24))
    priority: Mapped[int] = mapped_column(Integer())
    due_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16))
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    close_note: Mapped[str] = mapped_column(Text())
    order_id: Mapped[int | None] = mapped_column(Integer(), nullable=True)  # migration 0008

    __table_args__ = (
        Index("ix_callback_tasks_status_priority", "status", "priority", "arrived_at"),
        Index("ix_callback_tasks_closed_at", "closed_at"),
        Index("ix_callback_tasks_order_id", "order_id"),
    )


class AttemptRow(CallbacksBase):
    __tablename__ = "callback_attempts"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    linkedid: Mapped[str] = mapped_column(
        String(64), ForeignKey("callback_tasks.linkedid", name="fk_callback_attempts_task")
    )
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    result: Mapped[str] = mapped_column(String(32))
    by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(Text())
    # the satisfaction survey of a reaching attempt (migration 0008)
    satisfaction: Mapped[str | None] = mapped_column(String(24), nullable=True)
    satisfaction_note: Mapped[str | None] = mapped_column(Text(), nullable=True)

    __table_args__ = (
        Index("ix_callback_attempts_linkedid", "linkedid"),
        Index("ix_callback_attempts_at", "at"),
    )


class VoicemailHandledRow(CallbacksBase):
    __tablename__ = "voicemail_handled"

    linkedid: Mapped[str] = mapped_column(String(64), primary_key=True)
    handled_at: Mapped[datetime] = mapped_column(UtcDateTime())
    handled_by: Mapped[str] = mapped_column(String(64))


tasks_table: Table = TaskRow.__table__  # type: ignore[assignment]
attempts_table: Table = AttemptRow.__table__  # type: ignore[assignment]
voicemail_handled_table: Table = VoicemailHandledRow.__table__  # type: ignore[assignment]


class OutboundCallRow(CallbacksBase):
    __tablename__ = "outbound_calls"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    task: Mapped[str] = mapped_column(String(64))  # the callback task's linkedid
    number: Mapped[str] = mapped_column(String(40))
    agent: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    # refused, originated, then the dial's result: answered, busy, no_answer, ...
    status: Mapped[str] = mapped_column(String(24))
    reason: Mapped[str | None] = mapped_column(String(24), nullable=True)  # a refusal's
    channel: Mapped[str | None] = mapped_column(String(64), nullable=True)
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    cause: Mapped[int | None] = mapped_column(Integer(), nullable=True)

    __table_args__ = (
        Index("ix_outbound_calls_task", "task"),
        Index("ix_outbound_calls_at", "at"),
        Index("ix_outbound_calls_channel", "channel"),
    )


outbound_calls_table: Table = OutboundCallRow.__table__  # type: ignore[assignment]
