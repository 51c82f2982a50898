"""An index of the calls still in progress (the live view, the sweep for lost ends).

Revision ID: 0003_calls_in_progress
Revises: 0002_callbacks_tokens
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003_calls_in_progress"
down_revision = "0002_callbacks_tokens"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_calls_in_progress",
        "calls",
        ["arrived_at"],
        sqlite_where=sa.text("outcome IS NULL"),
        postgresql_where=sa.text("outcome IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("ix_calls_in_progress", table_name="calls")
