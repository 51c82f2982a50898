"""All-time totals beside the 15-minute rollups (`call_stats_total`, `ring_stats_total`,
`refused_total`), filled here from the rollups, and rollups by local day and hour
(`call_stats_day`) and by local month, weekday and hour (`call_stats_month`,
`ring_stats_month`). From now on the store keeps
them in the same transaction as the records, so `/metrics`' counters and a month's report
read a few rows, never history.

The daily and monthly rollups depend on the hotline's time zone, which this revision cannot know:
the store's fold signature now names the zone, so the first `Store.migrate` after this
revision folds the stored calls again and fills them (as after any rules change).

Revision ID: 0011_rollup_totals
Revises: 0005_spec_measures
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011_rollup_totals"
down_revision = "0010_recordings_spotchecks"
branch_labels = None
depends_on = None


def _counter(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False, server_default="0")


def _counters(table: str, keys: tuple[str, ...]) -> list[str]:
    """The counter columns of a rollup as this database has them (every later
    revision that adds a counter adds it to both tables)."""
    columns = sa.inspect(op.get_bind()).get_columns(table)
    return [column["name"] for column in columns if column["name"] not in keys]


def _fill(total: str, rollup: str, keys: tuple[str, ...], counters: list[str]) -> None:
    names = ", ".join((*keys, *counters))
    sums = ", ".join((*keys, *(f"COALESCE(SUM({name}), 0)" for name in counters)))
    op.execute(
        f"INSERT INTO {total} ({names}) SELECT {sums} FROM {rollup} GROUP BY {', '.join(keys)}"
    )


def upgrade() -> None:
    counters = _counters("call_stats_15min", ("bucket_start", "line", "mode"))
    op.create_table(
        "call_stats_total",
        sa.Column("line", sa.String(64), primary_key=True),
        sa.Column("mode", sa.String(8), primary_key=True),
        *(_counter(name) for name in counters),
    )
    op.create_table(
        "ring_stats_total",
        sa.Column("line", sa.String(64), primary_key=True),
        sa.Column("who", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(8), primary_key=True),
        sa.Column("result", sa.String(16), primary_key=True),
        _counter("attempts"),
        _counter("ring_ms_sum"),
    )
    op.create_table(
        "call_stats_day",
        sa.Column("day", sa.String(10), primary_key=True),
        sa.Column("line", sa.String(64), primary_key=True),
        sa.Column("mode", sa.String(8), primary_key=True),
        sa.Column("hour", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("weekday", sa.Integer(), nullable=False),
        *(_counter(name) for name in counters),
    )
    op.create_table(
        "call_stats_month",
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("line", sa.String(64), primary_key=True),
        sa.Column("mode", sa.String(8), primary_key=True),
        sa.Column("weekday", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("hour", sa.Integer(), primary_key=True, autoincrement=False),
        *(_counter(name) for name in counters),
    )
    op.create_table(
        "ring_stats_month",
        sa.Column("month", sa.String(7), primary_key=True),
        sa.Column("line", sa.String(64), primary_key=True),
        sa.Column("who", sa.String(64), primary_key=True),
        sa.Column("role", sa.String(8), primary_key=True),
        sa.Column("result", sa.String(16), primary_key=True),
        _counter("attempts"),
        _counter("ring_ms_sum"),
    )
    op.create_table(
        "refused_total",
        sa.Column("reason", sa.String(32), primary_key=True),
        _counter("refused"),
    )
    _fill("call_stats_total", "call_stats_15min", ("line", "mode"), counters)
    _fill("ring_stats_total", "ring_stats_15min", ("line", "who", "role", "result"),
          ["attempts", "ring_ms_sum"])
    _fill("refused_total", "refused_15min", ("reason",), ["refused"])


def downgrade() -> None:
    op.drop_table("refused_total")
    op.drop_table("ring_stats_total")
    op.drop_table("call_stats_total")
    op.drop_table("ring_stats_month")
    op.drop_table("call_stats_month")
    op.drop_table("call_stats_day")
