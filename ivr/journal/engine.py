"""The database engine behind the journal: SQLite (WAL) by default, PostgreSQL supported.

SQLite: WAL lets the API and the exporter read while the writer writes; a busy timeout
makes a briefly locked database wait instead of failing; a write transaction takes the
write lock when it begins (BEGIN IMMEDIATE), so a read-then-write cannot interleave
with another writer.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from ivr.config import HotlineConfig

WRITE = "hotline_write"  # execution option: this transaction will write


def default_url(data_dir: Path) -> str:
    return f"sqlite+aiosqlite:///{data_dir / 'journal.sqlite3'}"


def database_url(config: HotlineConfig) -> str:
    return config.service.database_url or default_url(config.service.data_dir)


def make_engine(
    url: str, *, schema: str | None = None, busy_timeout: float = 5.0
) -> AsyncEngine:
    if url.startswith("sqlite"):
        return _sqlite_engine(url, busy_timeout)
    connect_args: dict[str, Any] = {"timeout": 5, "command_timeout": 60}
    if schema:
        connect_args["server_settings"] = {"search_path": schema}
    # pre-ping: after a database restart the pool's old connections are dead
    return create_async_engine(url, connect_args=connect_args, pool_pre_ping=True)


def _sqlite_engine(url: str, busy_timeout: float) -> AsyncEngine:
    path = url.split("///", 1)[-1]
    if path and path != ":memory:":
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url)

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we say BEGIN ourselves (below)
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = FULL")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection: Connection) -> None:
        writes = connection.get_execution_options().get(WRITE, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")

    return engine
