"""docker-compose mode: the service renders Asterisk's config into a shared directory for
an Asterisk it does not start, and waits for that Asterisk's ARI."""

from __future__ import annotations

from pathlib import Path

import pytest

from ivr import app as app_module
from ivr.app import EXTERNAL_DIR, AsteriskStack
from ivr.asterisk.instance import AsteriskStartError
from ivr.config import load_config

EXAMPLE = Path(__file__).resolve().parents[2] / "hotline.example.toml"


async def test_renders_into_the_shared_directory_then_waits_for_ari(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = load_config(EXAMPLE)
    service = config.service.model_copy(update={"data_dir": tmp_path / "data"})
    asterisk = config.asterisk.model_copy(update={"http_port": 1})  # nothing listens there
    config = config.model_copy(update={"service": service, "asterisk": asterisk})
    shared = tmp_path / "asterisk"
    monkeypatch.setenv(EXTERNAL_DIR, str(shared))
    monkeypatch.setattr(app_module, "EXTERNAL_WAIT", 0.5)
    stack = AsteriskStack(config, EXAMPLE, say=lambda _: None)
    with pytest.raises(AsteriskStartError, match="did not answer"):
        await stack.start()
    conf = (shared / "etc/asterisk.conf").read_text()
    assert f"astetcdir => {shared}/etc" in conf
    assert (shared / "sounds/greeting.wav").exists()
    assert stack.process is None  # someone else runs this Asterisk
