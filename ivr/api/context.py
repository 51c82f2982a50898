"""What the API is built from (`ApiServices`, handed over by the service's wiring), the
services the resources use (`ApiContext`), and the request dependencies: the context,
and the token holder with at least a given role."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Annotated
from zoneinfo import ZoneInfo

from fastapi import Depends, HTTPException, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ivr.api.call_search import CallSearch
from ivr.api.configuration import ConfigurationService, ReloadHook
from ivr.api.guard import PRINCIPAL
from ivr.api.live_view import LiveView, as_live_view
from ivr.auth.roles import Role
from ivr.auth.tokens import Principal, TokenStore
from ivr.callbacks.domain import order_task_key
from ivr.callbacks.originate import Originator
from ivr.callbacks.service import CallbacksService
from ivr.callbacks.store import CallbackStore
from ivr.callbacks.voicemail import PathMapper, VoicemailService
from ivr.clock import Clock, SystemClock
from ivr.config import HotlineConfig
from ivr.journal.store import Store
from ivr.live import LiveState
from ivr.notices.service import NoticesService
from ivr.notices.store import NoticeStore
from ivr.orders.desk import DeskBoard
from ivr.orders.domain import WorkOrder
from ivr.orders.outbox import Deliverer
from ivr.orders.service import OrdersService
from ivr.orders.store import CHUNK as ORDERS_CHUNK
from ivr.orders.store import OrderStore
from ivr.recording.service import RecordingsService
from ivr.recording.store import RecordingStore
from ivr.spotchecks.prober import Prober
from ivr.spotchecks.service import SpotChecksService
from ivr.spotchecks.store import SpotCheckStore


@dataclass
class ApiServices:
    """What the API needs from the running service."""

    journal: Store  # the journal store (its engine also holds tokens and callbacks)
    config: Callable[[], HotlineConfig]  # the active configuration, now
    config_path: Path  # the file uploads go to and reloads read
    live: LiveView | LiveState
    reload: ReloadHook  # make the service re-read config_path (as SIGHUP does)
    voicemail_path: PathMapper  # a recording's path as Asterisk sees it -> on this host
    callbacks: CallbacksService | None = None  # default: over the journal's database
    originator: Originator | None = None  # None: calling back from the API is off
    clock: Clock = field(default_factory=SystemClock)
    notices: NoticesService | None = None  # default: over the journal's database
    recordings: RecordingsService | None = None  # default: no recordings directory
    spotchecks: SpotChecksService | None = None  # default: over the journal's database
    prober: Prober | None = None  # None: no probing from the API
    orders: OrdersService | None = None  # default: over the journal's database
    deliverer: Deliverer | None = None  # default: one that is not running (the API's own)
    desk: DeskBoard | None = None  # who is on which call (AMI AgentConnect)


@dataclass
class ApiContext:
    journal: Store
    search: CallSearch
    tokens: TokenStore
    callbacks: CallbacksService
    voicemail: VoicemailService
    configuration: ConfigurationService
    live: LiveView
    originator: Originator | None
    clock: Clock
    notices: NoticesService
    recordings: RecordingsService
    spotchecks: SpotChecksService
    prober: Prober | None
    orders: OrdersService
    deliverer: Deliverer
    desk: DeskBoard
    background: set[asyncio.Task[object]] = field(default_factory=set)

    @classmethod
    def of(cls, services: ApiServices) -> ApiContext:
        engine = services.journal.engine
        orders = services.orders or OrdersService(
            OrderStore(engine), services.config, services.clock
        )
        callback_store = CallbackStore(engine)
        callbacks = services.callbacks or CallbacksService(
            callback_store, lambda: services.config().hotline.zone, services.clock,
            rules=lambda: services.config().callbacks.rules,
        )
        link_orders_to_callbacks(orders, callbacks)
        return cls(
            journal=services.journal,
            search=CallSearch(engine),
            tokens=TokenStore(engine),
            callbacks=callbacks,
            voicemail=VoicemailService(
                services.journal, callbacks.store, services.voicemail_path, services.clock
            ),
            configuration=ConfigurationService(
                services.config, services.config_path, services.reload
            ),
            live=as_live_view(services.live),
            originator=services.originator,
            clock=services.clock,
            notices=services.notices or NoticesService(NoticeStore(engine), services.clock.now),
            recordings=services.recordings or RecordingsService(
                lambda: None, RecordingStore(engine), services.journal,
                lambda: timedelta(days=services.config().recording.retention_days),
            ),
            spotchecks=services.spotchecks or SpotChecksService(
                SpotCheckStore(engine), lambda: services.config().hotline.zone,
                services.clock.now,
            ),
            prober=services.prober,
            orders=orders,
            # not started here: revived messages wait for the service's own deliverer
            deliverer=services.deliverer or Deliverer(orders, services.config),
            desk=services.desk or DeskBoard(),
        )

    def config(self) -> HotlineConfig:
        return self.configuration.current()

    def zone(self) -> ZoneInfo:
        return self.config().hotline.zone


def link_orders_to_callbacks(orders: OrdersService, callbacks: CallbacksService) -> None:
    """The callback cycle (R7): a closed work order makes its callback task, and the
    month's callback rate counts the orders closed in it."""
    if callbacks.orders_closed is None:
        callbacks.orders_closed = orders.store.closed_between

    async def closed(order: WorkOrder) -> None:
        assert order.closed_at is not None
        await callbacks.add_for_order(
            order_id=order.id, service=order.service, paid=order.paid, caller=order.caller,
            closed_at=order.closed_at, done_at=order.done_at,
        )

    orders.on_closed.append(closed)


