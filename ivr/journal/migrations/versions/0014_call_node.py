"""The Asterisk node each call was on (two nodes behind the SIP proxy, one journal).

Filled from the call's linkedid (each node's `systemname` prefixes it) whenever the call
is folded; NULL for calls of a one-node hotline. Indexed with the arrival time, so a
report or a search split by node reads only that node's calls.

Revision ID: 0014_call_node
Revises: 0005_spec_measures
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_call_node"
down_revision = "0011_rollup_totals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("node", sa.String(32), nullable=True))
    op.create_index("ix_calls_node_arrived_at", "calls", ["node", "arrived_at"])


def downgrade() -> None:
    op.drop_index("ix_calls_node_arrived_at", table_name="calls")
    with op.batch_alter_table("calls") as batch:
        batch.drop_column("node")
