"""`hotline run`: Asterisk, the controller, the journal and the HTTP side, together,
until a signal. SIGHUP re-reads the config (new calls only)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import structlog

from ivr.api.plugin import Api, build_api
from ivr.api.server import HttpServer
from ivr.app import AsteriskStack, Controller
from ivr.config import HotlineConfig
from ivr.config_apply import apply_config_file
from ivr.journal.service import open_journal
from metrics.exporter import Exporter, Sources
from metrics.http import add_metrics_route

log = structlog.get_logger(__name__)


async def run_hotline(config: HotlineConfig, config_path: Path) -> int:
    data_dir = config.service.data_dir
    data_dir.mkdir(parents=True, exist_ok=True)
    stack = AsteriskStack(config, config_path)
    journal = await open_journal(config)
    controller: Controller | None = None
    api: Api | None = None
    http: HttpServer | None = None
    stop = asyncio.Event()
    reload_requested = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reload_requested.set)
    pid_file = data_dir / "hotline.pid"
    try:
        print("starting Asterisk ...", flush=True)
        await stack.start()
        controller = Controller(config, stack, journal.writer)
        await controller.start()

        async def request_reload() -> None:
            reload_requested.set()

        api = build_api(controller, stack, journal.store, config_path, request_reload)
        running = controller
        exporter = Exporter(Sources(
            store=journal.store,
            config=lambda: running.config,
            live=running.live,
            health=running,
            writer_stats=lambda: journal.writer.stats,
            callbacks_owed=api.callbacks.owed,
        ))
        add_metrics_route(api.app, exporter)
        http = HttpServer(api.app, config.service.bind, config.service.http_port)
        await http.start()
        api.start()
        pid_file.write_text(str(os.getpid()))
        a = config.asterisk
        s = config.service
        print(f"hotline up ({stack.install.version if stack.install else '?'})")
        for line in config.lines:
            where = f"sip:{line.number}@{a.sip_bind}:{a.sip_port}"
            print(f"  call {line.name:10} {where}  ({line.mode})")
        print(f"  metrics  http://{s.bind}:{s.http_port}/metrics")
        print(f"  API      http://{s.bind}:{s.http_port}/api  (docs at /docs)")
        print(f"  Asterisk config {stack.instance.etc if stack.instance else '?'}")
        print("Ctrl-C stops it.", flush=True)
        while not stop.is_set():
            waiters = {asyncio.ensure_future(stop.wait()),
                       asyncio.ensure_future(reload_requested.wait())}
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
            if reload_requested.is_set() and not stop.is_set():
                reload_requested.clear()
                # checked, then applied; a failure keeps the running config (never raises)
                result = await apply_config_file(
                    config_path, stack, [controller, journal], controller.ami
                )
                print(result.summary(), flush=True)
        return 0
    finally:
        print("stopping ...", flush=True)
        if api is not None:
            api.stop()
        if http is not None:
            await http.stop()
        if controller is not None:
            await controller.stop()
        await stack.stop()
        await journal.close()
        with contextlib.suppress(FileNotFoundError):
            pid_file.unlink()
