"""A start is refused, naming the setting, when a configured port is taken."""

from __future__ import annotations

import socket

import pytest

from ivr.ports import Port, PortsTaken, is_free, refuse_taken


def test_taken_ports_are_named_with_their_setting() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp, \
            socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
        udp.bind(("127.0.0.1", 0))
        tcp.bind(("127.0.0.1", 0))
        tcp.listen()
        sip = Port("asterisk.sip_port", "127.0.0.1", udp.getsockname()[1], "udp")
        api = Port("service.http_port", "127.0.0.1", tcp.getsockname()[1], "tcp")
        assert not is_free(sip) and not is_free(api)
        with pytest.raises(PortsTaken) as refused:
            refuse_taken([sip, api])
    assert refused.value.ports == [sip, api]
    assert f"asterisk.sip_port 127.0.0.1:{sip.number}/udp" in str(refused.value)
    refuse_taken([sip, api])  # closed again: free
