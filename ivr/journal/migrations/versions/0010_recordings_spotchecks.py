"""Call recordings' listen audit log, quality scores of recorded calls, spot checks.

Revision ID: 0010_recordings_spotchecks
Revises: 0009_notices
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010_recordings_spotchecks"
down_revision = "0009_notices"
branch_labels = None
depends_on = None


def _id() -> sa.Column[int]:
    return sa.Column(
        "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
        primary_key=True, autoincrement=True,
    )


def _utc(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "recording_listens",
        _id(),
        sa.Column("linkedid", sa.String(64), nullable=False),
        _utc("at"),
        sa.Column("by", sa.String(64), nullable=False),
        sa.Column("role", sa.String(16), nullable=False),
        sa.Column("byte_range", sa.String(64), nullable=False),
    )
    op.create_index("ix_recording_listens_at", "recording_listens", ["at"])
    op.create_index("ix_recording_listens_linkedid", "recording_listens", ["linkedid"])
    op.create_table(
        "quality_scores",
        _id(),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("agent", sa.String(64), nullable=False),
        _utc("call_at"),
        _utc("scored_at"),
        sa.Column("scored_by", sa.String(64), nullable=False),
        sa.Column("service_phrases", sa.Integer(), nullable=False),
        sa.Column("attitude", sa.Integer(), nullable=False),
        sa.Column("responsibility", sa.Integer(), nullable=False),
        sa.Column("professionalism", sa.Integer(), nullable=False),
        sa.Column("remarks", sa.Text(), nullable=False),
    )
    op.create_index("ix_quality_scores_call_at", "quality_scores", ["call_at"])
    op.create_index("ix_quality_scores_linkedid", "quality_scores", ["linkedid"])
    op.create_table(
        "spot_checks",
        _id(),
        sa.Column("quarter", sa.String(8), nullable=False),
        sa.Column("checker", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        _utc("checked_at"),
        sa.Column("dials", sa.JSON(), nullable=False),
        sa.Column("connection_score", sa.Integer(), nullable=False),
        sa.Column("listened_score", sa.Integer(), nullable=True),
        sa.Column("notes", sa.Text(), nullable=False),
    )
    op.create_index("ix_spot_checks_quarter", "spot_checks", ["quarter"])


def downgrade() -> None:
    op.drop_index("ix_spot_checks_quarter", table_name="spot_checks")
    op.drop_table("spot_checks")
    op.drop_index("ix_quality_scores_linkedid", table_name="quality_scores")
    op.drop_index("ix_quality_scores_call_at", table_name="quality_scores")
    op.drop_table("quality_scores")
    op.drop_index("ix_recording_listens_linkedid", table_name="recording_listens")
    op.drop_index("ix_recording_listens_at", table_name="recording_listens")
    op.drop_table("recording_listens")
