"""The API tokens' table, in the journal's database (migration
`ivr/journal/migrations/versions/0002_callbacks_tokens.py`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Table
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ivr.journal.tables import AutoId, UtcDateTime


class AuthBase(DeclarativeBase):
    pass


class TokenRow(AuthBase):
    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    token_hash: Mapped[str] = mapped_column(String(64))  # sha256 hex of the whole token
    hint: Mapped[str] = mapped_column(String(12))  # its first characters, to recognise it
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    revoked_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)
    # migration 0004_token_expiry: None never expires
    expires_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), nullable=True)

    __table_args__ = (Index("ix_api_tokens_token_hash", "token_hash", unique=True),)


tokens_table: Table = TokenRow.__table__  # type: ignore[assignment]
