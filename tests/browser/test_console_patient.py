"""The case shows who the patient is; the cases list finds them by name or affiliation number.

A real hub (SQLite, uvicorn) and headless Chromium; cases opened through the real API with
name, sex and birth date. Screenshots at 1366 and 390 px, none wider than the screen.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.browser.console_site import UNIT, Site, check_widths, serve, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    yield from serve(tmp_path)


def test_patient_on_case_and_list(site: Site, chromium: Any, tmp_path: Path) -> None:
    api = httpx.Client(base_url=site.url, headers=site.api_headers, timeout=20)
    for case, patient, who in (
        (
            "CASE-1",
            "1111111111101",
            {"patient_name": "José Pérez López", "sex": "male", "birth_date": "1990-05-17"},
        ),
        ("CASE-2", "2222222222202", {"patient_name": "María Ixchel Tzul", "sex": "female"}),
        ("CASE-3", "3333333333303", {}),
    ):
        r = api.post(
            "/v1/cases", json={"case_id": case, "patient_id": patient, "unit_id": UNIT} | who
        )
        assert r.status_code == 201, r.text
    page = chromium.new_page()
    sign_in(page, site.url, "ana")
    page.goto(f"{site.url}/console/cases")
    assert (
        page.locator("tr[data-case='CASE-1'] [data-field=name]")
        .inner_text()
        .startswith("José Pérez López (")
    )
    # Name search ignores case and accents; affiliation numbers match exactly.
    page.fill("#f-patient", "perez")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_load_state()
    assert page.locator("#cases tbody tr").count() == 1
    assert page.locator("tr[data-case='CASE-1']").count() == 1
    page.goto(f"{site.url}/console/cases?patient=2222222222202")
    assert [page.locator("#cases tbody tr").nth(0).get_attribute("data-case")] == ["CASE-2"]
    check_widths(page, f"{site.url}/console/cases", "cases-es", tmp_path / "shots")
    page.goto(f"{site.url}/console/cases/CASE-1")
    header = page.inner_text("#case-header")
    assert "José Pérez López" in header and "masculino" in header
    assert "17/05/1990" in header and "años" in header
    assert page.get_by_role("heading", level=1).inner_text().startswith("José Pérez López")
    check_widths(page, f"{site.url}/console/cases/CASE-1", "case-patient", tmp_path / "shots")
    page.goto(f"{site.url}/console/cases/CASE-3")
    assert "no envió nombre" in page.inner_text("#case-header")
