"""An Asterisk pid file counts only when its pid runs Asterisk on this instance's own
asterisk.conf: a stale file never points the service at a stranger."""

from __future__ import annotations

import os
from pathlib import Path

from ivr.asterisk.instance import Instance
from ivr.asterisk.running import (
    PID_FILE,
    Owner,
    find_running,
    is_instance_process,
    read_owner,
    version_number,
    write_owner,
)
from ivr.asterisk.sandbox import AsteriskInstall


def instance(tmp_path: Path) -> Instance:
    return Instance.create(AsteriskInstall(Path("/"), "Asterisk 22.1.0"), "t", tmp_path)


def test_a_pid_file_naming_a_stranger_is_stale(tmp_path: Path) -> None:
    inst = instance(tmp_path)
    assert find_running(inst) is None  # no pid file
    (inst.host / PID_FILE).write_text(f"{os.getpid()}\n")  # a live process, not Asterisk
    assert not is_instance_process(os.getpid(), inst)
    assert find_running(inst) is None
    (inst.host / PID_FILE).write_text("not a pid\n")
    assert find_running(inst) is None


def test_who_started_it_is_written_beside_it(tmp_path: Path) -> None:
    inst = instance(tmp_path)
    assert read_owner(inst) is None
    write_owner(inst, Owner.standalone)
    assert read_owner(inst) is Owner.standalone


def test_versions_compare_without_the_product_name() -> None:
    assert version_number("Asterisk 22.10.1+dfsg+~cs6.17.60671434-1") == (
        "22.10.1+dfsg+~cs6.17.60671434-1"
    )
