"""Alembic environment for the journal's tables; run through `ivr.journal.migrate`,
which hands over an open connection (there is no alembic.ini)."""

from __future__ import annotations

from alembic import context

from ivr.journal.migrate import VERSION_TABLE
from ivr.journal.tables import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the journal migrations with ivr.journal.migrate.upgrade_database")

context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    version_table=VERSION_TABLE,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying
)
with context.begin_transaction():
    context.run_migrations()
