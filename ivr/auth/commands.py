"""What `hotline token create|list|revoke` do, behind the thin typer commands."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta

from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from ivr.auth.tokens import IssuedToken, TokenInfo, TokenStore
from ivr.config import HotlineConfig
from ivr.journal.engine import database_url, make_engine
from ivr.journal.migrate import upgrade_engine


class DatabaseUnavailable(RuntimeError):
    """The database holding the tokens cannot be used."""


async def create_token(
    config: HotlineConfig, name: str, role: str, expires_in: timedelta | None = None
) -> IssuedToken:
    async with _tokens(config) as tokens:
        return await tokens.create(name, role, datetime.now(UTC), expires_in)


async def rotate_token(
    config: HotlineConfig, which: str, expires_in: timedelta | None = None
) -> tuple[TokenInfo, IssuedToken]:
    async with _tokens(config) as tokens:
        return await tokens.rotate(which, datetime.now(UTC), expires_in)


async def list_tokens(config: HotlineConfig, include_revoked: bool) -> list[TokenInfo]:
    async with _tokens(config) as tokens:
        return await tokens.list_tokens(include_revoked=include_revoked)


async def revoke_token(config: HotlineConfig, which: str) -> list[TokenInfo]:
    async with _tokens(config) as tokens:
        return await tokens.revoke(which, datetime.now(UTC))


def render_tokens(tokens: list[TokenInfo], now: datetime | None = None) -> str:
    if not tokens:
        return "no tokens"
    now = now or datetime.now(UTC)
    rows = [("id", "name", "role", "starts with", "created (UTC)", "expires (UTC)",
             "revoked (UTC)")]
    for t in tokens:
        expires = t.expires_at.strftime("%Y-%m-%d %H:%M") if t.expires_at else "never"
        if t.expired(now) and t.active:
            expires += " (expired)"
        rows.append(
            (
                str(t.id),
                t.name,
                t.role.value,
                t.hint + "...",
                t.created_at.strftime("%Y-%m-%d %H:%M"),
                expires,
                t.revoked_at.strftime("%Y-%m-%d %H:%M") if t.revoked_at else "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()
        for row in rows
    )


@asynccontextmanager
async def _tokens(config: HotlineConfig) -> AsyncIterator[TokenStore]:
    url = database_url(config)
    where = make_url(url).render_as_string(hide_password=True)
    engine = make_engine(url)
    try:
        await upgrade_engine(engine)
        yield TokenStore(engine)
    except (SQLAlchemyError, OSError) as exc:
        raise DatabaseUnavailable(f"cannot use the database at {where}: {exc}") from exc
    finally:
        await engine.dispose()
