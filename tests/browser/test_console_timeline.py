"""A telemedicine stream is one timeline entry; admission and confirmations stay (issue 17).

400 one-second batches (more than the 300 timeline rows a page shows) go through the
store's real ingest commit; the case page in headless Chromium lists the stream once,
with its start, end and each parameter's min-max, and keeps the admission confirmation
and the spot vitals taken before it.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from tests.browser.console_site import Site, check_widths, serve, sign_in, utc

pytestmark = pytest.mark.e2e

CASE, PATIENT = "CASE-0001", "1234567890101"


@pytest.fixture
def site(tmp_path: Path) -> Iterator[Site]:
    yield from serve(tmp_path)


def test_stream_is_one_entry(site: Site, chromium: Any, tmp_path: Path) -> None:
    site.open_case(CASE, PATIENT)
    t0 = utc(2026, 12, 1, 2, 0)  # 20:00 on 30/11 in Guatemala
    site.ingest(
        site.confirmation(CASE, PATIENT, t0),
        site.vitals(CASE, PATIENT, t0 + timedelta(minutes=1), {"spo2": 98, "heart_rate": 70}),
    )
    session = str(uuid.uuid4())
    start = t0 + timedelta(minutes=5)
    batches = [site.vitals(CASE, PATIENT, start, {}, mode="session_start", session_id=session)]
    for i in range(400):
        at = start + timedelta(seconds=i + 1)
        values = {"spo2": 94 + i % 5, "heart_rate": 60 + i % 31}
        batches.append(site.vitals(CASE, PATIENT, at, values, "stream", session))
    end = start + timedelta(seconds=402)
    batches.append(site.vitals(CASE, PATIENT, end, {}, mode="session_stop", session_id=session))
    site.ingest(*batches)

    page = chromium.new_page()
    sign_in(page, site.url, "ana")
    page.goto(f"{site.url}/console/cases/{CASE}")
    rows = page.locator("#events tbody tr")
    kinds = [rows.nth(i).get_attribute("data-kind") for i in range(rows.count())]
    assert kinds == ["vital_stream", "vital_signs", "biometric_confirmation"], kinds
    stream = page.locator("#events tr[data-kind=vital_stream]")
    text = stream.inner_text()
    assert "20:05:00" in text and "20:11:42" in text and "finalizada" in text, text
    assert stream.locator("[data-parameter=spo2]").inner_text().startswith("SpO₂: 94 % – 98 %")
    heart = stream.locator("[data-parameter=heart_rate]").inner_text()
    assert heart.startswith("Frecuencia cardiaca: 60 lpm – 90 lpm") and "400 lecturas" in heart
    assert page.locator("#timeline-note").inner_text().startswith("3 de ")
    check_widths(page, f"{site.url}/console/cases/{CASE}", "case-stream", tmp_path / "shots")
