"""The API for the running service, built by the composition root (`ivr/hotline.py`)
from what it owns: the configuration of the moment, the clock, the live view, the ARI
connection (callbacks are originated over it), the Asterisk stack (voicemail paths)
and the journal store. `reload` is an `async def` that asks the service to re-read its
configuration (what SIGHUP does). The exporter's `Sources(callbacks_owed=api.callbacks.owed)`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from fastapi import FastAPI

from ivr.api.app import create_api
from ivr.api.configuration import ReloadHook
from ivr.api.context import ApiServices
from ivr.api.live_view import LiveView
from ivr.ari.client import AriClient
from ivr.asterisk.instance import Instance
from ivr.callbacks.originate import AriOriginator
from ivr.callbacks.service import CallbacksService
from ivr.callbacks.store import CallbackStore
from ivr.callbacks.voicemail import PathMapper, confined_mapper
from ivr.clock import Clock
from ivr.config import HotlineConfig
from ivr.journal.store import Store
from ivr.notices.service import NoticesService
from ivr.recording.service import RecordingsService
from ivr.spotchecks.prober import Prober
from ivr.spotchecks.service import SpotChecksService


@dataclass
class Api:
    app: FastAPI
    callbacks: CallbacksService
    _sync: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Keep the callback tasks in step with the journal (every few seconds)."""
        if self._sync is None:
            self._sync = asyncio.create_task(self.callbacks.run_sync(), name="callback-sync")

    def stop(self) -> None:
        if self._sync is not None:
            self._sync.cancel()
            self._sync = None


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
    callbacks = CallbacksService(
        CallbackStore(journal.engine), lambda: config().hotline.zone, clock
    )
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
    )
    return Api(create_api(services), callbacks)
