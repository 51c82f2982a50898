"""The service's pid file is locked while it runs: a second run is refused, and only a
pid whose file a live process holds is ever signalled."""

from __future__ import annotations

import os
import signal
from pathlib import Path

import pytest

from ivr.pidfile import AlreadyRunning, NotRunning, PidLock, locked_pid, signal_owner


def test_the_running_service_holds_its_pid_file(tmp_path: Path) -> None:
    path = tmp_path / "data" / "hotline.pid"
    lock = PidLock(path)
    lock.acquire()
    try:
        assert path.read_text().strip() == str(os.getpid())
        assert locked_pid(path) == os.getpid()
        with pytest.raises(AlreadyRunning, match=f"pid {os.getpid()}"):
            PidLock(path).acquire()
    finally:
        lock.release()
    assert not path.exists()
    with pytest.raises(NotRunning, match="does not exist"):
        locked_pid(path)


def test_a_stale_pid_file_is_never_signalled(tmp_path: Path) -> None:
    path = tmp_path / "hotline.pid"
    path.write_text("1\n")  # init: a stranger if ever there was one
    with pytest.raises(NotRunning, match=r"stale .* pid 1,"):
        signal_owner(path, signal.SIGHUP)


def test_a_crashed_runs_file_is_taken_over(tmp_path: Path) -> None:
    path = tmp_path / "hotline.pid"
    path.write_text("999999\n")
    lock = PidLock(path)
    lock.acquire()
    try:
        assert locked_pid(path) == os.getpid()
    finally:
        lock.release()
