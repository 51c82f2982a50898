"""The AMI connection: queue, agent and dialplan events into the journal.

Asterisk filters the events at the source (manager.conf eventfilter), so this reader
only sees what the journal and the live view use.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import structlog
from panoramisk import Manager

from ivr.ami.translate import AmiTranslator
from ivr.domain.events import EventSink

log = structlog.get_logger(__name__)


class AmiFeed:
    def __init__(self, host: str, port: int, user: str, secret: str, journal: EventSink) -> None:
        self.journal = journal
        self.translator = AmiTranslator()
        self.listeners: list[Callable[[dict[str, str]], None]] = []
        self.on_login: list[Callable[[], None]] = []  # called on every (re)login
        self.last_event_monotonic: float | None = None
        self.manager = Manager(
            host=host,
            port=port,
            username=user,
            secret=secret,
            ping_delay=5,
            ping_interval=5,
            reconnect_timeout=1,
            on_login=self._logged_in,
            on_disconnect=self._disconnected,
        )
        self.manager.register_event("*", self._on_event)
        self.logged_in = asyncio.Event()
        self._prime: asyncio.Future[None] | None = None

    async def start(self) -> None:
        self.manager.loop = asyncio.get_running_loop()
        self.manager.connect()

    def close(self) -> None:
        self.logged_in.clear()
        self.manager.close()

    @property
    def connected(self) -> bool:
        return self.logged_in.is_set()

    def _logged_in(self, manager: Manager) -> None:
        log.info("ami.logged_in")
        self.logged_in.set()
        for listener in self.on_login:
            listener()
        self._prime = asyncio.ensure_future(self._prime_listeners())

    async def _prime_listeners(self) -> None:
        """The queue's members as they are now; events keep them current after."""
        try:
            replies = await self.manager.send_action({"Action": "QueueStatus"}, as_list=True)
        except Exception:  # a failed prime only delays the live view
            log.warning("ami.queue_status_failed", exc_info=True)
            return
        for reply in replies if isinstance(replies, list) else [replies]:
            event = {str(k): str(v) for k, v in dict(reply).items()}
            for listener in self.listeners:
                listener(event)

    def _disconnected(self, manager: Manager, exc: Exception | None) -> None:
        log.warning("ami.disconnected", error=str(exc) if exc else None)
        self.logged_in.clear()

    def _on_event(self, manager: Manager, message: Any) -> None:
        self.last_event_monotonic = time.monotonic()
        event = {str(k): str(v) for k, v in dict(message).items()}
        journal_event = self.translator.translate(event)
        if journal_event is not None:
            self.journal.emit(journal_event)
        for listener in self.listeners:
            listener(event)

    async def action(self, **fields: str) -> Any:
        return await self.manager.send_action(fields)
