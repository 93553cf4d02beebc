"""The view audit: filter by user, case and date (local days), export CSV (issue 17)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from hub.storage.case_views import SQLiteCaseViews
from tests.browser.console_site import Site, check_widths, serve, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    yield from serve(tmp_path)


def test_audit_filters_and_csv(site: Site, chromium: Any, tmp_path: Path) -> None:
    log = SQLiteCaseViews(site.store)
    # 20:30 on 30/11 in Guatemala is 02:30 UTC on 01/12: it belongs to the local 30/11.
    log.record("ana", "clinician", "CASE-1", "case", "10.0.0.5", "2026-12-01T02:30:00.000000Z")
    log.record("ana", "clinician", "CASE-2", "live", "10.0.0.5", "2026-12-01T15:00:00.000000Z")
    log.record(
        "luis",
        "clinician",
        "CASE-1",
        "document:" + "ab" * 32,
        "10.0.0.6",
        "2026-11-29T12:00:00.000000Z",
    )
    page = chromium.new_page()
    sign_in(page, site.url, "oscar")
    page.goto(f"{site.url}/console/audit")
    assert page.locator("#case-views tbody tr").count() == 3
    assert "Documento abababababab…" in page.inner_text("#case-views")
    assert "document:" not in page.inner_text("#case-views")
    page.fill("#a-viewer", "ana")
    page.fill("#a-since", "2026-11-30")
    page.fill("#a-until", "2026-11-30")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_load_state()
    rows = page.locator("#case-views tbody tr")
    assert rows.count() == 1
    assert rows.nth(0).locator("td").nth(0).inner_text() == "30/11/2026 20:30:00"
    page.goto(f"{site.url}/console/audit?case=CASE-1")
    assert page.locator("#case-views tbody tr").count() == 2
    # CSV of the same filter, through the page's own link (the browser's cookie).
    with page.expect_download() as info:
        page.click("#audit-csv")
    text = Path(info.value.path()).read_text(encoding="utf-8")
    table = list(csv.DictReader(io.StringIO(text)))
    assert [r["viewer"] for r in table] == ["luis", "ana"]  # newest recorded first
    assert table[1]["viewed_at_utc"] == "2026-12-01T02:30:00.000000Z"
    assert table[1]["viewed_at_local"] == "30/11/2026 20:30:00"
    check_widths(page, f"{site.url}/console/audit", "audit", tmp_path / "shots")
