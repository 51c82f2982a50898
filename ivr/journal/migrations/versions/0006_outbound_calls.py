"""Every number the hotline was asked to dial (ivr/callbacks/outbound.py): the toll-fraud
guard's refusals and originates, and each dial's result.

Revision ID: 0006_outbound_calls
Revises: 0005_spec_measures
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006_outbound_calls"
down_revision = "0005_spec_measures"
branch_labels = None
depends_on = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "outbound_calls",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            primary_key=True, autoincrement=True,
        ),
        sa.Column("task", sa.String(64), nullable=False),
        sa.Column("number", sa.String(40), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("status", sa.String(24), nullable=False),
        sa.Column("reason", sa.String(24), nullable=True),
        sa.Column("channel", sa.String(64), nullable=True),
        sa.Column("ended_at", _utc(), nullable=True),
        sa.Column("cause", sa.Integer(), nullable=True),
    )
    op.create_index("ix_outbound_calls_task", "outbound_calls", ["task"])
    op.create_index("ix_outbound_calls_at", "outbound_calls", ["at"])
    op.create_index("ix_outbound_calls_channel", "outbound_calls", ["channel"])


def downgrade() -> None:
    op.drop_table("outbound_calls")
