"""Where Asterisk comes from: the system's own, or a cached Debian sid root.

Debian bookworm ships no Asterisk; sid ships 22.x. When no `asterisk` >= 20 is on
PATH we build a minimal sid root with debootstrap once, cache it under
~/.cache/hotline/, and run Asterisk inside it with chroot, sharing the host's
loopback. The cache key is the package list, so changing it rebuilds the root.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import socket
import subprocess
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import structlog

log = structlog.get_logger(__name__)

PACKAGES = (
    "asterisk",
    "asterisk-core-sounds-en-gsm",
    "asterisk-moh-opsound-gsm",
    "sip-tester",
    "espeak-ng",
    "sox",
)
MIN_MAJOR = 20
READY_MARK = ".hotline-ready"
APT_OPTS = ("-o", "Acquire::Check-Valid-Until=false", "-o", "APT::Install-Recommends=false")


class ProvisionError(RuntimeError):
    """Asterisk could not be made available; the message says what to do."""


@dataclass(frozen=True)
class AsteriskInstall:
    """An Asterisk we can start: `root` is "/" for the system's own."""

    root: Path
    version: str

    @property
    def chrooted(self) -> bool:
        return self.root != Path("/")

    def command(self, *args: str) -> list[str]:
        """The argv that runs `asterisk args` inside the root."""
        if self.chrooted:
            return ["chroot", str(self.root), "/usr/sbin/asterisk", *args]
        return [shutil.which("asterisk") or "/usr/sbin/asterisk", *args]

    def host_path(self, inner: Path) -> Path:
        """A path as Asterisk sees it -> the same file seen from the host."""
        if not self.chrooted:
            return inner
        return self.root / inner.relative_to("/")

    def inner_path(self, host: Path) -> Path:
        """A host path under the root -> the path Asterisk sees."""
        if not self.chrooted:
            return host
        return Path("/") / host.resolve().relative_to(self.root.resolve())

    def instances_dir(self, fallback: Path) -> Path:
        """Where instance directories go: inside the root, so Asterisk can see them."""
        if self.chrooted:
            return self.root / "var/lib/hotline"
        return fallback


def cache_dir() -> Path:
    base = os.environ.get("HOTLINE_CACHE") or os.environ.get("XDG_CACHE_HOME")
    return Path(base) / "hotline" if base else Path.home() / ".cache" / "hotline"


def asterisk_version(argv: list[str]) -> str | None:
    try:
        out = subprocess.run([*argv, "-V"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.search(r"Asterisk (\d+)\.[\w.+~-]*", out)
    return match[0] if match else None


def _major(version: str) -> int:
    return int(re.search(r"(\d+)\.", version)[1])  # type: ignore[index]


def system_asterisk() -> AsteriskInstall | None:
    binary = shutil.which("asterisk")
    if not binary:
        return None
    version = asterisk_version([binary])
    if version and _major(version) >= MIN_MAJOR:
        return AsteriskInstall(Path("/"), version)
    return None


def debian_mirror(sources: Path = Path("/etc/apt")) -> str:
    """The Debian mirror this host's apt already uses (we never name one ourselves)."""
    candidates: list[str] = []
    for path in [sources / "sources.list", *sorted((sources / "sources.list.d").glob("*"))]:
        if not path.is_file() or path.suffix not in {".list", ".sources", ""}:
            continue
        text = path.read_text(errors="replace")
        candidates += re.findall(r"^\s*URIs:\s*(\S+)", text, re.MULTILINE)
        candidates += re.findall(r"^\s*deb\s+(?:\[[^]]*\]\s+)?(\S+)", text, re.MULTILINE)
    for uri in candidates:
        if re.search(r"/debian/?$", uri):
            return uri.rstrip("/")
    raise ProvisionError(
        "no Debian mirror found in /etc/apt/sources.list(.d): cannot build the Asterisk root"
    )


def sandbox_root(packages: tuple[str, ...] = PACKAGES) -> Path:
    key = hashlib.sha256(" ".join(sorted(packages)).encode()).hexdigest()[:12]
    return cache_dir() / f"asterisk-sid-{key}"


def provision(
    packages: tuple[str, ...] = PACKAGES,
    prefer_system: bool = True,
    say: Callable[[str], None] = print,
) -> AsteriskInstall:
    """Return a usable Asterisk, building the cached sid root if needed."""
    if prefer_system and os.environ.get("HOTLINE_USE_SANDBOX") != "1":
        found = system_asterisk()
        if found:
            return found
    root = sandbox_root(packages)
    if not (root / READY_MARK).exists():
        say(f"building the Asterisk root in {root} (about a minute, once)")
        build_root(root, packages)
    prepare_root(root)
    version = asterisk_version(["chroot", str(root), "/usr/sbin/asterisk"])
    if not version:
        raise ProvisionError(f"{root} has no working Asterisk; delete it to rebuild")
    return AsteriskInstall(root, version)


def _run(argv: list[str], what: str) -> None:
    result = subprocess.run(argv, capture_output=True, text=True)
    if result.returncode != 0:
        tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
        raise ProvisionError(f"{what} failed ({result.returncode}):\n" + "\n".join(tail))


def build_root(root: Path, packages: tuple[str, ...]) -> None:
    if os.geteuid() != 0:
        raise ProvisionError("building the Asterisk root needs root (debootstrap, chroot)")
    if not shutil.which("debootstrap"):
        raise ProvisionError("debootstrap is missing: apt-get install debootstrap")
    building = root.with_name(root.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.parent.mkdir(parents=True, exist_ok=True)
    mirror = debian_mirror()
    _run(["debootstrap", "--variant=minbase", "sid", str(building), mirror], "debootstrap sid")
    env_install = (
        "export DEBIAN_FRONTEND=noninteractive; "
        f"apt-get {' '.join(APT_OPTS)} update -q && "
        f"apt-get {' '.join(APT_OPTS)} install -y -q {' '.join(packages)} && apt-get clean"
    )
    _run(["chroot", str(building), "/bin/sh", "-c", env_install], "apt-get install in the root")
    (building / READY_MARK).write_text(" ".join(packages) + "\n")
    shutil.rmtree(root, ignore_errors=True)
    building.rename(root)


def prepare_root(root: Path) -> None:
    """Per-machine touches: resolve this host's name locally (PJSIP looks it up per call)."""
    hostname = socket.gethostname()
    hosts = root / "etc/hosts"
    text = hosts.read_text() if hosts.exists() else ""
    if not re.search(rf"\s{re.escape(hostname)}(\s|$)", text):
        hosts.write_text(f"127.0.0.1\tlocalhost\n::1\tlocalhost\n127.0.1.1\t{hostname}\n" + text)
