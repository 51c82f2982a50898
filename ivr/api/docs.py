"""The API's documentation pages, /docs (Swagger UI) and /redoc, with their scripts and
styles served by the service itself from the `fastapi-offline` package: the page where
admins paste tokens loads no code from a CDN. `[service] docs = false` turns the pages
and their assets off (production); /openapi.json stays for API clients."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi_offline import FastAPIOffline
from starlette.types import ASGIApp, Message, Receive, Scope, Send

ASSETS = "/docs-assets"
PAGES = ("/docs", "/redoc")
# what the pages may load: their own origin only
CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
)


def api_application(docs: bool, **kwargs: Any) -> FastAPI:
    """The FastAPI application, with local documentation pages or none."""
    if not docs:
        return FastAPI(docs_url=None, redoc_url=None, **kwargs)
    app = FastAPIOffline(static_url=ASSETS, favicon_url=f"{ASSETS}/favicon.png", **kwargs)

    app.add_middleware(DocsPolicy)
    return app


class DocsPolicy:
    """ASGI middleware: the documentation pages carry the CSP above."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in PAGES:
            await self.app(scope, receive, send)
            return

        async def with_policy(message: Message) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [*message.get("headers", []),
                                      (b"content-security-policy", CSP.encode())]
            await send(message)

        await self.app(scope, receive, with_policy)
