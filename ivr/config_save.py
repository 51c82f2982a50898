"""Saving a new configuration file over the old one, safely: written beside it and
renamed over it (a crash leaves the old file or the new one, never half of one), the
old one kept as `<name>.previous`, both with the old file's mode and owner (a 0600
`hotline.toml` may hold a database password and stays 0600). A directory the service
cannot write (docker-compose mounts /etc/hotline read-only) is said plainly."""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from pathlib import Path

NEW_FILE_MODE = 0o600  # a config that did not exist before: private until the admin says


class ConfigNotSaved(Exception):
    """The file cannot be written where it is; the message says why and what to do."""


def save_config_text(path: Path, text: str) -> None:
    try:
        before = path.stat()
    except FileNotFoundError:
        before = None
    mode = stat.S_IMODE(before.st_mode) if before else NEW_FILE_MODE
    owner = (before.st_uid, before.st_gid) if before else None
    staged = path.with_name(f".{path.name}.uploading")
    try:
        if before is not None:
            _write(path.with_name(path.name + ".previous"), path.read_bytes(), mode, owner)
        _write(staged, text.encode("utf-8"), mode, owner)
        staged.replace(path)
    except OSError as exc:
        with contextlib.suppress(OSError):
            staged.unlink(missing_ok=True)
        raise ConfigNotSaved(_why(path, exc)) from exc


def _write(target: Path, data: bytes, mode: int, owner: tuple[int, int] | None) -> None:
    tmp = target.with_name(f".{target.name}.tmp") if not target.name.startswith(".") else target
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        os.fchmod(fd, mode)  # exactly the old mode, whatever the umask
        if owner is not None and os.geteuid() == 0:
            os.fchown(fd, *owner)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.fsync(fd)
    finally:
        os.close(fd)
    if tmp != target:
        tmp.replace(target)


def _why(path: Path, exc: OSError) -> str:
    directory = path.parent
    if exc.errno == errno.EROFS:
        return (f"cannot save {path}: {directory} is on a read-only file system (docker-compose "
                "mounts it read-only); change the file where it comes from and reload")
    if exc.errno in (errno.EACCES, errno.EPERM):
        return (f"cannot save {path}: the service may not write in {directory}; change the "
                "file there yourself, or give the service write access, and reload")
    return f"cannot save {path}: {exc.strerror or exc}"
