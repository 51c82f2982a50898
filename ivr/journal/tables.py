"""The journal's tables (SQLAlchemy 2 models) and the call record <-> row mapping.

- `journal_events`: every event once (unique `key`: ingestion is idempotent).
- `calls`: one row per call (`linkedid`), the folded record; indexed by arrival.
- `call_stats_15min`: the rollup, one row per 15-minute bucket of arrival (UTC), line
  and line mode, with the counters of `ivr.domain.tally.Tally`.
- `ring_stats_15min`: ring attempts (agents and on-call staff) by bucket, line, person
  and result: how many, and how long they rang.
- `refused_15min`: INVITEs for no hotline line, by bucket and reason (never calls).
- `call_stats_day`: the same counters by local day and hour (in the store's time zone):
  a day, a week or the last four weeks read whole days' hours, not quarter hours.
- `call_stats_month`, `ring_stats_month`: the same counters by local month (in the
  store's time zone) and, for calls, local weekday and hour: a month's report reads a
  few hundred rows, however many calls the month had.
- `call_stats_total`, `ring_stats_total`, `refused_total`: the same counters for all
  time (no bucket), kept in the same transaction: what `/metrics`' `_total` counters
  read, so a scrape never sums history.
- `journal_meta`: which version of the counting rules the stored records were folded by.

The schema is created by the Alembic migrations in `ivr/journal/migrations/`; a test
checks that they and these models agree.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    Float,
    Index,
    Integer,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from ivr.domain.record import (
    AbandonPlace,
    CallRecord,
    MenuChoice,
    OncallResult,
    Outcome,
    RingAttempt,
)
from ivr.domain.tally import Tally
from ivr.domain.vocabulary import LineMode


class UtcDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (naive text) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"{value.isoformat()} has no time zone; the journal stores UTC")
        utc = value.astimezone(UTC)
        # SQLite keeps text: one offset-free format keeps comparisons and sorting right
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# SQLite only auto-increments an INTEGER PRIMARY KEY
AutoId = BigInteger().with_variant(Integer(), "sqlite")


class Base(DeclarativeBase):
    pass


class EventRow(Base):
    __tablename__ = "journal_events"

    id: Mapped[int] = mapped_column(AutoId, primary_key=True, autoincrement=True)
    key: Mapped[str] = mapped_column(String(64))
    linkedid: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(40))
    at: Mapped[datetime] = mapped_column(UtcDateTime())
    source: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]] = mapped_column(JSON())

    __table_args__ = (
        UniqueConstraint("key", name="uq_journal_events_key"),
        Index("ix_journal_events_linkedid", "linkedid"),
    )


class CallRow(Base):
    __tablename__ = "calls"

    linkedid: Mapped[str] = mapped_column(String(64), primary_key=True)
    line: Mapped[str] = mapped_column(String(64))
    mode: Mapped[str] = mapped_column(String(8))
    caller: Mapped[str] = mapped_column(String(32))
    arrived_at: Mapped[datetime] = mapped_column(UtcDateTime())
    ivr_answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    controller_absent: Mapped[bool] = mapped_column(Boolean())
    off_hours: Mapped[bool] = mapped_column(Boolean())
    menu_choices: Mapped[list[Any]] = mapped_column(JSON())
    service: Mapped[str | None] = mapped_column(String(64))
    human_requested_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    human_target: Mapped[str | None] = mapped_column(String(8))
    attempts: Mapped[list[Any]] = mapped_column(JSON())
    answered_by: Mapped[str | None] = mapped_column(String(64))
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    wait_seconds: Mapped[float | None] = mapped_column(Float())
    ring_seconds: Mapped[float | None] = mapped_column(Float())
    rings: Mapped[int | None] = mapped_column(Integer())
    within_three_rings: Mapped[bool | None] = mapped_column(Boolean())
    queue_entered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    queue_seconds: Mapped[float | None] = mapped_column(Float())
    within_service_level: Mapped[bool | None] = mapped_column(Boolean())
    talk_seconds: Mapped[float | None] = mapped_column(Float())
    handling_seconds: Mapped[float | None] = mapped_column(Float())
    abandon_place: Mapped[str | None] = mapped_column(String(24))
    abandon_wait_seconds: Mapped[float | None] = mapped_column(Float())
    voicemail_file: Mapped[str | None] = mapped_column(Text())
    voicemail_seconds: Mapped[float | None] = mapped_column(Float())
    voicemail_urgent: Mapped[bool] = mapped_column(Boolean())
    voicemail_spoken: Mapped[bool | None] = mapped_column(Boolean())
    survey_score: Mapped[int | None] = mapped_column(Integer())  # migration 0008
    oncall_result: Mapped[str | None] = mapped_column(String(16))
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    end_cause: Mapped[str | None] = mapped_column(String(16))
    outcome: Mapped[str | None] = mapped_column(String(24))
    callback_needed: Mapped[bool] = mapped_column(Boolean())
    event_count: Mapped[int] = mapped_column(Integer())
    # the Asterisk node that had the call (from its linkedid); NULL with one node
    node: Mapped[str | None] = mapped_column(String(32))

    __table_args__ = (
        Index("ix_calls_arrived_at", "arrived_at"),
        Index("ix_calls_node_arrived_at", "node", "arrived_at"),
        Index("ix_calls_line_arrived_at", "line", "arrived_at"),
        # the few calls in progress, for the live view and the sweep for lost ends
        Index(
            "ix_calls_in_progress",
            "arrived_at",
            sqlite_where=text("outcome IS NULL"),
            postgresql_where=text("outcome IS NULL"),
        ),
    )


def _counter(name: str) -> Column[int]:
    return Column(name, BigInteger(), nullable=False, server_default="0")


stats_table = Table(
    "call_stats_15min",
    Base.metadata,
    Column("bucket_start", UtcDateTime(), primary_key=True),
    Column("line", String(64), primary_key=True),
    Column("mode", String(8), primary_key=True),
    *(_counter(name) for name in Tally.names()),
)
STAT_KEYS = ("bucket_start", "line", "mode")

# agent ring time (SPEC §3): every attempt, ring-no-answer included, by who and result
ring_stats_table = Table(
    "ring_stats_15min",
    Base.metadata,
    Column("bucket_start", UtcDateTime(), primary_key=True),
    Column("line", String(64), primary_key=True),
    Column("who", String(64), primary_key=True),
    Column("role", String(8), primary_key=True),
    Column("result", String(16), primary_key=True),
    _counter("attempts"),
    _counter("ring_ms_sum"),
)
RING_KEYS = ("bucket_start", "line", "who", "role", "result")

refused_table = Table(
    "refused_15min",
    Base.metadata,
    Column("bucket_start", UtcDateTime(), primary_key=True),
    Column("reason", String(32), primary_key=True),
    _counter("refused"),
)
REFUSED_KEYS = ("bucket_start", "reason")

# by local day and hour of arrival (the store's zone), with the day's weekday (Monday = 0)
day_stats_table = Table(
    "call_stats_day",
    Base.metadata,
    Column("day", String(10), primary_key=True),
    Column("line", String(64), primary_key=True),
    Column("mode", String(8), primary_key=True),
    Column("hour", Integer(), primary_key=True, autoincrement=False),
    Column("weekday", Integer(), nullable=False),
    *(_counter(name) for name in Tally.names()),
)
DAY_KEYS = ("day", "line", "mode", "hour")

# by local month (the store's zone), weekday (Monday = 0) and hour of arrival
month_stats_table = Table(
    "call_stats_month",
    Base.metadata,
    Column("month", String(7), primary_key=True),
    Column("line", String(64), primary_key=True),
    Column("mode", String(8), primary_key=True),
    Column("weekday", Integer(), primary_key=True, autoincrement=False),
    Column("hour", Integer(), primary_key=True, autoincrement=False),
    *(_counter(name) for name in Tally.names()),
)
MONTH_KEYS = ("month", "line", "mode", "weekday", "hour")

ring_month_table = Table(
    "ring_stats_month",
    Base.metadata,
    Column("month", String(7), primary_key=True),
    Column("line", String(64), primary_key=True),
    Column("who", String(64), primary_key=True),
    Column("role", String(8), primary_key=True),
    Column("result", String(16), primary_key=True),
    _counter("attempts"),
    _counter("ring_ms_sum"),
)
RING_MONTH_KEYS = ("month", "line", "who", "role", "result")

# all-time totals: the rollups above without their bucket
call_totals_table = Table(
    "call_stats_total",
    Base.metadata,
    Column("line", String(64), primary_key=True),
    Column("mode", String(8), primary_key=True),
    *(_counter(name) for name in Tally.names()),
)
TOTAL_KEYS = ("line", "mode")

ring_totals_table = Table(
    "ring_stats_total",
    Base.metadata,
    Column("line", String(64), primary_key=True),
    Column("who", String(64), primary_key=True),
    Column("role", String(8), primary_key=True),
    Column("result", String(16), primary_key=True),
    _counter("attempts"),
    _counter("ring_ms_sum"),
)
RING_TOTAL_KEYS = ("line", "who", "role", "result")

refused_totals_table = Table(
    "refused_total",
    Base.metadata,
    Column("reason", String(32), primary_key=True),
    _counter("refused"),
)
REFUSED_TOTAL_KEYS = ("reason",)


class MetaRow(Base):
    __tablename__ = "journal_meta"

    key: Mapped[str] = mapped_column(String(40), primary_key=True)
    value: Mapped[str] = mapped_column(String(200))


# -- call record <-> row ---------------------------------------------------------------


def record_to_row(record: CallRecord, node: str | None = None) -> dict[str, Any]:
    return {
        "linkedid": record.linkedid,
        "node": node,
        "line": record.line,
        "mode": record.mode.value,
        "caller": record.caller,
        "arrived_at": record.arrived_at,
        "ivr_answered_at": record.ivr_answered_at,
        "controller_absent": record.controller_absent,
        "off_hours": record.off_hours,
        "menu_choices": [
            {"key": c.key, "service": c.service, "at": c.at.isoformat()}
            for c in record.menu_choices
        ],
        "service": record.service,
        "human_requested_at": record.human_requested_at,
        "human_target": record.human_target,
        "attempts": [
            {
                "who": a.who,
                "role": a.role,
                "from": a.started_at.isoformat(),
                "to": a.ended_at.isoformat() if a.ended_at else None,
                "result": a.result,
                "in_time": a.within_three_rings,
            }
            for a in record.attempts
        ],
        "answered_by": record.answered_by,
        "answered_at": record.answered_at,
        "wait_seconds": record.wait_seconds,
        "ring_seconds": record.ring_seconds,
        "rings": record.rings,
        "within_three_rings": record.within_three_rings,
        "queue_entered_at": record.queue_entered_at,
        "queue_seconds": record.queue_seconds,
        "within_service_level": record.within_service_level,
        "talk_seconds": record.talk_seconds,
        "handling_seconds": record.handling_seconds,
        "abandon_place": record.abandon_place.value if record.abandon_place else None,
        "abandon_wait_seconds": record.abandon_wait_seconds,
        "voicemail_file": record.voicemail_file,
        "voicemail_seconds": record.voicemail_seconds,
        "voicemail_urgent": record.voicemail_urgent,
        "voicemail_spoken": record.voicemail_spoken,
        "survey_score": record.survey_score,
        "oncall_result": record.oncall_result.value if record.oncall_result else None,
        "ended_at": record.ended_at,
        "end_cause": record.end_cause,
        "outcome": record.outcome.value if record.outcome else None,
        "callback_needed": record.callback_needed,
        "event_count": record.event_count,
    }


def record_from_row(row: Mapping[Any, Any]) -> CallRecord:
    return CallRecord(
        linkedid=row["linkedid"],
        arrived_at=row["arrived_at"],
        line=row["line"],
        mode=LineMode(row["mode"]),
        caller=row["caller"],
        ivr_answered_at=row["ivr_answered_at"],
        controller_absent=bool(row["controller_absent"]),
        off_hours=bool(row["off_hours"]),
        menu_choices=tuple(
            MenuChoice(c["key"], c["service"], datetime.fromisoformat(c["at"]))
            for c in row["menu_choices"] or ()
        ),
        service=row["service"],
        human_requested_at=row["human_requested_at"],
        human_target=row["human_target"],
        attempts=tuple(
            RingAttempt(
                a["who"],
                a["role"],
                datetime.fromisoformat(a["from"]),
                datetime.fromisoformat(a["to"]) if a["to"] else None,
                a["result"],
                a.get("in_time"),
            )
            for a in row["attempts"] or ()
        ),
        answered_by=row["answered_by"],
        answered_at=row["answered_at"],
        wait_seconds=row["wait_seconds"],
        ring_seconds=row["ring_seconds"],
        rings=row["rings"],
        within_three_rings=row["within_three_rings"],
        queue_entered_at=row["queue_entered_at"],
        queue_seconds=row["queue_seconds"],
        within_service_level=row["within_service_level"],
        talk_seconds=row["talk_seconds"],
        handling_seconds=row["handling_seconds"],
        abandon_place=AbandonPlace(row["abandon_place"]) if row["abandon_place"] else None,
        abandon_wait_seconds=row["abandon_wait_seconds"],
        voicemail_file=row["voicemail_file"],
        voicemail_seconds=row["voicemail_seconds"],
        voicemail_urgent=bool(row["voicemail_urgent"]),
        voicemail_spoken=row["voicemail_spoken"],
        survey_score=row.get("survey_score"),
        oncall_result=OncallResult(row["oncall_result"]) if row["oncall_result"] else None,
        ended_at=row["ended_at"],
        end_cause=row["end_cause"],
        outcome=Outcome(row["outcome"]) if row["outcome"] else None,
        callback_needed=bool(row["callback_needed"]),
        event_count=row["event_count"],
    )
