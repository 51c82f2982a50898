"""Work orders (ivr/orders) and the transactional outbox of their hand-offs.

Revision ID: 0007_work_orders_outbox
Revises: 0006_outbound_calls
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007_work_orders_outbox"
down_revision = "0006_outbound_calls"
branch_labels = None
depends_on = None


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def _auto_id() -> sa.types.TypeEngine[int]:
    return sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "work_orders",
        sa.Column("id", _auto_id(), primary_key=True, autoincrement=True),
        sa.Column("linkedid", sa.String(64), nullable=True),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("updated_at", _utc(), nullable=False),
        sa.Column("caller", sa.String(32), nullable=False),
        sa.Column("service", sa.String(32), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("taken_by", sa.String(64), nullable=False),
        sa.Column("address", sa.Text(), nullable=False),
        sa.Column("problem", sa.Text(), nullable=False),
        sa.Column("urgency", sa.String(16), nullable=False),
        sa.Column("paid", sa.Boolean(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("dispatched_at", _utc(), nullable=True),
        sa.Column("done_at", _utc(), nullable=True),
        sa.Column("closed_at", _utc(), nullable=True),
        sa.Column("note", sa.Text(), nullable=False),
    )
    op.create_index("ix_work_orders_linkedid", "work_orders", ["linkedid"], unique=True)
    op.create_index("ix_work_orders_status", "work_orders", ["status", "service"])
    op.create_index("ix_work_orders_closed_at", "work_orders", ["closed_at"])
    op.create_index("ix_work_orders_caller", "work_orders", ["caller"])
    op.create_table(
        "outbox_messages",
        sa.Column("id", _auto_id(), primary_key=True, autoincrement=True),
        sa.Column("order_id", sa.Integer(), nullable=False),
        sa.Column("event", sa.String(32), nullable=False),
        sa.Column("receiver", sa.String(16), nullable=False),
        sa.Column("target", sa.String(300), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_at", _utc(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_at", _utc(), nullable=False),
        sa.Column("delivered_at", _utc(), nullable=True),
        sa.Column("dead_at", _utc(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=False),
    )
    op.create_index(
        "ix_outbox_messages_pending", "outbox_messages", ["delivered_at", "dead_at", "next_at"]
    )
    op.create_index("ix_outbox_messages_order", "outbox_messages", ["order_id"])


def downgrade() -> None:
    op.drop_table("outbox_messages")
    op.drop_table("work_orders")
