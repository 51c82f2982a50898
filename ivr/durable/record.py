"""Reading Asterisk's durable record: CEL as JSON lines (cel_custom) and app_queue's
queue_log (`time|callid|queue|agent|event|data...`). Only whole lines are read (the last
one may still be being written); a line that does not parse is skipped and counted,
never fatal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Generic, TypeVar

import structlog

from ivr.domain.steps import step_time

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class CelRow:
    offset: int  # where the line starts in its file
    eventtype: str
    enum: str  # USER_DEFINED for CELGenUserEvent
    userdeftype: str
    at: datetime
    channame: str
    appname: str
    appdata: str
    uniqueid: str
    linkedid: str
    extra: str


@dataclass(frozen=True, slots=True)
class QueueLogRow:
    offset: int
    at: datetime  # whole seconds: queue_log has no finer time
    callid: str
    queue: str
    agent: str
    event: str
    data: tuple[str, ...]


Row = TypeVar("Row")


@dataclass
class Chunk(Generic[Row]):
    rows: list[Row] = field(default_factory=list)
    end: int = 0  # the offset after the last whole line read
    bad: int = 0  # lines skipped: truncated or corrupt
    cut: bool = False  # stopped at max_bytes: more whole lines follow


def read_lines(
    path: Path, offset: int, max_bytes: int
) -> tuple[list[tuple[int, bytes]], int, bool]:
    """Whole lines from `offset` (0 if the file is now shorter: it was replaced), with
    their offsets; the offset after the last whole line; whether max_bytes cut it."""
    try:
        with path.open("rb") as file:
            size = file.seek(0, 2)
            if offset > size:
                log.warning("durable.file_replaced", path=str(path), offset=offset, size=size)
                offset = 0
            file.seek(offset)
            data = file.read(max_bytes)
    except FileNotFoundError:
        return [], 0, False
    cut = offset + len(data) < size
    lines: list[tuple[int, bytes]] = []
    position = 0
    while True:
        newline = data.find(b"\n", position)
        if newline < 0:
            break
        lines.append((offset + position, data[position:newline]))
        position = newline + 1
    return lines, offset + position, cut


def read_cel(path: Path, offset: int, max_bytes: int = 16 << 20) -> Chunk[CelRow]:
    lines, end, cut = read_lines(path, offset, max_bytes)
    chunk: Chunk[CelRow] = Chunk(end=end, cut=cut)
    for at_offset, line in lines:
        row = _cel_row(at_offset, line)
        if row is None:
            chunk.bad += 1
            log.warning("durable.bad_line", path=str(path), offset=at_offset, line=line[:200])
        else:
            chunk.rows.append(row)
    return chunk


def _cel_row(offset: int, line: bytes) -> CelRow | None:
    if not line.strip():
        return None
    try:
        raw = json.loads(line)
        at = step_time(str(raw["eventtime"]))
        linkedid = str(raw["linkedid"])
        if at is None or not linkedid or not isinstance(raw, dict):
            return None
        return CelRow(
            offset=offset,
            eventtype=str(raw["eventtype"]),
            enum=str(raw.get("eventenum", "")),
            userdeftype=str(raw.get("userdeftype", "")),
            at=at,
            channame=str(raw.get("channame", "")),
            appname=str(raw.get("appname", "")),
            appdata=str(raw.get("appdata", "")),
            uniqueid=str(raw["uniqueid"]),
            linkedid=linkedid,
            extra=str(raw.get("eventextra", "")),
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        return None


def read_queue_log(path: Path, offset: int, max_bytes: int = 16 << 20) -> Chunk[QueueLogRow]:
    lines, end, cut = read_lines(path, offset, max_bytes)
    chunk: Chunk[QueueLogRow] = Chunk(end=end, cut=cut)
    for at_offset, line in lines:
        row = _queue_log_row(at_offset, line)
        if row is None:
            chunk.bad += 1
            log.warning("durable.bad_line", path=str(path), offset=at_offset, line=line[:200])
        else:
            chunk.rows.append(row)
    return chunk


def _queue_log_row(offset: int, line: bytes) -> QueueLogRow | None:
    try:
        parts = line.decode().split("|")
        if len(parts) < 5 or not parts[4]:
            return None
        at = datetime.fromtimestamp(int(parts[0]), UTC)
    except (ValueError, UnicodeDecodeError, OverflowError, OSError):
        return None
    return QueueLogRow(offset, at, parts[1], parts[2], parts[3], parts[4], tuple(parts[5:]))


def cel_extra_field(extra: str, name: str) -> str:
    """A field of a CEL event's extra (JSON), e.g. HANGUP's `hangupcause`; "" if none."""
    try:
        value = json.loads(extra).get(name) if extra else None
    except (ValueError, AttributeError):
        return ""
    return "" if value is None else str(value)
