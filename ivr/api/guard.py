"""What every request passes before the application reads a byte of its body (the
process also runs call control, so a request must not be able to eat its memory):

1. a body larger than its route allows is refused with 413: at once when
   Content-Length says so, and when a streamed (chunked) body passes the limit;
2. an `/api` request needs a valid token before anything else (401): an anonymous body
   is never read or parsed. The holder is kept for the route's role check (403).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ivr.auth.tokens import Principal

DEFAULT_BODY_LIMIT = 64 * 1024  # JSON bodies of the callbacks and voicemail routes
PRINCIPAL = "principal"  # where the token's holder goes in request.state
CHALLENGE = (b"www-authenticate", b"Bearer")

Authenticate = Callable[[Scope, str], Awaitable[Principal | None]]


class Unavailable(Exception):
    """Raised by `authenticate` when it cannot tell (the database is away): 503."""


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {_size(limit)}")


def _size(limit: int) -> str:
    return f"{limit // 1024} KiB" if limit % 1024 == 0 else f"{limit} bytes"


class RequestGuard:
    """ASGI middleware: body limits, then authentication of /api requests."""

    def __init__(
        self,
        app: ASGIApp,
        authenticate: Authenticate,
        limits: Mapping[str, int] | None = None,
        default_limit: int = DEFAULT_BODY_LIMIT,
        protected_prefix: str = "/api",
    ) -> None:
        self.app = app
        self.authenticate = authenticate
        self.limits = dict(limits or {})  # path -> its own limit
        self.default_limit = default_limit
        self.protected_prefix = protected_prefix

    def limit_for(self, path: str) -> int:
        return self.limits.get(path, self.default_limit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        limit = self.limit_for(path)
        headers = Headers(scope=scope)
        declared = headers.get("content-length")
        if declared is not None:
            if not declared.isdigit():
                await _answer(send, 400, "Content-Length is not a number")
                return
            if int(declared) > limit:
                await _answer(send, 413, BodyTooLarge(limit).detail)
                return
        if path == self.protected_prefix or path.startswith(self.protected_prefix + "/"):
            try:
                refusal = await self._refusal(scope, headers)
            except Unavailable as exc:
                await _answer(send, 503, str(exc))
                return
            if refusal is not None:
                await _answer(send, 401, refusal, CHALLENGE)
                return
        await self._limited(scope, receive, send, limit)

    async def _refusal(self, scope: Scope, headers: Headers) -> str | None:
        """Why the request may not go on (None: it may; the holder is in its state)."""
        authorization = headers.get("authorization")
        if authorization is None:
            return "an API token is needed: Authorization: Bearer <token>"
        scheme, _, secret = authorization.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            return "an API token is needed: Authorization: Bearer <token>"
        principal = await self.authenticate(scope, secret.strip())
        if principal is None:
            return "the token is not valid (unknown, expired or revoked)"
        scope.setdefault("state", {})[PRINCIPAL] = principal
        return None

    async def _limited(self, scope: Scope, receive: Receive, send: Send, limit: int) -> None:
        received = 0
        started = False

        async def counting_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def watching_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counting_receive, watching_send)
        except BodyTooLarge as exc:  # read outside a route's error handling
            if started:
                raise
            await _answer(send, 413, exc.detail)


async def _answer(
    send: Send, status: int, detail: str, *extra: tuple[bytes, bytes]
) -> None:
    """The API's problem answer, `{"detail": ..., "problems": []}`; the connection closes
    (the unread body is not waited for)."""
    body = json.dumps({"detail": detail, "problems": []}).encode()
    headers: list[Any] = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"connection", b"close"),
        *extra,
    ]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
