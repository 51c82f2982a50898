"""`hotline run`: the hotline (`ivr.hotline.Hotline`) until a signal.
SIGHUP re-reads the config (new calls only)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import structlog

from ivr.config import ConfigError, HotlineConfig, load_config
from ivr.hotline import Hotline

log = structlog.get_logger(__name__)


async def run_hotline(config: HotlineConfig, config_path: Path) -> int:
    config.service.data_dir.mkdir(parents=True, exist_ok=True)
    hotline = Hotline(config, config_path)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGHUP, hotline.reload_requested.set)
    pid_file = config.service.data_dir / "hotline.pid"
    try:
        print("starting Asterisk ...", flush=True)
        await hotline.start()
        pid_file.write_text(str(os.getpid()))
        print_up(hotline)
        while not stop.is_set():
            waiters = {asyncio.ensure_future(stop.wait()),
                       asyncio.ensure_future(hotline.reload_requested.wait())}
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
            if hotline.reload_requested.is_set() and not stop.is_set():
                hotline.reload_requested.clear()
                await reload_from_file(hotline, config_path)
        return 0
    finally:
        print("stopping ...", flush=True)
        await hotline.stop()
        with contextlib.suppress(FileNotFoundError):
            pid_file.unlink()


async def reload_from_file(hotline: Hotline, config_path: Path) -> None:
    """Re-read the config file and apply it; a config that does not load changes nothing."""
    try:
        new_config = load_config(config_path)
    except ConfigError as exc:
        log.error("reload.refused", problems=exc.problems)
        return
    await hotline.reload(new_config)
    print("configuration reloaded", flush=True)


def print_up(hotline: Hotline) -> None:
    config, stack = hotline.config, hotline.stack
    a, s = config.asterisk, config.service
    print(f"hotline up ({stack.install.version if stack.install else '?'})")
    for line in config.lines:
        where = f"sip:{line.number}@{a.sip_bind}:{a.sip_port}"
        print(f"  call {line.name:10} {where}  ({line.mode})")
    print(f"  metrics  http://{s.bind}:{s.http_port}/metrics")
    print(f"  API      http://{s.bind}:{s.http_port}/api  (docs at /docs)")
    print(f"  Asterisk config {stack.instance.etc if stack.instance else '?'}")
    print("Ctrl-C stops it.", flush=True)
