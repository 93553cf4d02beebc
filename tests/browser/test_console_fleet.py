"""The fleet page at fleet size: search, filters, totals, pagination in the database (issue 17).

112 units and 1,200 stations in a real SQLite file behind a real hub (uvicorn), read by
headless Chromium; one station's monitor reports an error, another's recovered.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from protos import events_pb2
from tests.browser.console_site import Site, check_widths, serve, sign_in

pytestmark = pytest.mark.e2e

UNITS = 112
STATIONS = 1200


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    yield from serve(tmp_path)


def _seed(site: Site) -> None:
    with site.store._write() as conn:
        conn.executemany(
            "INSERT INTO units VALUES (?, ?, ?)",
            [(f"U-{u:03d}", f"Unidad {u:03d}", "2026-01-01T00:00:00Z") for u in range(UNITS)],
        )
        conn.executemany(
            "INSERT INTO stations (station_id, unit_id, registered_at, online) VALUES (?, ?, ?, ?)",
            [
                (f"st-{i:04d}", f"U-{i % UNITS:03d}", "2026-01-01T00:00:00Z", int(i % 3 == 0))
                for i in range(STATIONS)
            ],
        )
        conn.execute(
            "UPDATE stations SET retired_at = '2026-02-01T00:00:00Z' WHERE station_id = 'st-0005'"
        )
    site.device_status("st-0007", "U-007", events_pb2.ERROR, 1)
    site.device_status("st-0008", "U-008", events_pb2.ERROR, 1)
    site.device_status("st-0008", "U-008", events_pb2.CONNECTED, 2)  # recovered


def test_fleet_search_filters_and_pages(site: Site, chromium: Any, tmp_path: Path) -> None:
    _seed(site)
    page = chromium.new_page()
    sign_in(page, site.url, "oscar")
    page.goto(f"{site.url}/console/fleet")
    online = len([i for i in range(STATIONS) if i % 3 == 0])
    all_stations = STATIONS + 1  # and the site's own tele-zacapa-1 (offline)
    totals = page.inner_text("#fleet-totals")
    assert f"{online} en línea" in totals, totals
    assert f"{all_stations - online - 1} fuera de línea" in totals and "1 dadas de baja" in totals
    assert "1 con un dispositivo con problema" in totals
    assert page.locator("tr[data-station]").count() == 50  # one page, from the database
    assert f"/ {-(-all_stations // 50)}" in page.inner_text("#fleet-pager")
    page.get_by_role("link", name="Siguiente").click()
    page.wait_for_load_state()
    assert "page=2" in page.url and page.locator("tr[data-station]").count() == 50
    # Device problem: only the station whose monitor's latest report is an error.
    page.goto(f"{site.url}/console/fleet")
    page.check("#f-problem")
    page.click("form[role=search] button[type=submit]")
    page.wait_for_load_state()
    assert [page.locator("tr[data-station]").nth(0).get_attribute("data-station")] == ["st-0007"]
    assert page.locator("tr[data-station] [data-problem]").count() == 1
    # Text search (station id or unit name), unit and state filters.
    page.goto(f"{site.url}/console/fleet?q=unidad%20011&state=online")
    rows = page.locator("tr[data-station]")
    ids = [rows.nth(i).get_attribute("data-station") for i in range(rows.count())]
    assert ids and all(int(x[3:]) % UNITS == 11 and int(x[3:]) % 3 == 0 for x in ids)
    page.goto(f"{site.url}/console/fleet?unit=U-005&state=retired")
    assert page.locator("tr[data-station]").count() == 1
    for url, name in (
        (f"{site.url}/console/fleet", "fleet"),
        (f"{site.url}/console/fleet?problem=1", "fleet-problem"),
    ):
        check_widths(page, url, name, tmp_path / "shots")
