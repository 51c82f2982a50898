"""The documentation pages load nothing from a CDN (issue 12 item 8): Swagger UI and
ReDoc come from the service itself, under a policy that allows only its own origin;
`[service] docs = false` turns them off."""

from __future__ import annotations

import re
from pathlib import Path

import httpx

from ivr.api.app import create_api
from ivr.api.context import ApiServices
from ivr.config import load_config_text
from ivr.journal.store import Store
from ivr.live import LiveState
from tests.unit.test_api_support import EXAMPLE

URL = re.compile(r"""(?:src|href|url)\s*[=:(]\s*["']?([^"')\s>]+)""")


async def _never() -> None:
    raise AssertionError("not called")


def _app(tmp_path: Path, docs: bool) -> httpx.AsyncClient:
    text = EXAMPLE.read_text(encoding="utf-8")
    assert "docs = true" in text
    text = text.replace("docs = true", f"docs = {'true' if docs else 'false'}")
    config = load_config_text(text, tmp_path / "hotline.toml")
    services = ApiServices(
        journal=Store(f"sqlite+aiosqlite:///{tmp_path}/j.sqlite3"), config=lambda: config,
        config_path=tmp_path / "hotline.toml", live=LiveState(), reload=_never,
        voicemail_path=lambda path: path,
    )
    transport = httpx.ASGITransport(app=create_api(services))
    return httpx.AsyncClient(transport=transport, base_url="http://hotline")


async def test_the_docs_pages_load_only_local_assets(tmp_path: Path) -> None:
    async with _app(tmp_path, docs=True) as client:
        for page in ("/docs", "/redoc"):
            response = await client.get(page)
            assert response.status_code == 200
            assert "http://" not in response.text and "https://" not in response.text, page
            assert "default-src 'self'" in response.headers["content-security-policy"]
            assets = [u for u in URL.findall(response.text) if u.startswith("/docs-assets/")]
            assert assets, page
            for asset in assets:
                served = await client.get(asset)
                assert served.status_code == 200, asset
                assert len(served.content) > 1000, asset


async def test_docs_can_be_turned_off(tmp_path: Path) -> None:
    async with _app(tmp_path, docs=False) as client:
        for path in ("/docs", "/redoc", "/docs-assets/swagger-ui-bundle.js"):
            assert (await client.get(path)).status_code == 404, path
        assert (await client.get("/openapi.json")).status_code == 200
