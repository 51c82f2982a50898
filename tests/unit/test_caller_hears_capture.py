"""bench/caller_hears.py reads what the caller heard from a loopback capture: a capture
built here packet by packet (dpkt) with one caller, the agent leg Asterisk places for
it, and other traffic, gives that caller's silence and key times exactly."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import dpkt

BENCH = Path(__file__).resolve().parents[2] / "bench" / "caller_hears.py"
SIP = 5060


def bench_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("caller_hears", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["caller_hears"] = module
    spec.loader.exec_module(module)
    return module


def frame(sport: int, dport: int, payload: bytes) -> bytes:
    udp = dpkt.udp.UDP(sport=sport, dport=dport, data=payload)
    udp.ulen = len(udp)
    ip = dpkt.ip.IP(src=b"\x7f\x00\x00\x01", dst=b"\x7f\x00\x00\x01", p=17, data=udp)
    ip.len = len(ip)
    return bytes(dpkt.ethernet.Ethernet(type=dpkt.ethernet.ETH_TYPE_IP, data=ip))


def rtp(payload_type: int) -> bytes:
    return bytes([0x80, payload_type]) + b"\x00" * 10 + b"\xd5" * 160


def sip(first: str, call_id: str, caller: str, cseq: str, sdp_port: int | None = None) -> bytes:
    body = f"v=0\r\nm=audio {sdp_port} RTP/AVP 8\r\n" if sdp_port else ""
    return (
        f"{first}\r\nFrom: \"caller\" <sip:{caller}@127.0.0.1:5070>;tag=1\r\n"
        f"Call-ID: {call_id}\r\nCSeq: {cseq}\r\nContent-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


def test_silence_and_key_times_come_from_the_callers_own_packets(tmp_path: Path) -> None:
    ch = bench_module()
    t0 = 1_796_000_000.0
    packets = [
        (t0, frame(5070, SIP, sip("INVITE sip:95007@127.0.0.1 SIP/2.0", "c1", "13801",
                                  "1 INVITE", 7000))),
        (t0 + 0.004, frame(SIP, 5070, sip("SIP/2.0 200 OK", "c1", "13801", "1 INVITE", 45002))),
        (t0 + 0.010, frame(45010, 9000, rtp(8))),  # another call's audio
        (t0 + 0.021, frame(45002, 7000, rtp(8))),  # the first prompt's first packet
        (t0 + 0.041, frame(45002, 7000, rtp(8))),
        (t0 + 1.004, frame(7000, 45002, rtp(101))),  # the caller's key, RFC 2833
        (t0 + 1.024, frame(7000, 45002, rtp(101))),
        # Asterisk rings an agent for that caller: same caller number, not a call of its own
        (t0 + 2.3, frame(SIP, 6000, sip("INVITE sip:agent1@127.0.0.1 SIP/2.0", "leg1",
                                        "13801", "1 INVITE", 45020))),
        (t0 + 2.31, frame(6000, SIP, sip("SIP/2.0 200 OK", "leg1", "13801", "1 INVITE", 8000))),
    ]
    path = tmp_path / "capture.pcap"
    with path.open("wb") as handle:
        writer = dpkt.pcap.Writer(handle)
        for at, data in packets:
            writer.writepkt(data, ts=at)
    calls = ch.read_capture(path, SIP)
    assert list(calls) == ["c1"]
    call = calls["c1"]
    assert (call.caller, call.asterisk_port) == ("13801", 45002)
    assert round((call.first_rtp_at - call.ok_at) * 1000, 3) == 17.0
    assert round(call.key_at - t0, 3) == 1.004
    assert ch.spread([10.0, 20.0, 30.0])["p50_ms"] == 20.0
