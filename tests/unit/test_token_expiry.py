"""Tokens may expire (issue 12 item 7): `--expires 90d` at creation, shown in `token
list`, enforced on every request; `hotline token rotate` replaces a token at once."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from ivr.auth.durations import parse_duration
from ivr.auth.roles import Role
from ivr.auth.tokens import PREFIX, TokenError, TokenStore
from ivr.cli import app as cli
from ivr.journal.store import Store
from tests.unit.test_api_support import NOW, Harness, config_file, harness

T0 = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)
DAY = timedelta(days=1)


@pytest.fixture
async def tokens(tmp_path: Path) -> AsyncIterator[TokenStore]:
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/journal.sqlite3")
    await store.migrate()
    yield TokenStore(store.engine)
    await store.close()


async def test_a_token_works_until_it_expires(tokens: TokenStore) -> None:
    issued = await tokens.create("wallboard", "viewer", T0, 90 * DAY)
    assert issued.info.expires_at == T0 + 90 * DAY
    assert await tokens.authenticate(issued.secret, T0 + 89 * DAY) is not None
    assert await tokens.authenticate(issued.secret, T0 + 90 * DAY) is None
    forever = await tokens.create("kiosk", "viewer", T0)
    assert forever.info.expires_at is None
    assert await tokens.authenticate(forever.secret, T0 + 3650 * DAY) is not None
    with pytest.raises(TokenError, match="positive"):
        await tokens.create("never", "viewer", T0, -DAY)


async def test_rotate_revokes_the_old_token_and_keeps_name_role_and_lifetime(
    tokens: TokenStore,
) -> None:
    first = await tokens.create("alice", "supervisor", T0, 30 * DAY)
    later = T0 + 10 * DAY
    old, new = await tokens.rotate("alice", later)
    assert old.id == first.info.id and old.revoked_at == later
    assert new.info.name == "alice" and new.info.role is Role.supervisor
    assert new.info.expires_at == later + 30 * DAY
    assert await tokens.authenticate(first.secret, later) is None
    assert (await tokens.authenticate(new.secret, later)) is not None
    _, shorter = await tokens.rotate(str(new.info.id), later, DAY)
    assert shorter.info.expires_at == later + DAY
    with pytest.raises(TokenError, match="no single active token"):
        await tokens.rotate("bob", later)


@pytest.fixture
async def api(tmp_path: Path) -> AsyncIterator[Harness]:
    async with harness(tmp_path) as h:
        yield h


async def test_the_api_refuses_an_expired_token(api: Harness) -> None:
    store: TokenStore = api.app.state.hotline.tokens
    expired = await store.create("old", "admin", NOW - 2 * DAY, DAY)
    valid = await store.create("new", "admin", NOW - 2 * DAY, 3 * DAY)
    refused = await api.client.get(
        "/api/reports/day?day=2026-11-03", headers={"Authorization": f"Bearer {expired.secret}"}
    )
    assert refused.status_code == 401
    assert "expired" in refused.json()["detail"]
    accepted = await api.client.get(
        "/api/reports/day?day=2026-11-03", headers={"Authorization": f"Bearer {valid.secret}"}
    )
    assert accepted.status_code == 200


def test_parse_duration() -> None:
    assert parse_duration("90d") == 90 * DAY
    assert parse_duration("12w") == 84 * DAY
    assert parse_duration("36h") == timedelta(hours=36)
    for bad in ("90", "d", "0d", "90dd", "-1d", "999999d", "1y"):
        with pytest.raises(ValueError):
            parse_duration(bad)


def test_the_cli_creates_lists_and_rotates_expiring_tokens(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    runner = CliRunner()
    created = runner.invoke(cli, ["token", "create", "--role", "viewer", "--name", "wall",
                                  "--expires", "90d", "-c", str(config)])
    assert created.exit_code == 0, created.output
    first = created.stdout.strip()
    assert first.startswith(PREFIX) and "expires 20" in created.stderr
    listed = runner.invoke(cli, ["token", "list", "-c", str(config)])
    assert "expires (UTC)" in listed.stdout
    expected = (datetime.now(UTC) + 90 * DAY).strftime("%Y-%m-%d")
    assert expected in listed.stdout or (
        (datetime.now(UTC) + 90 * DAY - timedelta(minutes=1)).strftime("%Y-%m-%d")
        in listed.stdout
    )
    rotated = runner.invoke(cli, ["token", "rotate", "wall", "-c", str(config)])
    assert rotated.exit_code == 0, rotated.output
    second = rotated.stdout.strip()
    assert second.startswith(PREFIX) and second != first
    assert "revoked now" in rotated.stderr
    everything = runner.invoke(cli, ["token", "list", "--all", "-c", str(config)]).stdout
    assert everything.count("wall") == 2
    bad = runner.invoke(cli, ["token", "create", "--role", "viewer", "--name", "x",
                              "--expires", "soon", "-c", str(config)])
    assert bad.exit_code == 2 and "not a duration" in bad.stderr
