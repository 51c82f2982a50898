"""API tokens: made by `hotline token create`, shown once, stored as their SHA-256.

A token is `hl_` and 43 URL-safe characters (256 random bits), so a plain SHA-256 is
enough (nothing to brute-force, no salt needed). The store looks a token up by its
hash and confirms it with a constant-time comparison; revocation is immediate, since
every request reads the table (the CLI and the service may be different processes).
A token may carry an expiry (`hotline token create --expires 90d`); past it the token is
refused like a revoked one. `rotate` replaces a token by a new one with the same name,
role and lifetime, and revokes the old one, in one transaction.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import RowMapping, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from ivr.auth.roles import Role
from ivr.auth.tables import TokenRow, tokens_table
from ivr.journal.engine import WRITE

PREFIX = "hl_"
HINT_LENGTH = 8
TOKEN_MAX = 200  # anything longer is not one of ours: refused before hashing
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9 ._@+-]{0,63}")  # fullmatch


class TokenError(ValueError):
    """A token cannot be created or revoked as asked; the message says why."""


@dataclass(frozen=True, slots=True)
class TokenInfo:
    id: int
    name: str
    role: Role
    hint: str
    created_at: datetime
    revoked_at: datetime | None
    expires_at: datetime | None = None

    @property
    def active(self) -> bool:
        return self.revoked_at is None

    def expired(self, now: datetime) -> bool:
        return self.expires_at is not None and self.expires_at <= now


@dataclass(frozen=True, slots=True)
class IssuedToken:
    """A new token: `secret` is shown once and never stored."""

    secret: str
    info: TokenInfo


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is calling the API."""

    token_id: int
    name: str
    role: Role


def new_secret() -> str:
    return PREFIX + secrets.token_urlsafe(32)


