"""The Asterisk sandbox reads the mirror from the host's apt sources, never names one."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr.asterisk.sandbox import AsteriskInstall, ProvisionError, debian_mirror, prepare_root


def test_mirror_from_deb822_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list.d").mkdir()
    (tmp_path / "sources.list.d" / "debian.sources").write_text(
        "Types: deb\nURIs: http://mirror.example/debian\nSuites: bookworm\n\n"
        "Types: deb\nURIs: http://mirror.example/debian-security\nSuites: bookworm-security\n"
    )
    assert debian_mirror(tmp_path) == "http://mirror.example/debian"


def test_mirror_from_one_line_sources(tmp_path: Path) -> None:
    (tmp_path / "sources.list").write_text(
        "deb [arch=amd64] http://other.example/debian/ bookworm main\n"
    )
    assert debian_mirror(tmp_path) == "http://other.example/debian"


def test_no_mirror_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(ProvisionError, match="no Debian mirror"):
        debian_mirror(tmp_path)


def test_the_hostname_resolves_inside_the_root(tmp_path: Path) -> None:
    (tmp_path / "etc").mkdir()
    prepare_root(tmp_path)
    prepare_root(tmp_path)  # idempotent
    import socket

    hosts = (tmp_path / "etc/hosts").read_text()
    assert hosts.count(socket.gethostname()) == 1


def test_paths_map_between_host_and_root(tmp_path: Path) -> None:
    install = AsteriskInstall(tmp_path, "Asterisk 22.10.1")
    inner = Path("/var/lib/hotline/x/sounds/a")
    assert install.host_path(inner) == tmp_path / "var/lib/hotline/x/sounds/a"
    assert install.inner_path(tmp_path / "var/lib/hotline/x") == Path("/var/lib/hotline/x")
    assert install.command("-V")[:3] == ["chroot", str(tmp_path), "/usr/sbin/asterisk"]
