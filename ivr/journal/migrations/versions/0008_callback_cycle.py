"""The callback cycle of work orders: a task's work order, and the satisfaction survey
of each reaching attempt (ivr/callbacks, ivr/domain/callback_cycle.py); the post-call
survey's key on the call (`calls.survey_score`).

Revision ID: 0008_callback_cycle
Revises: 0007_work_orders_outbox
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008_callback_cycle"
down_revision = "0007_work_orders_outbox"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("callback_tasks") as batch:
        batch.add_column(sa.Column("order_id", sa.Integer(), nullable=True))
        batch.create_index("ix_callback_tasks_order_id", ["order_id"])
    with op.batch_alter_table("callback_attempts") as batch:
        batch.add_column(sa.Column("satisfaction", sa.String(24), nullable=True))
        batch.add_column(sa.Column("satisfaction_note", sa.Text(), nullable=True))
    # the post-call survey's key, journaled on the call
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("survey_score", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("survey_score")
    with op.batch_alter_table("callback_attempts") as batch:
        batch.drop_column("satisfaction_note")
        batch.drop_column("satisfaction")
    with op.batch_alter_table("callback_tasks") as batch:
        batch.drop_index("ix_callback_tasks_order_id")
        batch.drop_column("order_id")
