"""Kamailio's configuration for the hotline's nodes, rendered from the hotline config
(`dialplan/kamailio.cfg.j2` and a dispatcher list of the nodes' SIP addresses), like
Asterisk's: a reload of the nodes is a re-render."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import jinja2

from ivr.config import HotlineConfig

TEMPLATES = Path(__file__).resolve().parents[2] / "dialplan"
MODULES = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")
DISPATCHER_SET = 1


@dataclass(frozen=True)
class ProxyFiles:
    """Where one proxy keeps its files: config, dispatcher list, runtime dir, pid file."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "kamailio.cfg"

    @property
    def dispatcher_list(self) -> Path:
        return self.root / "dispatcher.list"

    @property
    def run(self) -> Path:
        return self.root / "run"

    @property
    def pid_file(self) -> Path:
        return self.run / "kamailio.pid"

    @property
    def log(self) -> Path:
        return self.root / "kamailio.log"


def node_address(config: HotlineConfig, sip_port: int) -> str:
    """A node's SIP URI as the proxy reaches it (the nodes listen where [asterisk]
    sip_bind says, each on its own port)."""
    host = config.asterisk.sip_bind
    if host in {"0.0.0.0", "::"}:
        host = "127.0.0.1"
    return f"sip:[{host}]:{sip_port}" if ":" in host else f"sip:{host}:{sip_port}"


def dispatcher_list(config: HotlineConfig) -> str:
    lines = ["# Rendered by hotline: set, node address, flags, priority, attributes"]
    for node in config.nodes:
        lines.append(
            f"{DISPATCHER_SET} {node_address(config, node.sip_port)} 0 0 node={node.name}"
        )
    return "\n".join(lines) + "\n"


def invite_timeout_ms(config: HotlineConfig) -> int:
    """How long the proxy waits for a node's final answer to an INVITE: longer than a
    caller can wait unanswered (a manual line rings in the queue until max_wait_seconds)
    plus the on-call chain and the voicemail prompt after it."""
    return max(120, config.queue.max_wait_seconds + 120) * 1000


def kamailio_cfg(config: HotlineConfig, files: ProxyFiles, modules: Path = MODULES) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    return env.get_template("kamailio.cfg.j2").render(
        proxy=config.proxy,
        children=2,
        invite_timeout_ms=invite_timeout_ms(config),
        modules=f"{modules}/",
        list_file=str(files.dispatcher_list),
    )


def render_proxy(config: HotlineConfig, files: ProxyFiles) -> None:
    """Write the proxy's config and dispatcher list (mode 0640; they name no secret, but
    say where every node listens)."""
    files.run.mkdir(parents=True, exist_ok=True)
    for path, text in (
        (files.dispatcher_list, dispatcher_list(config)),
        (files.config, kamailio_cfg(config, files)),
    ):
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.unlink(missing_ok=True)
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o640)
        with os.fdopen(fd, "w") as out:
            out.write(text)
        tmp.replace(path)
