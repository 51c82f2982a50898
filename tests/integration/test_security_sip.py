"""The SIP and AMI side of security (issue 12), on the real Asterisk with SIPp:

- the public context reaches only the hotline's numbers: anything else is refused and
  no staff phone (nor anything else) is rung;
- staff endpoints need digest auth: no credentials or a wrong password is challenged,
  and even an authenticated staff phone dials nowhere;
- nothing unauthenticated dials out;
- the AMI user may ask for queue status and a reload, and nothing more (no Originate,
  no CLI commands, no config writes).
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator

import pytest
from panoramisk import Manager

from . import sipp
from .harness import HotlineUnderTest

pytestmark = pytest.mark.asterisk

NOT_HOTLINE = ("13900001111", "00861381234567", "agent1", "oncall1", "9", "s", "*97")


@pytest.fixture
def staff_phones(fresh: HotlineUnderTest) -> Iterator[list[socket.socket]]:
    """UDP sockets at every staff phone's contact: what Asterisk would ring."""
    sockets = []
    ports = fresh.ports
    for port in (ports.agent1, ports.agent2, ports.oncall1, ports.oncall2):
        sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        sock.bind(("127.0.0.1", port))
        sock.setblocking(False)
        sockets.append(sock)
    try:
        yield sockets
    finally:
        for sock in sockets:
            sock.close()


def _received(sockets: list[socket.socket]) -> list[bytes]:
    packets = []
    for sock in sockets:
        while True:
            try:
                packets.append(sock.recv(65535))
            except BlockingIOError:
                break
    return packets


async def _staff_call(
    fresh: HotlineUnderTest, name: str, number: str, user: str, password: str | None,
    then_expect: int = 403,
) -> sipp.SippRun:
    workdir = fresh.call_dir(name)
    scenario = sipp.render_scenario(
        workdir, name, "staff_auth.xml.j2", user=user, password=password,
        then_expect=then_expect,
    )
    argv = [
        sipp.sipp_binary(), f"127.0.0.1:{fresh.ports.sip}", "-sf", scenario.name, "-s", number,
        "-i", "127.0.0.1", "-p", str(sipp.free_port()), "-mp", str(sipp.free_media_ports()),
        "-m", "1", "-nostdin", "-trace_err", "-error_file", f"{name}_errors.log",
        "-timeout", "30s", "-timeout_error",
    ]  # fmt: skip
    out = open(workdir / f"{name}.out", "wb")  # noqa: SIM115
    try:
        process = await asyncio.create_subprocess_exec(
            *argv, cwd=workdir, stdin=asyncio.subprocess.DEVNULL, stdout=out, stderr=out
        )
    finally:
        out.close()
    return sipp.SippRun(name, workdir, process, argv)


async def test_the_public_context_reaches_only_the_hotline_numbers(
    fresh: HotlineUnderTest, staff_phones: list[socket.socket]
) -> None:
    workdir = fresh.call_dir("public")
    for number in NOT_HOTLINE:
        run = await sipp.call(workdir, fresh.ports.sip, number, name=f"to-{number}", expect=404)
        assert await run.wait(30) == 0, run.log()
    # each refusal came after the dialplan had finished with the call: had it dialled
    # anyone, the INVITE would already be here
    assert _received(staff_phones) == []
    assert "0 active calls" in await fresh.cli("core show channels count")
    # and the context holds nothing else: the lines (and the test's bench line), each
    # ending in Stasis/the fallback, catch-alls that count the refusal and hang up, and
    # `h`, which does nothing
    shown = await fresh.cli("dialplan show hotline-public")
    extensions = {
        line.split("'")[1] for line in shown.splitlines() if line.strip().startswith("'")
    }
    lines = {line.number for line in fresh.config.lines}
    assert lines <= extensions
    bench = {"19999", "199991", "199992", "199993"}  # the test's bench line and baselines
    assert extensions - lines <= bench | {"s", "i", "h", "_[0-9A-Za-z#*+]", "_[0-9A-Za-z#*+]."}
    assert "Dial(" not in shown


async def test_staff_endpoints_need_digest_auth(
    fresh: HotlineUnderTest, staff_phones: list[socket.socket]
) -> None:
    none = await _staff_call(fresh, "no-credentials", "95007", "agent1", None)
    assert await none.wait(30) == 0, none.log()
    wrong = await _staff_call(fresh, "wrong-password", "95007", "agent1", "not-the-password",
                              then_expect=401)
    assert await wrong.wait(30) == 0, wrong.log()
    assert _received(staff_phones) == []


async def test_nothing_dials_out_even_for_an_authenticated_staff_phone(
    fresh: HotlineUnderTest, staff_phones: list[socket.socket]
) -> None:
    password = fresh.stack.secrets.endpoints["agent1"]
    # refused by the staff context: Hangup(21) is 403, an unknown name 404
    for number, refused in (("13900001111", 403), ("agent2", 404), ("95007", 403)):
        run = await _staff_call(fresh, f"staff-to-{number}", number, "agent1", password,
                                then_expect=refused)
        assert await run.wait(30) == 0, run.log()
    assert _received(staff_phones) == []
    assert "0 active calls" in await fresh.cli("core show channels count")


async def test_the_ami_user_may_read_queues_and_reload_and_nothing_more(
    fresh: HotlineUnderTest,
) -> None:
    secrets = fresh.stack.secrets
    manager = Manager(host="127.0.0.1", port=fresh.ports.ami, username=secrets.ami_user,
                      secret=secrets.ami_password, ping_delay=0)
    await manager.connect()
    try:
        status = await manager.send_action({"Action": "QueueStatus"}, as_list=True)
        assert status[0].Response == "Success", status
        reload = await manager.send_action({"Action": "Reload"})
        assert reload.Response == "Success", reload
        for action in (
            {"Action": "Originate", "Channel": "PJSIP/agent1", "Application": "Echo"},
            {"Action": "Command", "Command": "core show version"},
            {"Action": "UpdateConfig", "SrcFilename": "extensions.conf",
             "DstFilename": "extensions.conf", "Action-000000": "NewCat", "Cat-000000": "x"},
            {"Action": "QueuePause", "Interface": "PJSIP/agent1", "Paused": "true"},
        ):
            answer = await manager.send_action(action)
            assert answer.Response == "Error", (action["Action"], answer)
            assert "Permission denied" in answer.Message, (action["Action"], answer)
    finally:
        manager.close()


async def test_an_external_asterisk_reloads_with_those_rights(fresh: HotlineUnderTest) -> None:
    """docker-compose: no control socket, the reload goes over AMI (`Reload`, class
    `system`); it must reach Asterisk's dialplan."""
    assert fresh.controller is not None
    process = fresh.stack.process
    changed = fresh.write_config(capacity="23")
    fresh.stack.process = None  # as AsteriskStack is for an Asterisk it did not start
    try:
        await fresh.stack.reload(changed, fresh.controller.ami)
    finally:
        fresh.stack.process = process
    try:
        shown = await fresh.cli("dialplan show 95007@hotline-public")
        assert "hotline_line)} > 23]" in shown, shown
    finally:
        await fresh.reload()  # the session's base config again
