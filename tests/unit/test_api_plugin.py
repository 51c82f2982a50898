"""The service's API, built from what the composition root owns (config, clock, live
view, ARI, the Asterisk stack, the journal); recordings mapped from Asterisk's view to
the host's, never outside the voicemail directory; the callback sync runs until stopped."""

from __future__ import annotations

import asyncio
from pathlib import Path
from types import SimpleNamespace

import httpx
import pytest

from ivr.api.plugin import build_api, voicemail_mapper
from ivr.app import ControllerLiveView
from ivr.clock import FixedClock
from ivr.config import load_config
from ivr.journal.store import Store
from ivr.live import LiveState
from tests.unit.test_api_support import NOW, config_file, voicemail

INNER = Path("/var/lib/hotline/run-x")
INNER_B = Path("/var/lib/hotline/run-x-b")


def fake_stack(tmp_path: Path) -> SimpleNamespace:
    host = tmp_path / "instance"
    (host / "spool/voicemail").mkdir(parents=True)
    instance = SimpleNamespace(
        voicemail=host / "spool/voicemail",
        to_host=lambda inner: host / Path(inner).relative_to(INNER),
    )
    return SimpleNamespace(instance=instance)


def test_recordings_map_into_the_voicemail_directory_only(tmp_path: Path) -> None:
    stack = fake_stack(tmp_path)
    mapped = voicemail_mapper(stack)  # type: ignore[arg-type]
    assert mapped(INNER / "spool/voicemail/1.wav") == (
        tmp_path / "instance/spool/voicemail/1.wav"
    ).resolve()
    for outside in (INNER / "spool/voicemail/../../etc/pjsip.conf", INNER / "etc/x.wav"):
        with pytest.raises(ValueError):
            mapped(outside)
    with pytest.raises(RuntimeError):
        voicemail_mapper(SimpleNamespace(instance=None))  # type: ignore[arg-type]


async def test_the_api_of_the_running_service(tmp_path: Path) -> None:
    config = load_config(config_file(tmp_path))
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/journal.sqlite3")
    await store.migrate()
    await store.ingest(voicemail("c1").events)
    connected = asyncio.Event()
    connected.set()
    controller = SimpleNamespace(
        config=config,
        clock=FixedClock(NOW),
        live=LiveState(),
        flow=SimpleNamespace(calls={}),
        ari=SimpleNamespace(connected=connected),
        ami=SimpleNamespace(connected=True),
    )
    reloads: list[int] = []

    async def reload() -> None:
        reloads.append(1)

    api = build_api(
        config=lambda: config, clock=FixedClock(NOW),
        live=ControllerLiveView(lambda: controller),  # type: ignore[arg-type,return-value]
        ari=controller.ari, stack=fake_stack(tmp_path), journal=store,  # type: ignore[arg-type]
        config_path=tmp_path / "hotline.toml", reload=reload,
    )
    try:
        api.start()
        for _ in range(100):
            if api.callbacks.owed()["normal"]:
                break
            await asyncio.sleep(0.02)
        assert api.callbacks.owed() == {"emergency": 0, "repair": 0, "normal": 1}
        transport = httpx.ASGITransport(app=api.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://hotline") as client:
            ready = await client.get("/health/ready")
            assert ready.status_code == 200 and ready.json()["ready"] is True
    finally:
        await api.stop()
        await store.close()


def test_several_nodes_recordings_map_into_their_own_voicemail_directories(
    tmp_path: Path,
) -> None:
    node_a, node_b = fake_stack(tmp_path / "a"), fake_stack(tmp_path / "b")
    node_b.instance.to_host = lambda inner: (
        tmp_path / "b/instance" / Path(inner).relative_to(INNER_B)
    )
    mapped = voicemail_mapper(node_a, node_b)  # type: ignore[arg-type]
    assert mapped(INNER / "spool/voicemail/1.wav") == (
        tmp_path / "a/instance/spool/voicemail/1.wav"
    ).resolve()
    assert mapped(INNER_B / "spool/voicemail/2.wav") == (
        tmp_path / "b/instance/spool/voicemail/2.wav"
    ).resolve()
    with pytest.raises(ValueError):
        mapped(INNER_B / "etc/pjsip.conf")