def token_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class TokenStore:
    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    async def create(
        self,
        name: str,
        role: Role | str,
        now: datetime,
        expires_in: timedelta | None = None,
    ) -> IssuedToken:
        name = name.strip()
        if not NAME.fullmatch(name):
            raise TokenError(
                f"token name {name[:70]!r} is not valid: 1-64 letters, digits, "
                "spaces or ._@+- starting with a letter or digit"
            )
        try:
            role = Role(role)
        except ValueError as exc:
            roles = ", ".join(r.value for r in Role)
            raise TokenError(f"unknown role {role!r}; use one of {roles}") from exc
        _check_lifetime(expires_in)
        async with self._writing() as conn:
            taken = await conn.execute(
                select(TokenRow.id).where(TokenRow.name == name, TokenRow.revoked_at.is_(None))
            )
            if taken.first() is not None:
                raise TokenError(f"an active token is already named {name!r}; revoke it first")
            return await _insert(conn, name, role, now, expires_in)

    async def rotate(
        self, which: str, now: datetime, expires_in: timedelta | None = None
    ) -> tuple[TokenInfo, IssuedToken]:
        """A new token for the active one with this id or name (same name and role; the
        same lifetime unless `expires_in` is given); the old one is revoked. Returns
        (the old token, the new one)."""
        _check_lifetime(expires_in)
        async with self._writing() as conn:
            found = await _active_by_id_or_name(conn, which)
            if len(found) != 1:
                raise TokenError(f"no single active token with id or name {which.strip()[:70]!r}")
            old = found[0]
            if expires_in is None and old.expires_at is not None:
                expires_in = old.expires_at - old.created_at
            await conn.execute(
                update(tokens_table).where(TokenRow.id == old.id).values(revoked_at=now)
            )
            issued = await _insert(conn, old.name, old.role, now, expires_in)
        revoked = TokenInfo(old.id, old.name, old.role, old.hint, old.created_at, now,
                            old.expires_at)
        return revoked, issued

    async def list_tokens(self, *, include_revoked: bool = False) -> list[TokenInfo]:
        query = select(tokens_table).order_by(TokenRow.id)
        if not include_revoked:
            query = query.where(TokenRow.revoked_at.is_(None))
        async with self.engine.connect() as conn:
            return [_info(row) for row in (await conn.execute(query)).mappings()]

    async def revoke(self, which: str, now: datetime) -> list[TokenInfo]:
        """Revoke the active token with this id or name; returns what was revoked."""
        key = which.strip()
        async with self._writing() as conn:
            found = await _active_by_id_or_name(conn, key)
            if not found:
                raise TokenError(f"no active token with id or name {key[:70]!r}")
            ids = [info.id for info in found]
            await conn.execute(
                update(tokens_table).where(TokenRow.id.in_(ids)).values(revoked_at=now)
            )
        return [
            TokenInfo(i.id, i.name, i.role, i.hint, i.created_at, now, i.expires_at)
            for i in found
        ]

    async def authenticate(self, secret: str, now: datetime | None = None) -> Principal | None:
        """The holder of an active, unexpired token, or None for anything else."""
        if not secret.startswith(PREFIX) or len(secret) > TOKEN_MAX:
            return None
        now = now or datetime.now(UTC)
        digest = token_hash(secret)
        query = select(TokenRow.id, TokenRow.name, TokenRow.role, TokenRow.token_hash).where(
            TokenRow.token_hash == digest,
            TokenRow.revoked_at.is_(None),
            or_(TokenRow.expires_at.is_(None), TokenRow.expires_at > now),
        )
        async with self.engine.connect() as conn:
            row = (await conn.execute(query)).first()
        if row is None or not hmac.compare_digest(row.token_hash, digest):
            return None
        try:
            role = Role(row.role)
        except ValueError:  # a role this version does not know grants nothing
            return None
        return Principal(int(row.id), row.name, role)

    async def check_writable(self) -> None:
        """Raise unless the database takes a write now (for /health/ready): takes the
        write lock and runs an UPDATE that changes no row."""
        async with self._writing() as conn:
            await conn.execute(
                update(tokens_table).where(TokenRow.id < 0).values(name=TokenRow.name)
            )

    @asynccontextmanager
    async def _writing(self) -> AsyncIterator[AsyncConnection]:
        async with self.engine.connect() as conn:
            await conn.execution_options(**{WRITE: True})
            async with conn.begin():
                yield conn


def _info(row: RowMapping) -> TokenInfo:
    return TokenInfo(
        id=int(row["id"]),
        name=row["name"],
        role=Role(row["role"]),
        hint=row["hint"],
        created_at=row["created_at"],
        revoked_at=row["revoked_at"],
        expires_at=row["expires_at"],
    )


def _check_lifetime(expires_in: timedelta | None) -> None:
    if expires_in is not None and expires_in <= timedelta(0):
        raise TokenError("a token's lifetime must be positive")


async def _active_by_id_or_name(conn: AsyncConnection, which: str) -> list[TokenInfo]:
    key = which.strip()
    match = TokenRow.id == int(key) if key.isdigit() else TokenRow.name == key
    rows = await conn.execute(select(tokens_table).where(match, TokenRow.revoked_at.is_(None)))
    return [_info(row) for row in rows.mappings()]


async def _insert(
    conn: AsyncConnection, name: str, role: Role, now: datetime, expires_in: timedelta | None
) -> IssuedToken:
    secret = new_secret()
    expires_at = now + expires_in if expires_in is not None else None
    result = await conn.execute(
        tokens_table.insert().values(
            name=name,
            role=role.value,
            token_hash=token_hash(secret),
            hint=secret[:HINT_LENGTH],
            created_at=now,
            revoked_at=None,
            expires_at=expires_at,
        )
    )
    (token_id,) = result.inserted_primary_key or (0,)
    info = TokenInfo(int(token_id), name, role, secret[:HINT_LENGTH], now, None, expires_at)
    return IssuedToken(secret, info)
