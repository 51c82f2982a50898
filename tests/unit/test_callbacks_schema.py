"""The migrations `0002_callbacks_tokens`, `0009_notices` and `0010_recordings_spotchecks`
build exactly the tables of the models in ivr/auth, ivr/callbacks, ivr/notices,
ivr/recording and ivr/spotchecks (`tables.py`), and go down again cleanly."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import MetaData, inspect
from sqlalchemy.engine import Connection

from ivr.auth.tables import AuthBase
from ivr.callbacks.tables import CallbacksBase
from ivr.journal.migrate import VERSION_TABLE, alembic_config
from ivr.journal.store import Store
from ivr.notices.tables import NoticesBase
from ivr.orders.tables import OrdersBase
from ivr.recording.tables import RecordingBase
from ivr.spotchecks.tables import SpotCheckBase

OURS = MetaData()
for base in (AuthBase, CallbacksBase, OrdersBase, NoticesBase, RecordingBase, SpotCheckBase):
    for table in base.metadata.tables.values():
        table.to_metadata(OURS)


async def test_the_migration_builds_exactly_the_models(tmp_path: Path) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/journal.sqlite3")
    await store.migrate()

    def ours(name: str | None, kind: str, parent: Any) -> bool:
        return kind != "table" or name in OURS.tables

    def differences(connection: Connection) -> list[Any]:
        options = {"version_table": VERSION_TABLE, "include_name": ours}
        context = MigrationContext.configure(connection, opts=options)
        return list(compare_metadata(context, OURS))

    try:
        async with store.engine.connect() as conn:
            assert await conn.run_sync(differences) == []
    finally:
        await store.close()


async def test_the_migration_goes_down_to_the_journal_alone(tmp_path: Path) -> None:
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/journal.sqlite3")
    await store.migrate()

    def down_and_list(connection: Connection) -> set[str]:
        command.downgrade(alembic_config(connection), "0001")
        return set(inspect(connection).get_table_names())

    try:
        async with store.engine.begin() as conn:
            tables = await conn.run_sync(down_and_list)
        assert not tables & set(OURS.tables)
        assert "calls" in tables
        await store.migrate()  # and up again
    finally:
        await store.close()
