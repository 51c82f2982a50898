"""The FastAGI wire protocol over asyncio streams: the request (Asterisk's `agi_*`
header block, the script path and its query), and commands with their `200 result=`
answers (parsed by panoramisk's `parse_agi_result`).

Every read has a deadline, the header block has a size limit and an early EOF ends the
request: nothing a peer sends (or fails to send) can hold a handler or spin the loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from panoramisk.utils import parse_agi_result

HEADER_LIMIT = 16 * 1024  # a real header block is well under 2 KiB
READ_TIMEOUT = 5.0  # seconds for the header block and for each command's answer


class AgiError(Exception):
    """The request could not be read, or Asterisk refused a command."""


class ChannelGone(AgiError):
    """Asterisk said HANGUP: the caller left while the script ran."""


@dataclass(frozen=True)
class AgiRequest:
    headers: dict[str, str]
    path: str  # "route", "journal"
    params: dict[str, str] = field(default_factory=dict)

    @property
    def channel(self) -> str:
        return self.headers.get("agi_channel", "")

    @property
    def uniqueid(self) -> str:
        return self.headers.get("agi_uniqueid", "")

    @property
    def caller(self) -> str:
        return self.headers.get("agi_callerid", "")


def parse_request(block: str) -> AgiRequest:
    headers: dict[str, str] = {}
    for line in block.splitlines():
        name, sep, value = line.partition(": ")
        if sep and name.startswith("agi_"):
            headers[name] = value
    script = headers.get("agi_network_script", "")
    url = urlsplit("/" + script.lstrip("/"))
    params = {k.lower(): v for k, v in parse_qsl(url.query, keep_blank_values=True)}
    return AgiRequest(headers, url.path.strip("/"), params)


async def read_request(reader: asyncio.StreamReader) -> AgiRequest:
    """The header block, up to the empty line that ends it."""
    lines: list[str] = []
    size = 0
    async with asyncio.timeout(READ_TIMEOUT):
        while True:
            raw = await reader.readline()
            if not raw:
                raise AgiError("connection closed before the AGI headers ended")
            size += len(raw)
            if size > HEADER_LIMIT:
                raise AgiError("AGI header block too large")
            line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
            if not line:
                break
            lines.append(line)
    request = parse_request("\n".join(lines))
    if "agi_network_script" not in request.headers:
        raise AgiError("no agi_network_script header: not a FastAGI request")
    return request


def quote(value: str) -> str:
    """An AGI command argument: in double quotes, with quotes and backslashes escaped,
    and no line break (which would end the command)."""
    clean = value.replace("\r", " ").replace("\n", " ")
    return '"' + clean.replace("\\", "\\\\").replace('"', '\\"') + '"'


class AgiChannel:
    """Commands to the channel whose AGI request this is."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def command(self, text: str) -> str:
        """Send one command; returns the text after `200 result=` (value in parentheses
        included), raises ChannelGone or AgiError otherwise."""
        self.writer.write(text.encode() + b"\n")
        await self.writer.drain()
        async with asyncio.timeout(READ_TIMEOUT):
            while True:
                raw = await self.reader.readline()
                if not raw:
                    raise ChannelGone("connection closed")
                line = raw.decode("utf-8", errors="replace").rstrip("\r\n")
                if line == "HANGUP":  # sent once when the caller hangs up; answers follow
                    continue
                result = parse_agi_result(line)
                if result.get("status_code") == 100:
                    continue
                break
        if result.get("error") == "AGIResultHangup" or result.get("status_code") == 511:
            raise ChannelGone(line)
        if "error" in result:
            raise AgiError(f"{text.split()[0]}: {line}")
        return line.partition("result=")[2]

    async def get(self, expression: str) -> str:
        """`GET FULL VARIABLE`: a variable or function, e.g. `${CHANNEL(linkedid)}`."""
        answer = await self.command(f"GET FULL VARIABLE {quote(expression)}")
        if not answer.startswith("1"):
            return ""  # result=0: not set
        start, end = answer.find("("), answer.rfind(")")
        return answer[start + 1 : end] if 0 <= start < end else ""

    async def set(self, name: str, value: str) -> None:
        await self.command(f"SET VARIABLE {name} {quote(value)}")