CATCH_UP_DAYS = 30


async def catch_up_order_callbacks(orders: OrdersService, callbacks: CallbacksService) -> int:
    """The callback task of every order closed in the last CATCH_UP_DAYS that has none
    (closed by the CLI, or while the service was away); returns how many were made."""
    since = callbacks.clock.now() - timedelta(days=CATCH_UP_DAYS)
    made = 0
    while True:
        closed = await orders.store.closed_since(since)
        known = await callbacks.store.known([order_task_key(o.id) for o in closed])
        for order in closed:
            if order_task_key(order.id) in known or order.closed_at is None:
                continue
            task = await callbacks.add_for_order(
                order_id=order.id, service=order.service, paid=order.paid,
                caller=order.caller, closed_at=order.closed_at, done_at=order.done_at,
            )
            made += task is not None
        if len(closed) < ORDERS_CHUNK or closed[0].closed_at == closed[-1].closed_at:
            return made
        since = closed[-1].closed_at or since  # the next page (this instant's: seen again)


def context(request: Request) -> ApiContext:
    ctx: ApiContext = request.app.state.hotline
    return ctx


Ctx = Annotated[ApiContext, Depends(context)]

bearer = HTTPBearer(
    auto_error=False,
    scheme_name="token",
    description="An API token from `hotline token create --role viewer|agent|supervisor|admin`.",
)


def require(role: Role) -> Callable[..., Awaitable[Principal]]:
    """A dependency: the token's holder, who must have at least `role`.
    No or unknown token: 401; a weaker role: 403."""

    async def holder(
        ctx: Ctx,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Security(bearer)],
    ) -> Principal:
        challenge = {"WWW-Authenticate": "Bearer"}
        if credentials is None:
            raise HTTPException(
                401, "an API token is needed: Authorization: Bearer <token>", challenge
            )
        # ivr.api.guard authenticated it before the body was read
        principal: Principal | None = getattr(request.state, PRINCIPAL, None)
        if principal is None:
            principal = await ctx.tokens.authenticate(credentials.credentials, ctx.clock.now())
        if principal is None:
            raise HTTPException(
                401, "the token is not valid (unknown, expired or revoked)", challenge
            )
        if not principal.role.allows(role):
            raise HTTPException(
                403, f"this needs the {role.value} role; the token has {principal.role.value}"
            )
        return principal

    return holder


Viewer = Annotated[Principal, Depends(require(Role.viewer))]
Agent = Annotated[Principal, Depends(require(Role.agent))]
Supervisor = Annotated[Principal, Depends(require(Role.supervisor))]
Admin = Annotated[Principal, Depends(require(Role.admin))]
