"""The SPEC §3 measures as corrected against the seeds: the answering phone's ring time,
queue time, service level, handling time, ring attempts judged, empty voicemails;
refused INVITEs counted apart; the version of the counting rules the records follow.

The stored records are folded again from their events when the service next opens the
journal (`Store.migrate`, by `journal_meta.fold_version`), so history follows the new
definitions; this revision only shapes the tables.

Revision ID: 0004_spec_measures
Revises: 0003_calls_in_progress
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004_spec_measures"
down_revision = "0003_calls_in_progress"
branch_labels = None
depends_on = None

CALL_COLUMNS = (
    ("ring_seconds", sa.Float()),
    ("queue_entered_at", sa.DateTime(timezone=True)),
    ("queue_seconds", sa.Float()),
    ("within_service_level", sa.Boolean()),
    ("talk_seconds", sa.Float()),
    ("handling_seconds", sa.Float()),
    ("voicemail_spoken", sa.Boolean()),
)
COUNTERS = (
    "queued", "answered_in_service_level", "queue_ms_sum", "ring_attempts",
    "ring_attempts_within_three_rings", "handled", "talk_ms_sum", "handling_ms_sum",
    "rings_sum", "voicemail_empty",
)


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        for name, kind in CALL_COLUMNS:
            batch.add_column(sa.Column(name, kind, nullable=True))
    with op.batch_alter_table("call_stats_15min") as batch:
        for name in COUNTERS:
            batch.add_column(
                sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")
            )
    op.create_table(
        "refused_15min",
        sa.Column("bucket_start", sa.DateTime(timezone=True), primary_key=True),
        sa.Column("reason", sa.String(32), primary_key=True),
        sa.Column("refused", sa.BigInteger(), nullable=False, server_default="0"),
    )
    op.create_table(
        "journal_meta",
        sa.Column("key", sa.String(40), primary_key=True),
        sa.Column("value", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    op.drop_table("journal_meta")
    op.drop_table("refused_15min")
    with op.batch_alter_table("call_stats_15min") as batch:
        for name in COUNTERS:
            batch.drop_column(name)
    with op.batch_alter_table("calls") as batch:
        for name, _ in CALL_COLUMNS:
            batch.drop_column(name)
