"""Bring a journal database to the newest schema (Alembic upgrade head), without an
alembic.ini: the migrations live in `ivr/journal/migrations/`.

The journal keeps its own version table, so other parts of the project may migrate
their own tables in the same database with their own Alembic history.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from ivr.journal.engine import WRITE, make_engine

MIGRATIONS = Path(__file__).parent / "migrations"
VERSION_TABLE = "journal_alembic_version"


def alembic_config(connection: Connection | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    return config


def _upgrade_head(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


async def upgrade_engine(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        connection = await connection.execution_options(**{WRITE: True})
        async with connection.begin():
            await connection.run_sync(_upgrade_head)


def upgrade_database(url: str, *, schema: str | None = None) -> None:
    """Run the journal's migrations up to head on the database at `url`."""
    async def upgrade() -> None:
        engine = make_engine(url, schema=schema)
        try:
            await upgrade_engine(engine)
        finally:
            await engine.dispose()

    asyncio.run(upgrade())
