"""API tokens: shown once, stored as a hash, checked in constant time, revoked at
once; roles include one another; a viewer sees caller numbers masked (R10)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from ivr.auth.roles import Role, mask_number, shown_number
from ivr.auth.tables import tokens_table
from ivr.auth.tokens import PREFIX, TokenError, TokenStore, token_hash
from ivr.cli import app as cli
from ivr.journal.store import Store
from tests.unit.test_api_support import config_file

NOW = datetime(2026, 11, 3, 2, 0, tzinfo=UTC)


@pytest.fixture
async def tokens(tmp_path: Path) -> TokenStore:
    store = Store(f"sqlite+aiosqlite:///{tmp_path}/journal.sqlite3")
    await store.migrate()
    return TokenStore(store.engine)


async def test_a_new_token_is_returned_once_and_only_its_hash_is_stored(
    tokens: TokenStore,
) -> None:
    issued = await tokens.create("wallboard", "viewer", NOW)
    assert issued.secret.startswith(PREFIX) and len(issued.secret) >= 40
    async with tokens.engine.connect() as conn:
        rows = [dict(row) for row in (await conn.execute(select(tokens_table))).mappings()]
    assert len(rows) == 1
    assert rows[0]["token_hash"] == token_hash(issued.secret)
    assert all(issued.secret not in str(value) for value in rows[0].values())
    assert rows[0]["hint"] == issued.secret[:8]


async def test_the_token_names_its_holder_and_role(tokens: TokenStore) -> None:
    issued = await tokens.create("alice", Role.supervisor, NOW)
    who = await tokens.authenticate(issued.secret)
    assert who is not None
    assert (who.name, who.role, who.token_id) == ("alice", Role.supervisor, issued.info.id)


@pytest.mark.parametrize(
    "attempt",
    ["", "hl_", "hl_wrong", "Bearer", "x" * 5000, "hl_" + "a" * 300, "hl_\x00\u202e"],
)
async def test_anything_but_an_issued_token_is_nobody(tokens: TokenStore, attempt: str) -> None:
    await tokens.create("alice", Role.admin, NOW)
    assert await tokens.authenticate(attempt) is None


async def test_a_revoked_token_stops_working_at_once(tokens: TokenStore) -> None:
    issued = await tokens.create("alice", Role.admin, NOW)
    revoked = await tokens.revoke("alice", NOW)
    assert [info.name for info in revoked] == ["alice"]
    assert await tokens.authenticate(issued.secret) is None
    assert await tokens.list_tokens() == []
    assert [t.active for t in await tokens.list_tokens(include_revoked=True)] == [False]
    with pytest.raises(TokenError, match="no active token"):
        await tokens.revoke("alice", NOW)
    again = await tokens.create("alice", Role.admin, NOW)  # the name is free again
    assert await tokens.authenticate(again.secret) is not None


async def test_revoke_by_id(tokens: TokenStore) -> None:
    first = await tokens.create("a", Role.viewer, NOW)
    second = await tokens.create("b", Role.viewer, NOW)
    await tokens.revoke(str(first.info.id), NOW)
    assert [t.name for t in await tokens.list_tokens()] == ["b"]
    assert await tokens.authenticate(second.secret) is not None


@pytest.mark.parametrize(
    ("name", "role", "message"),
    [
        ("", "admin", "not valid"),
        (" spaces only ", "nobody", "unknown role"),
        ("x" * 65, "admin", "not valid"),
        ("-dash", "admin", "not valid"),
        ("tab\there", "admin", "not valid"),
    ],
)
async def test_bad_names_and_roles_are_refused(
    tokens: TokenStore, name: str, role: str, message: str
) -> None:
    with pytest.raises(TokenError, match=message):
        await tokens.create(name, role, NOW)
    assert await tokens.list_tokens(include_revoked=True) == []


async def test_two_active_tokens_may_not_share_a_name(tokens: TokenStore) -> None:
    await tokens.create("alice", Role.admin, NOW)
    with pytest.raises(TokenError, match="already named"):
        await tokens.create("alice", Role.viewer, NOW)


async def test_the_database_answers_the_writability_check(tokens: TokenStore) -> None:
    await tokens.check_writable()


def test_roles_include_one_another() -> None:
    assert Role.admin.allows(Role.supervisor) and Role.admin.allows(Role.viewer)
    assert Role.supervisor.allows(Role.viewer) and not Role.supervisor.allows(Role.admin)
    assert not Role.viewer.allows(Role.supervisor)
    assert Role.agent.allows(Role.viewer) and not Role.agent.allows(Role.supervisor)
    # an agent sees numbers in clear only on the desk and in their own calls' orders
    assert [r.sees_numbers for r in Role] == [False, False, True, True]


@pytest.mark.parametrize(
    ("number", "masked"),
    [
        ("13812348000", "138****8000"),
        ("+8613812348000", "+861******8000"),
        ("02164441234", "021****1234"),
        ("88886666", "88****66"),
        ("95007", "****7"),
        ("1", "*"),
        ("", ""),
    ],
)
def test_masked_numbers_keep_their_length_and_hide_the_middle(number: str, masked: str) -> None:
    assert mask_number(number) == masked
    assert len(masked) == len(number)
    assert shown_number(number, Role.viewer) == masked
    assert shown_number(number, Role.supervisor) == number


def test_the_cli_prints_a_token_once_and_lists_only_its_start(tmp_path: Path) -> None:
    config = config_file(tmp_path)
    runner = CliRunner()
    created = runner.invoke(
        cli, ["token", "create", "--role", "supervisor", "--name", "alice", "-c", str(config)]
    )
    assert created.exit_code == 0, created.output
    secret = created.stdout.strip()
    assert secret.startswith(PREFIX)
    listed = runner.invoke(cli, ["token", "list", "-c", str(config)])
    assert listed.exit_code == 0
    assert "alice" in listed.stdout and "supervisor" in listed.stdout
    assert secret not in listed.stdout and secret[:8] in listed.stdout
    bad = runner.invoke(cli, ["token", "create", "--role", "root", "--name", "x", "-c",
                              str(config)])
    assert bad.exit_code == 2 and "unknown role" in bad.stderr
    revoked = runner.invoke(cli, ["token", "revoke", "alice", "-c", str(config)])
    assert revoked.exit_code == 0 and "revoked token 1 'alice'" in revoked.stdout
    gone = runner.invoke(cli, ["token", "revoke", "alice", "-c", str(config)])
    assert gone.exit_code == 2
