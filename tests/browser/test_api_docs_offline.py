"""API docs (Swagger UI and ReDoc) render with every non-loopback request refused (issue 17).

The stock FastAPI pages load their scripts from a CDN, so a clinic without internet saw a
blank page; these are served from the fastapi-offline package's own files.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests.browser.console_site import Site, serve

pytestmark = pytest.mark.e2e


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    yield from serve(tmp_path)


def test_docs_render_offline(site: Site, chromium: Any, tmp_path: Path) -> None:
    outside: list[str] = []

    def only_loopback(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            outside.append(route.request.url)
            route.abort()

    page = chromium.new_page()
    page.route("**/*", only_loopback)
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{site.url}/docs")
        page.wait_for_selector(".swagger-ui .info .title", timeout=15_000)
        assert "Puente hub" in page.inner_text(".swagger-ui .info .title")
        assert page.locator(".opblock-tag").count() > 3  # the API's tags are listed
        page.screenshot(path=str(tmp_path / f"swagger-{width}.png"))
        page.goto(f"{site.url}/redoc")
        page.wait_for_selector("h1", timeout=15_000)
        assert "Puente hub" in page.inner_text("h1")
        page.screenshot(path=str(tmp_path / f"redoc-{width}.png"))
    assert outside == []
