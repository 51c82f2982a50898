"""The API for the running service, built by the composition root (`ivr/hotline.py`)
from what it owns: the configuration of the moment, the clock, the live view, the ARI
connection (callbacks are originated over it), the Asterisk stack (voicemail paths)
and the journal store. `reload` is an `async def` that asks the service to re-read its
configuration (what SIGHUP does). The exporter's `Sources(callbacks_owed=api.callbacks.owed)`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Protocol

import structlog
from fastapi import FastAPI

from ivr.api.app import create_api
from ivr.api.configuration import ReloadHook
from ivr.api.context import ApiServices, catch_up_order_callbacks
from ivr.api.live_view import LiveView
from ivr.ari.client import AriClient
from ivr.asterisk.instance import Instance
from ivr.callbacks.domain import Priority
from ivr.callbacks.originate import AriOriginator
from ivr.callbacks.outbound import OUTBOUND_EVENT, OutboundGuard
from ivr.callbacks.service import CallbacksService
from ivr.callbacks.store import CallbackStore
from ivr.callbacks.voicemail import PathMapper, confined_mapper
from ivr.clock import Clock
from ivr.config import HotlineConfig
from ivr.journal.store import Store
from ivr.notices.service import NoticesService
from ivr.orders.desk import DeskBoard
from ivr.orders.outbox import Deliverer
from ivr.orders.service import OrdersService
from ivr.orders.store import OrderStore
from ivr.recording.service import RecordingsService
from ivr.spotchecks.prober import Prober
from ivr.spotchecks.service import SpotChecksService

log = structlog.get_logger(__name__)
ORDER_CALLBACKS_EVERY = 30.0  # seconds between two catch-ups of closed orders' callbacks


@dataclass
class Api:
    app: FastAPI
    callbacks: CallbacksService
    orders: OrdersService
    deliverer: Deliverer
    desk: DeskBoard
    _sync: asyncio.Task[None] | None = None
    _orders_sync: asyncio.Task[None] | None = None
    _order_callbacks: asyncio.Task[None] | None = None
    _pending: set[asyncio.Task[None]] = field(default_factory=set)

    def start(self) -> None:
        """Keep the callback tasks and work orders in step with the journal (every few
        seconds), and deliver the outbox."""
        if self._sync is None:
            self._sync = asyncio.create_task(self.callbacks.run_sync(), name="callback-sync")
        if self._orders_sync is None:
            self._orders_sync = asyncio.create_task(self.orders.run_sync(), name="orders-sync")
        if self._order_callbacks is None:
            self._order_callbacks = asyncio.create_task(
                self._catch_up_order_callbacks(), name="order-callbacks"
            )
        self.deliverer.start()

    async def _catch_up_order_callbacks(self, every: float = ORDER_CALLBACKS_EVERY) -> None:
        """Orders closed where no listener saw it (the CLI, another process) get their
        callback task too."""
        while True:
            try:
                await catch_up_order_callbacks(self.orders, self.callbacks)
            except Exception as exc:  # the database may be briefly away: try again later
                log.warning("callbacks.order_catch_up_failed", error=str(exc))
            await asyncio.sleep(every)

    def on_ami_event(self, event: dict[str, str]) -> None:
        """An AMI listener: agents' calls for the desk, and the dialplan's end of a
        call-back's dial (`HotlineOutbound`)."""
        self.desk.on_ami_event(event)
        if event.get("Event") != "UserEvent" or event.get("UserEvent") != OUTBOUND_EVENT:
            return
        channel = event.get("Uniqueid", "")
        status = event.get("Status", "")[:24]
        cause_text = event.get("Cause", "")
        cause = int(cause_text) if cause_text.isdigit() else None
        task = asyncio.create_task(self.callbacks.dial_ended(
            channel, event.get("Task", ""), event.get("Number", ""), status, cause
        ))
        self._pending.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task[None]) -> None:
        self._pending.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.warning("callbacks.dial_end_failed", error=str(task.exception()))

    async def stop(self) -> None:
        for task in (self._sync, self._orders_sync, self._order_callbacks):
            if task is not None:
                task.cancel()
        self._sync = self._orders_sync = self._order_callbacks = None
        await self.deliverer.stop()


class HasInstance(Protocol):
    """The Asterisk stack, as far as the API needs it: where the instance lives."""

    @property
    def instance(self) -> Instance | None: ...


def voicemail_mapper(stack: HasInstance, *more: HasInstance) -> PathMapper:
    """Asterisk's path of a recording -> this host's, only inside the voicemail dir (of
    any of the stacks: several nodes each record into their own)."""
    mappers = []
    for each in (stack, *more):
        instance = each.instance
        if instance is None:
            raise RuntimeError("start the Asterisk stack before building the API")
        mappers.append(confined_mapper(instance.to_host, instance.voicemail))
    if len(mappers) == 1:
        return mappers[0]

    def mapped(inner: Path) -> Path:
        refused: ValueError | None = None
        for mapper in mappers:
            try:
                return mapper(inner)
            except ValueError as exc:
                refused = refused or exc
        assert refused is not None
        raise refused

    return mapped


def build_api(
    *,
    config: Callable[[], HotlineConfig],
    clock: Clock,
    live: LiveView,
    ari: AriClient,
    stack: HasInstance,
    journal: Store,
    more_stacks: Sequence[HasInstance] = (),  # the other nodes' (voicemail files)
    config_path: Path,
    reload: ReloadHook,
    notices: NoticesService | None = None,
    recordings: RecordingsService | None = None,
    spotchecks: SpotChecksService | None = None,
    prober: Prober | None = None,
) -> Api:
    zone = lambda: config().hotline.zone  # noqa: E731
    guard = OutboundGuard(journal.engine, lambda: config().outbound.rules, zone, clock)
    hours = config().callbacks
    due_within = {
        Priority.emergency: timedelta(hours=hours.emergency_hours),
        Priority.repair: timedelta(hours=hours.repair_hours),
        Priority.normal: timedelta(hours=hours.normal_hours),
    }
    callbacks = CallbacksService(
        CallbackStore(journal.engine), zone, clock, due_within, guard=guard,
        rules=lambda: config().callbacks.rules,
    )
    orders = OrdersService(OrderStore(journal.engine), config, clock)
    deliverer = Deliverer(orders, config)  # real time: retries are waited for, not routed
    desk = DeskBoard()
    services = ApiServices(
        journal=journal,
        config=config,
        config_path=config_path,
        live=live,
        reload=reload,
        voicemail_path=voicemail_mapper(stack, *more_stacks),
        callbacks=callbacks,
        originator=AriOriginator(ari),
        notices=notices,
        recordings=recordings,
        spotchecks=spotchecks,
        prober=prober,
        orders=orders,
        deliverer=deliverer,
        desk=desk,
    )
    return Api(create_api(services), callbacks, orders, deliverer, desk)
