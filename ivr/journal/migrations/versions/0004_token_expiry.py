"""API tokens may expire (`hotline token create --expires 90d`, `hotline token rotate`).

Revision ID: 0004_token_expiry
Revises: 0003_calls_in_progress
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_token_expiry"
down_revision = "0003_calls_in_progress"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("expires_at")
