"""Wiring only: the API for the running service (controller, Asterisk stack, journal).
`ivr/runner.py` builds it once, serves `api.app`, and runs `api.callbacks.run_sync()`."""

from __future__ import annotations

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
