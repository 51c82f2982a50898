"""Which of the configured ports are already taken, checked before anything starts.

Asterisk does not exit when a port it wants is in use (it logs and runs on without SIP,
ARI or AMI), and a service that started "up" on such an Asterisk would lie. So the
ports are tried first, and a start is refused naming each port that is taken.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass

from ivr.config import HotlineConfig


@dataclass(frozen=True)
class Port:
    setting: str  # the config key, e.g. "asterisk.sip_port"
    host: str
    number: int
    protocol: str  # "udp" or "tcp"

    def __str__(self) -> str:
        return f"{self.setting} {self.host}:{self.number}/{self.protocol}"


class PortsTaken(RuntimeError):
    def __init__(self, ports: list[Port]) -> None:
        self.ports = ports
        names = ", ".join(str(port) for port in ports)
        super().__init__(
            f"ports already in use: {names}; another program (or another hotline) has "
            "them: stop it or choose other ports in the config"
        )


def asterisk_ports(config: HotlineConfig) -> list[Port]:
    a = config.asterisk
    return [
        Port("asterisk.sip_port", a.sip_bind, a.sip_port, "udp"),
        Port("asterisk.http_port", a.bind, a.http_port, "tcp"),
        Port("asterisk.ami_port", a.bind, a.ami_port, "tcp"),
    ]


def service_ports(config: HotlineConfig) -> list[Port]:
    s = config.service
    return [
        Port("service.http_port", s.bind, s.http_port, "tcp"),
        Port("service.fastagi_port", s.bind, s.fastagi_port, "tcp"),
    ]


def is_free(port: Port) -> bool:
    kind = socket.SOCK_DGRAM if port.protocol == "udp" else socket.SOCK_STREAM
    family = socket.AF_INET6 if ":" in port.host else socket.AF_INET
    with socket.socket(family, kind) as probe:
        if kind == socket.SOCK_STREAM:  # as servers bind: a port in TIME_WAIT is free
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((port.host, port.number))
        except OSError:
            return False
    return True


def refuse_taken(ports: list[Port]) -> None:
    taken = [port for port in ports if not is_free(port)]
    if taken:
        raise PortsTaken(taken)
