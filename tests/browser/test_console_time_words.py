"""Times in the unit's local zone and clinicians' words on the case and live pages (issue 17).

A real hub (SQLite, uvicorn) and headless Chromium: an evening visit in Guatemala (02:30 UTC
the next day) reads 30/11/2026 20:30 in tables and in the chart's legend; no developer word
(vital_signs, MATCH, admission, heart_rate, spot · 2, a session UUID) reaches the page; values
are written as clinicians write them; a session that ends says "Sesión finalizada" and never
"Señal perdida". Screenshots at 1366 and 390 px, none wider than the screen.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from hub.storage.console_facts import ConsoleFacts
from tests.browser.console_site import Site, check_widths, serve, sign_in, utc

pytestmark = pytest.mark.e2e

CASE, PATIENT = "CASE-0001", "1234567890101"
DEVELOPER_WORDS = re.compile(
    r"vital_signs|biometric_confirmation|\bMATCH\b|\badmission\b|heart_rate|body_temperature"
    r"|spot · \d|\d{4}-\d\d-\d\dT\d\d:\d\d|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-|\(UTC\)"
)


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    yield from serve(tmp_path)


def _seed(site: Site) -> None:
    site.open_case(CASE, PATIENT)
    evening = utc(2026, 12, 1, 2, 30)  # 20:30 on 30/11 in Guatemala (UTC-6)
    site.ingest(
        site.confirmation(CASE, PATIENT, evening),
        site.vitals(
            CASE,
            PATIENT,
            evening,
            {
                "spo2": 97,
                "heart_rate": 72,
                "bp_systolic": 120,
                "bp_diastolic": 80,
                "body_temperature": 36.8,
            },
        ),
    )


def test_case_page_in_local_time_and_clinicians_words(
    site: Site, chromium: Any, tmp_path: Path
) -> None:
    _seed(site)
    page = chromium.new_page()
    sign_in(page, site.url, "ana")
    page.goto(f"{site.url}/console/cases/{CASE}")
    page.wait_for_selector("#charts[data-rendered]")
    text = page.inner_text("main")
    assert "30/11/2026 20:30" in text  # opened/event times are local, es format
    assert "01/12/2026" not in text.split("Abierto")[0]
    assert not DEVELOPER_WORDS.search(text), DEVELOPER_WORDS.search(text)
    readings = page.text_content("#readings")
    for written in ("97 %", "72 lpm", "120/80 mmHg", "36,8 °C"):
        assert written in readings, (written, readings)
    assert "Coincide" in page.inner_text("#confirmation-list")
    assert "Admisión" in page.inner_text("#steps")
    assert "Signos vitales" in page.inner_text("#events")
    # The chart speaks the table's zone and format: move the cursor onto the reading.
    legend = page.evaluate(
        """() => { const u = window.puenteCharts[0];
                  u.setCursor({left: u.valToPos(u.data[0][0], 'x'), top: 10});
                  return document.querySelector('.u-legend .u-series .u-value').textContent; }"""
    )
    assert legend.startswith("30/11/2026 20:30"), legend
    # A lone reading: the time axis spans 10 minutes around it (uPlot alone widened it by years).
    span = page.evaluate(
        "() => { const x = window.puenteCharts[0].scales.x; return x.max - x.min; }"
    )
    assert span == 600, span
    check_widths(page, f"{site.url}/console/cases/{CASE}", "case-es", tmp_path / "shots")
    # English: the same instant, English format, still local.
    page.click("header button.link")
    page.wait_for_load_state()
    text = page.inner_text("main")
    assert "30 Nov 2026 20:30" in text
    assert "72 bpm" in page.text_content("#readings")
    assert "36.8 °C" in page.text_content("#readings")
    assert not DEVELOPER_WORDS.search(text), DEVELOPER_WORDS.search(text)


def test_unit_time_zone_moves_every_time(site: Site, chromium: Any) -> None:
    _seed(site)
    ConsoleFacts(site.store).set_time_zone("U-ZACAPA", "America/Mexico_City")
    page = chromium.new_page()
    sign_in(page, site.url, "ana")
    page.goto(f"{site.url}/console/cases/{CASE}")
    assert "Mexico City" in page.inner_text("#time-zone")


def test_session_end_is_not_signal_loss(site: Site, chromium: Any, tmp_path: Path) -> None:
    site.open_case(CASE, PATIENT)
    session = str(uuid.uuid4())
    start = utc(2026, 12, 1, 2, 30)
    site.ingest(site.vitals(CASE, PATIENT, start, {}, mode="session_start", session_id=session))
    page = chromium.new_page()
    sign_in(page, site.url, "ana")
    page.goto(f"{site.url}/console/cases/{CASE}/live")
    assert "30/11/2026 20:30" in page.inner_text("#session")
    assert session not in page.inner_text("main")
    page.wait_for_function("() => window.puenteLive !== undefined")
    page.wait_for_timeout(500)  # the SSE subscription is up
    now = datetime.now(UTC)
    site.ingest(site.vitals(CASE, PATIENT, now, {"spo2": 96, "heart_rate": 71}, "stream", session))
    page.wait_for_function("() => document.getElementById('signal').dataset.state === 'receiving'")
    assert page.inner_text(".tile[data-parameter=heart_rate] .value") == "71"
    site.ingest(site.vitals(CASE, PATIENT, now, {}, mode="session_stop", session_id=session))
    page.wait_for_function("() => document.getElementById('signal').dataset.state === 'ended'")
    page.wait_for_timeout(6000)  # longer than the 5 s after which a silent stream is "lost"
    signal = page.inner_text("#signal")
    assert signal.startswith("Sesión finalizada"), signal
    assert "perdida" not in signal
    assert page.evaluate("document.getElementById('live').classList.contains('ended')")
    # Opened later: the ended state, the last values in the sparklines, and no empty tiles
    # for what the monitor never sent.
    page.reload()
    page.wait_for_function("() => document.getElementById('signal').dataset.state === 'ended'")
    assert page.inner_text("#signal").startswith("Sesión finalizada")
    assert page.inner_text(".tile[data-parameter=spo2] .value") == "96"
    visible = page.locator(".tile:visible")
    shown = {visible.nth(i).get_attribute("data-parameter") for i in range(visible.count())}
    assert shown == {"spo2", "heart_rate"}
    page.wait_for_timeout(5500)
    assert page.get_attribute("#signal", "data-state") == "ended"
    for width in (1366, 390):
        page.set_viewport_size({"width": width, "height": 900})
        (tmp_path / "shots").mkdir(exist_ok=True)
        page.screenshot(path=str(tmp_path / "shots" / f"live-ended-{width}.png"), full_page=True)
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
