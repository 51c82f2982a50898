"""Wiring only: the API for the running service (controller, Asterisk stack, journal).

In `ivr/runner.py`, once the stack and the controller have started:

    api = build_api(controller, stack, journal.store, config_path, request_reload)
    add_metrics_route(api.app, exporter)     # /metrics beside /api, /health, /docs
    http = HttpServer(api.app, config.service.bind, config.service.http_port)
    await http.start(); api.start()
    ...
    api.stop(); await http.stop()

`request_reload` is an `async def` that sets the loop's reload event (what SIGHUP does);
the exporter's `Sources(callbacks_owed=api.callbacks.owed)`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI

from ivr.api.app import create_api
from ivr.api.configuration import ReloadHook
from ivr.api.context import ApiServices
from ivr.api.live_view import ControllerLiveView
from ivr.app import AsteriskStack, Controller
from ivr.callbacks.originate import AriOriginator
from ivr.callbacks.service import CallbacksService
from ivr.callbacks.store import CallbackStore
from ivr.callbacks.voicemail import PathMapper, confined_mapper
from ivr.journal.store import Store


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


def voicemail_mapper(stack: AsteriskStack) -> PathMapper:
    """Asterisk's path of a recording -> this host's, only inside the voicemail dir."""
    instance = stack.instance
    if instance is None:
        raise RuntimeError("start the Asterisk stack before building the API")
    return confined_mapper(instance.to_host, instance.voicemail)


def build_api(
    controller: Controller,
    stack: AsteriskStack,
    journal: Store,
    config_path: Path,
    reload: ReloadHook,
) -> Api:
    callbacks = CallbacksService(
        CallbackStore(journal.engine), lambda: controller.config.hotline.zone, controller.clock
    )
    services = ApiServices(
        journal=journal,
        config=lambda: controller.config,
        config_path=config_path,
        live=ControllerLiveView(controller),
        reload=reload,
        voicemail_path=voicemail_mapper(stack),
        callbacks=callbacks,
        originator=AriOriginator(controller.ari),
    )
    return Api(create_api(services), callbacks)
