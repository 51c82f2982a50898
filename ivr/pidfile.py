"""The service's pid file, locked for as long as the service runs.

`hotline run` holds an exclusive `flock` on `data_dir/hotline.pid` from start to exit;
the kernel drops the lock when the process dies, however it dies. So a pid file whose
lock nobody holds is stale (a crashed run left it), and its number may belong to a
stranger by now: `signal_owner` signals only a pid whose file is locked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO

PID_NAME = "hotline.pid"


class AlreadyRunning(RuntimeError):
    def __init__(self, path: Path, pid: int | None) -> None:
        self.pid = pid
        who = f"pid {pid}" if pid else "another process"
        super().__init__(f"a hotline already runs for this data directory ({who} holds {path})")


class NotRunning(RuntimeError):
    pass


def _read_pid(handle: IO[str]) -> int | None:
    handle.seek(0)
    text = handle.read().strip()
    return int(text) if text.isdigit() else None


class PidLock:
    """Held by the running service: `acquire` at start, `release` at exit."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+")  # noqa: SIM115 - held open while the service runs
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            pid = _read_pid(handle)
            handle.close()
            raise AlreadyRunning(self.path, pid) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is None:
            return
        with contextlib.suppress(FileNotFoundError):
            self.path.unlink()
        self._handle.close()  # drops the lock
        self._handle = None


def locked_pid(path: Path) -> int:
    """The pid of the live process that holds `path`'s lock; NotRunning otherwise
    (no file, or a stale one that no live process holds)."""
    try:
        handle = open(path)  # noqa: SIM115
    except FileNotFoundError:
        raise NotRunning(f"no running hotline ({path} does not exist)") from None
    with handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:  # held: its owner is alive
            pid = _read_pid(handle)
            if pid is None:
                raise NotRunning(f"{path} is locked but holds no pid") from None
            return pid
        stale = _read_pid(handle)
        raise NotRunning(
            f"no running hotline: {path} is stale (left by pid {stale}, which no longer "
            "holds it); nothing was signalled"
        )


def signal_owner(path: Path, signum: int) -> int:
    """Send `signum` to the service that holds `path`; returns its pid."""
    pid = locked_pid(path)
    os.kill(pid, signum)
    return pid
