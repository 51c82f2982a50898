"""`hotline run`: the hotline (`ivr.hotline.Hotline`) until a signal.
SIGHUP re-reads the config (new calls only).

It says "up" only once everything is up; a start that fails (ports taken, an Asterisk
of this instance that cannot be used, another run on the same data directory) prints
why and exits non-zero with nothing left running.
"""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import structlog

from ivr.asterisk.instance import AsteriskStartError
from ivr.asterisk.sandbox import ProvisionError
from ivr.config import HotlineConfig
from ivr.config_apply import apply_config_file
from ivr.hotline import Hotline
from ivr.pidfile import PID_NAME, AlreadyRunning, PidLock
from ivr.ports import PortsTaken
from ivr.proxy.process import ProxyStartError

log = structlog.get_logger(__name__)

START_REFUSED = 1  # exit status: the hotline did not start, and says why
START_ERRORS = (
    AlreadyRunning, PortsTaken, AsteriskStartError, ProvisionError, ProxyStartError
)


async def run_hotline(config: HotlineConfig, config_path: Path, nodes: int | None = None) -> int:
    """`nodes`: run that many Asterisk nodes behind the proxy (`hotline run --nodes`),
    made up from the config where it names fewer."""
    if nodes is not None:
        try:
            config = config.with_nodes(nodes)
        except ValueError as exc:
            print(f"hotline: not started: --nodes {nodes}: {exc}", file=sys.stderr, flush=True)
            return START_REFUSED
    config.service.data_dir.mkdir(parents=True, exist_ok=True)
    pid_lock = PidLock(config.service.data_dir / PID_NAME)
    try:
        pid_lock.acquire()
    except AlreadyRunning as exc:
        print(f"hotline: not started: {exc}", file=sys.stderr, flush=True)
        return START_REFUSED
    try:
        return await _serve(Hotline(config, config_path), config_path, nodes)
    finally:
        pid_lock.release()


async def _serve(hotline: Hotline, config_path: Path, nodes: int | None = None) -> int:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGINT, stop.set)
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGHUP, hotline.reload_requested.set)
    print("starting Asterisk ...", flush=True)
    try:
        await hotline.start()  # on failure it has stopped everything it started
    except START_ERRORS as exc:
        print(f"hotline: not started: {exc}", file=sys.stderr, flush=True)
        return START_REFUSED
    try:
        print_up(hotline)
        while not stop.is_set():
            waiters = {asyncio.ensure_future(stop.wait()),
                       asyncio.ensure_future(hotline.reload_requested.wait())}
            await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
            for waiter in waiters:
                waiter.cancel()
            if hotline.reload_requested.is_set() and not stop.is_set():
                hotline.reload_requested.clear()
                await reload_from_file(hotline, config_path, nodes)
        return 0
    finally:
        print("stopping ...", flush=True)
        await hotline.stop()


async def reload_from_file(
    hotline: Hotline, config_path: Path, nodes: int | None = None
) -> None:
    """Re-read the config file, check it, apply it: Asterisk's reload, then everything
    the running service reads (`Hotline.apply`). A config that fails its checks or its
    apply changes nothing, and this never raises: the hotline stays on the air."""
    def adjust(config: HotlineConfig) -> HotlineConfig:
        return config.with_nodes(nodes) if nodes is not None else config

    result = await apply_config_file(
        config_path, hotline.asterisk, [hotline], hotline.ami, adjust=adjust
    )
    print(result.summary(), flush=True)


def print_up(hotline: Hotline) -> None:
    config, stack = hotline.config, hotline.stack
    a, s = config.asterisk, config.service
    print(f"hotline up ({stack.install.version if stack.install else '?'})")
    public = (a.sip_bind, a.sip_port)
    if hotline.proxy is not None:
        public = (config.proxy.bind, config.proxy.sip_port)
    for line in config.lines:
        where = f"sip:{line.number}@{public[0]}:{public[1]}"
        print(f"  call {line.name:10} {where}  ({line.mode})")
    if hotline.proxy is not None:
        print(f"  proxy    kamailio pid {hotline.proxy.pid} on {public[0]}:{public[1]}, "
              f"probing every {config.proxy.probe_interval_seconds} s")
    for node in (n for n in config.nodes if hotline.proxy is not None):
        print(f"  node {node.name:8} sip {a.sip_bind}:{node.sip_port}, ARI {a.bind}:"
              f"{node.http_port}, AMI {node.ami_port}, systemname {node.system_name}")
    print(f"  metrics  http://{s.bind}:{s.http_port}/metrics")
    print(f"  API      http://{s.bind}:{s.http_port}/api  (docs at /docs)")
    print(f"  FastAGI  agi://{s.bind}:{s.fastagi_port}/route  (for a dialplan of your own)")
    print(f"  wallboard http://{s.bind}:{s.http_port}/wallboard#token=<a viewer token>")
    print(f"  Asterisk config {stack.instance.etc if stack.instance else '?'}")
    if stack.running is not None:
        how = "attached to" if stack.keeps_running else "adopted"
        print(f"  Asterisk pid {stack.running.pid} ({how}; see above)")
    elif stack.process is not None:
        print(f"  Asterisk pid {stack.process.pid} (started by this run)")
    print("Ctrl-C stops it.", flush=True)
