"""Wiring only: the journal for a configuration (store, migrations, writer, spool)."""

from __future__ import annotations

from dataclasses import dataclass

import structlog

from ivr.config import HotlineConfig
from ivr.journal.engine import database_url
from ivr.journal.store import Store
from ivr.journal.writer import JournalWriter
from ivr.journal.writer_thread import ThreadedJournalWriter

SPOOL_NAME = "journal.spool"
log = structlog.get_logger(__name__)


@dataclass
class Journal:
    store: Store
    writer: JournalWriter  # what event sources emit to

    def apply(self, config: HotlineConfig) -> None:
        """A reloaded config: calls are folded by its line modes and counting rules, and
        history too, if those rules changed."""
        configure_folding(self.store, config)
        self.writer.request_refold()

    async def close(self) -> None:
        await self.writer.close()
        await self.store.close()


def open_store(config: HotlineConfig) -> Store:
    """The configured store (SQLite in data_dir unless `service.database_url` is set)."""
    store = Store(database_url(config))
    configure_folding(store, config)
    return store


async def open_journal(config: HotlineConfig) -> Journal:
    """The running service's journal. A database that is down at start-up is not fatal:
    events wait in the spool, and the schema is brought up to date when it answers."""
    store = open_store(config)
    try:
        await store.migrate()
    except Exception as exc:  # the writer spools, and migrates once the database answers
        log.warning("journal.database_unavailable_at_start", error=str(exc))
    # on a thread of its own: folding and SQL never hold the loop that drives the calls
    writer = ThreadedJournalWriter(store, config.service.data_dir / SPOOL_NAME)
    await writer.start()
    return Journal(store, writer)


def configure_folding(store: Store, config: HotlineConfig) -> None:
    store.line_modes = {line.name: line.mode.value for line in config.lines}
    store.rules = config.counting_rules
    store.nodes = config.node_names
    store.zone = config.hotline.zone
