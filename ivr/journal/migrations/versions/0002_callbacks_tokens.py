"""API tokens, callback tasks and attempts, handled voicemails (ivr/auth, ivr/callbacks).

Revision ID: 0002_callbacks_tokens
Revises: 0001
Create Date: 2026-11-23
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002_callbacks_tokens"
down_revision = "0001"
branch_labels = None
depends_on = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _auto_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "api_tokens",
        sa.Column("id", _auto_id(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("hint", sa.String(12), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("revoked_at", _utc(), nullable=True),
    )
    op.create_index("ix_api_tokens_token_hash", "api_tokens", ["token_hash"], unique=True)

    op.create_table(
        "callback_tasks",
        sa.Column("linkedid", sa.String(64), primary_key=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("arrived_at", _utc(), nullable=False),
        sa.Column("line", sa.String(64), nullable=False),
        sa.Column("caller", sa.String(32), nullable=False),
        sa.Column("service", sa.String(64), nullable=True),
        sa.Column("reason", sa.String(24), nullable=False),
        sa.Column("priority", sa.Integer(), nullable=False),
        sa.Column("due_at", _utc(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("closed_at", _utc(), nullable=True),
        sa.Column("close_note", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_callback_tasks_status_priority",
        "callback_tasks",
        ["status", "priority", "arrived_at"],
    )
    op.create_index("ix_callback_tasks_closed_at", "callback_tasks", ["closed_at"])

    op.create_table(
        "callback_attempts",
        sa.Column("id", _auto_id(), primary_key=True, autoincrement=True),
        sa.Column(
            "linkedid",
            sa.String(64),
            sa.ForeignKey("callback_tasks.linkedid", name="fk_callback_attempts_task"),
            nullable=False,
        ),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("result", sa.String(32), nullable=False),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_index("ix_callback_attempts_linkedid", "callback_attempts", ["linkedid"])
    op.create_index("ix_callback_attempts_at", "callback_attempts", ["at"])

    op.create_table(
        "voicemail_handled",
        sa.Column("linkedid", sa.String(64), primary_key=True),
        sa.Column("handled_at", _utc(), nullable=False),
        sa.Column("handled_by", sa.String(64), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("voicemail_handled")
    op.drop_index("ix_callback_attempts_at", table_name="callback_attempts")
    op.drop_index("ix_callback_attempts_linkedid", table_name="callback_attempts")
    op.drop_table("callback_attempts")
    op.drop_index("ix_callback_tasks_closed_at", table_name="callback_tasks")
    op.drop_index("ix_callback_tasks_status_priority", table_name="callback_tasks")
    op.drop_table("callback_tasks")
    op.drop_index("ix_api_tokens_token_hash", table_name="api_tokens")
    op.drop_table("api_tokens")
