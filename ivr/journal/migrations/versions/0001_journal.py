"""The journal: events, calls, 15-minute rollups of calls and of ring attempts.

Revision ID: 0001
Revises:
Create Date: 2026-05-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# The rollup's counters as they were at this revision (ivr.domain.tally.Tally).
COUNTERS = (
    "offered", "in_progress", "ivr_answered", "human_requested", "oncall_requested",
    "answered_by_person", "answered_within_three_rings", "unanswered",
    "outcome_answered_by_agent", "outcome_answered_by_oncall", "outcome_voicemail",
    "outcome_ivr_completed", "outcome_abandoned", "outcome_busy", "outcome_failed", "rings_1",
    "rings_2", "rings_3", "rings_4", "rings_5", "rings_6_plus", "answer_le_1", "answer_le_2",
    "answer_le_3", "answer_le_5", "answer_le_10", "answer_le_15", "answer_le_20",
    "answer_le_30", "answer_le_45", "answer_le_60", "answer_le_90", "answer_le_120",
    "answer_le_180", "answer_le_300", "answer_le_inf", "answer_ms_sum", "abandoned_ivr",
    "abandoned_menu", "abandoned_queue", "abandoned_oncall", "abandoned_voicemail_prompt",
    "abandon_ms_ivr", "abandon_ms_menu", "abandon_ms_queue", "abandon_ms_oncall",
    "abandon_ms_voicemail_prompt", "voicemail_ms_sum", "voicemail_urgent", "oncall_answered",
    "oncall_failed", "oncall_abandoned", "callbacks_needed", "controller_absent",
)


def _utc() -> sa.DateTime:
    return sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "journal_events",
        sa.Column(
            "id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True,
            autoincrement=True,
        ),
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("linkedid", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("at", _utc(), nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.UniqueConstraint("key", name="uq_journal_events_key"),
    )
    op.create_index("ix_journal_events_linkedid", "journal_events", ["linkedid"])

    op.create_table(
        "calls",
        sa.Column("linkedid", sa.String(64), primary_key=True),
        sa.Column("line", sa.String(64), nullable=False),
        sa.Column("mode", sa.String(8), nullable=False),
        sa.Column("caller", sa.String(32), nullable=False),
        sa.Column("arrived_at", _utc(), nullable=False),
        sa.Column("ivr_answered_at", _utc(), nullable=True),
        sa.Column("controller_absent", sa.Boolean(), nullable=False),
        sa.Column("off_hours", sa.Boolean(), nullable=False),
        sa.Column("menu_choices", sa.JSON(), nullable=False),
        sa.Column("service", sa.String(64), nullable=True),
        sa.Column("human_requested_at", _utc(), nullable=True),
        sa.Column("human_target", sa.String(8), nullable=True),
        sa.Column("attempts", sa.JSON(), nullable=False),
        sa.Column("answered_by", sa.String(64), nullable=True),
        sa.Column("answered_at", _utc(), nullable=True),
        sa.Column("wait_seconds", sa.Float(), nullable=True),
        sa.Column("rings", sa.Integer(), nullable=True),
        sa.Column("within_three_rings", sa.Boolean(), nullable=True),
        sa.Column("abandon_place", sa.String(24), nullable=True),
        sa.Column("abandon_wait_seconds", sa.Float(), nullable=True),
        sa.Column("voicemail_file", sa.Text(), nullable=True),
        sa.Column("voicemail_seconds", sa.Float(), nullable=True),
        sa.Column("voicemail_urgent", sa.Boolean(), nullable=False),
        sa.Column("oncall_result", sa.String(16), nullable=True),
        sa.Column("ended_at", _utc(), nullable=True),
        sa.Column("end_cause", sa.String(16), nullable=True),
        sa.Column("outcome", sa.String(24), nullable=True),
        sa.Column("callback_needed", sa.Boolean(), nullable=False),
        sa.Column("event_count", sa.Integer(), nullable=False),
    )
    op.create_index("ix_calls_arrived_at", "calls", ["arrived_at"])
    op.create_index("ix_calls_line_arrived_at", "calls", ["line", "arrived_at"])

    op.create_table(
        "call_stats_15min",
        sa.Column("bucket_start", _utc(), primary_key=True),
        sa.Column("line", sa.String(64), primary_key=True),
        sa.Column("mode", sa.String(8), primary_key=True),
        *(
            sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")
            for name in COUNTERS
        ),
    )

    op.create_table(
        "ring_stats_15min",
        sa.Column("bucket_start", _utc(), primary_key=True),
        sa.Column("line", sa.String(64), primary_key=True),
        sa.Column("who", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(8), primary_key=True),
        sa.Column("result", sa.String(16), primary_key=True),
        sa.Column("attempts", sa.BigInteger(), nullable=False, server_default="0"),
        sa.Column("ring_ms_sum", sa.BigInteger(), nullable=False, server_default="0"),
    )


def downgrade() -> None:
    op.drop_table("ring_stats_15min")
    op.drop_table("call_stats_15min")
    op.drop_index("ix_calls_line_arrived_at", table_name="calls")
    op.drop_index("ix_calls_arrived_at", table_name="calls")
    op.drop_table("calls")
    op.drop_index("ix_journal_events_linkedid", table_name="journal_events")
    op.drop_table("journal_events")
