"""Every console page at 1366 and 390 px: no page wider than the screen (issue 17)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.browser.console_site import STATION, Site, check_widths, serve, sign_in, utc

pytestmark = pytest.mark.e2e

CASE, PATIENT = "CASE-0001", "1234567890101"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    yield from serve(tmp_path)


def test_every_page_fits(site: Site, chromium: Any, tmp_path: Path) -> None:
    site.open_case(CASE, PATIENT)
    at = utc(2026, 12, 1, 2, 30)
    site.ingest(
        site.confirmation(CASE, PATIENT, at),
        site.vitals(CASE, PATIENT, at, {"spo2": 97, "heart_rate": 72, "body_temperature": 36.8}),
    )
    shots = tmp_path / "shots"
    page = chromium.new_page()
    check_widths(page, f"{site.url}/console/login", "login", shots)
    sign_in(page, site.url, "oscar")
    for path in ("/", "/fleet", f"/stations/{STATION}", "/import", "/users", "/audit"):
        check_widths(page, f"{site.url}/console{path}", "ops" + path.replace("/", "-"), shots)
    page.click("form[action='/console/logout'] button")
    sign_in(page, site.url, "ana")
    for path in ("/", "/cases", f"/cases/{CASE}", f"/cases/{CASE}/live", "/fleet"):
        check_widths(page, f"{site.url}/console{path}", "clin" + path.replace("/", "-"), shots)
