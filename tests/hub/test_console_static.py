"""The console's style sheets and scripts are referenced by content-hashed URLs and served
cacheable, so a page loaded while the hub is busy does not wait on a round of conditional
requests for them; a changed file gets a new URL."""

from __future__ import annotations

import hashlib
import re

from fastapi.testclient import TestClient

from hub.web import STATIC


def test_pages_name_static_files_by_content_and_those_are_cacheable(client: TestClient) -> None:
    page = client.get("/console/login").text
    found = re.search(r'href="(/console/static/console\.css\?v=([0-9a-f]{12}))"', page)
    assert found, page[:600]
    url, version = found.groups()
    assert version == hashlib.sha256((STATIC / "console.css").read_bytes()).hexdigest()[:12]
    cached = client.get(url)
    assert cached.status_code == 200
    assert cached.headers["cache-control"] == "public, max-age=86400, immutable"
    plain = client.get("/console/static/console.css")
    assert plain.status_code == 200 and "immutable" not in plain.headers.get("cache-control", "")
    assert client.get("/console/static/no-such.css?v=0").status_code == 404
