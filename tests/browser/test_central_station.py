"""The central station view with 20 streaming sessions (issue 17).

Twenty telemedicine sessions stream through the store's real ingest commit from a thread
(1 Hz); headless Chromium shows one tile per session, refreshed every second, an alarm in
colour and in words for the adults whose heart rate is above the adult limit (NEWS2), the
two-year-old with the same value within the centiles of that age (Fleming et al.), a stale
marker for a stream that went silent, and the acknowledgement recorded and audited.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.storage.case_views import SQLiteCaseViews
from tests.browser.console_site import UNIT, Site, check_widths, serve, sign_in

pytestmark = pytest.mark.e2e

SESSIONS = 20


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    yield from serve(tmp_path)


def test_twenty_sessions_alarms_stale_and_ack(site: Site, chromium: Any, tmp_path: Path) -> None:
    api = httpx.Client(base_url=site.url, headers=site.api_headers, timeout=20)
    today = datetime.now(UTC).date()
    cases = []
    for i in range(SESSIONS):
        case, patient = f"CASE-{i:02d}", f"{i:013d}"
        who: dict[str, str] = {"patient_name": f"Paciente {i:02d}"}
        if i == 0:  # a two-year-old: 140 /min is within Fleming's 2-3 years centiles (76-142)
            who["birth_date"] = today.replace(year=today.year - 2).isoformat()
        r = api.post(
            "/v1/cases", json={"case_id": case, "patient_id": patient, "unit_id": UNIT} | who
        )
        assert r.status_code == 201, r.text
        cases.append((case, patient, str(uuid.uuid4())))
    lock = threading.Lock()
    stop = threading.Event()
    silent = {cases[1][2]}  # this one stops sending without ending

    def stream() -> None:
        with lock:
            site.ingest(
                *[site.vitals(c, p, datetime.now(UTC), {}, "session_start", s) for c, p, s in cases]
            )
        while not stop.is_set():
            now = datetime.now(UTC)
            batch = [
                # 140 /min: an alarm for the adults (NEWS2: above 130), not for the child (0).
                site.vitals(
                    c, p, now, {"spo2": 97, "heart_rate": 140 if i < 3 else 72}, "stream", s
                )
                for i, (c, p, s) in enumerate(cases)
                if s not in silent or now.timestamp() < started + 2
            ]
            with lock:
                site.ingest(*batch)
            stop.wait(1.0)

    started = time.time()
    feeder = threading.Thread(target=stream, daemon=True)
    feeder.start()
    try:
        page = chromium.new_page()
        sign_in(page, site.url, "ana")
        page.goto(f"{site.url}/console/central")
        page.wait_for_function("() => document.querySelectorAll('.ctile').length === 20")
        page.wait_for_function("() => window.puenteCentral.refreshed >= 2")
        child = page.locator(".ctile[data-case='CASE-00'] .cp[data-parameter=heart_rate]")
        assert child.get_attribute("data-state") == "normal"
        adult = page.locator(".ctile[data-case='CASE-02'] .cp[data-parameter=heart_rate]")
        assert adult.get_attribute("data-state") == "alarm"
        assert "ALARMA ALTA: por encima de 130 lpm" in adult.inner_text()
        assert page.locator(".ctile[data-case='CASE-05'] .cp.alarm").count() == 0
        # Alarms first: the tiles with an alarm lead the grid.
        first = page.locator(".ctile").nth(0).get_attribute("data-case")
        assert first in ("CASE-01", "CASE-02")
        # The silent stream is flagged stale in words.
        page.wait_for_function(
            "() => document.querySelector(\".ctile[data-case='CASE-01'] [data-stale]\") !== null",
            timeout=20_000,
        )
        assert "Sin datos recientes" in page.inner_text(".ctile[data-case='CASE-01']")
        # Acknowledge: the alarm turns to acknowledged, recorded with who and audited.
        adult.get_by_role("button", name="Reconocer").click()
        page.wait_for_load_state()
        adult = page.locator(".ctile[data-case='CASE-02'] .cp[data-parameter=heart_rate]")
        assert adult.get_attribute("data-state") == "acked"
        row = (
            site.store._conn()
            .execute("SELECT case_id, parameter, value, acked_by FROM alarm_acks")
            .fetchone()
        )
        assert row == ("CASE-02", "heart_rate", 140.0, "ana")
        views = SQLiteCaseViews(site.store).list(case_id="CASE-02")
        assert [v.what for v in views] == ["alarm_ack:heart_rate"]
        # Limits for this session: heart rate up to 140 clears CASE-01's alarm (140), not the
        # others'; the change is recorded with who and audited.
        tile = page.locator(".ctile[data-case='CASE-01']")
        tile.locator("details.limits summary").click()
        form = tile.locator("form[data-parameter=heart_rate]")
        assert form.locator("input[name=high]").input_value() == "130"
        form.locator("input[name=high]").fill("140")
        form.get_by_role("button", name="Guardar").click()
        page.wait_for_load_state()
        page.wait_for_function("() => window.puenteCentral.refreshed >= 1")
        hr = page.locator(".ctile[data-case='CASE-01'] .cp[data-parameter=heart_rate]")
        assert hr.get_attribute("data-state") == "normal"
        other = page.locator(".ctile[data-case='CASE-02'] .cp[data-parameter=heart_rate]")
        assert other.get_attribute("data-state") in ("alarm", "acked")
        limits = (
            site.store._conn()
            .execute("SELECT session_id, parameter, low, high, set_by FROM session_alarm_limits")
            .fetchall()
        )
        assert limits == [(cases[1][2], "heart_rate", 41.0, 140.0, "ana")]
        assert "alarm_limits:heart_rate" in [
            v.what for v in SQLiteCaseViews(site.store).list(case_id="CASE-01")
        ]
        check_widths(page, f"{site.url}/console/central", "central", tmp_path / "shots")
    finally:
        stop.set()
        feeder.join(10)
