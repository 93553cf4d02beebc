"""The clinician console in a real headless Chromium against a real hub filled by a real agent.

Mosquitto, the hub and the agent (simulated monitor and fingerprint reader) run for
real: the agent enrolls and verifies a fingerprint (a match at admission, somebody
else at the pharmacy), takes vitals, uploads two documents by hash and records them
(a "signed" PDF that carries no signature, which the hub must call invalid, and a
scan), then streams a telemedicine session at 1 Hz x 6 parameters. A clinician sees
the right counts and verdicts and the live numerics, then "signal lost" when the
session stops; the live page stays bounded under 20,000 readings; an ops user is
refused case pages and reads the audit log of who viewed which case.
"""

from __future__ import annotations

import base64
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from hub.service import HubService
from hub.settings import HubSettings
from hub.web.auth import WebRole
from tests.brokers import Mosquitto
from tests.browser.conftest import screenshot
from tests.signing.pdfs import make_pdf

pytestmark = pytest.mark.e2e

TOKEN = "clinician-console-ops-token"
OPS = {"Authorization": f"Bearer {TOKEN}"}
ORIGIN = "https://medi.example.test"
PASSWORD = "correct horse battery"
STATION, UNIT, CASE, PATIENT = "tele-zacapa-1", "U-ZACAPA", "CASE-0001", "1234567890101"


def wait_for(pred: Any, timeout: float = 30.0, what: str = "condition") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = pred()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def running(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[tuple[HubService, AgentService]]:
    hub = HubService(
        HubSettings(
            data_dir=tmp_path / "hub",
            broker_url=mosquitto.url,
            http_port=0,
            mqtt_client_id=f"hub-{tmp_path.name}",
            bootstrap_token=TOKEN,  # type: ignore[arg-type]
            ingest_batch_wait_ms=5,
            biometric_required_steps=["admission", "pharmacy_dispensing"],
        )
    )
    hub.start()
    hub.wait_ready(20)
    api = httpx.Client(base_url=hub.http_url, headers=OPS, timeout=20)
    assert api.post("/v1/stations", json={"station_id": STATION, "unit_id": UNIT}).is_success
    made = api.post("/v1/tokens", json={"name": STATION, "role": "station"})
    station_token = made.json()["token"]
    for case, patient in ((CASE, PATIENT), ("CASE-0002", "9999999999999")):
        r = api.post("/v1/cases", json={"case_id": case, "patient_id": patient, "unit_id": UNIT})
        assert r.status_code == 201, r.text
    agent = AgentService(
        AgentSettings(
            station_id=STATION,
            unit_id=UNIT,
            data_dir=tmp_path / "agent",
            broker_url=mosquitto.url,
            http_port=0,
            grpc_port=0,
            allowed_origins=[ORIGIN],
            hub_url=hub.http_url,
            hub_token=station_token,  # type: ignore[arg-type]
            devices=[
                {"device_id": "monitor-1", "driver": "sim.monitor", "options": {"seed": 3}},
                {"device_id": "reader-1", "driver": "sim.fingerprint"},
            ],
            fingerprint={"hub_url": hub.http_url, "hub_token": station_token},
        )
    )
    agent.start()
    try:
        assert agent.wait_ready(20)
        key = api.put(
            f"/v1/stations/{STATION}/key", json={"public_key_pem": agent.identity.public_key_pem}
        )
        assert key.status_code == 200, key.text
        auth = _app(hub).state.console.auth
        auth.add("luis", WebRole.CLINICIAN, PASSWORD)
        auth.add("ana", WebRole.OPS, PASSWORD)
        yield hub, agent
    finally:
        agent.stop()
        hub.stop()
        api.close()


def _app(hub: HubService) -> Any:
    return hub._server.config.app  # type: ignore[union-attr]


def _fill_case(hub: HubService, agent: AgentService) -> bytes:
    """Everything a consultation leaves on the case; returns the scan's bytes."""
    local = httpx.Client(base_url=agent.http_url, headers={"Origin": ORIGIN}, timeout=60)
    who = {"case_id": CASE, "patient_id": PATIENT}
    r = local.post(
        "/v1/fingerprint/enroll",
        json={"device_id": "reader-1", **who, "finger": "RIGHT_INDEX", "operator_id": "nurse-7"},
    )
    assert r.status_code == 201, r.text
    wait_for(
        lambda: (
            hub.store._conn()  # type: ignore[attr-defined]
            .execute("SELECT count(*) FROM fingerprint_templates")
            .fetchone()[0]
        ),
        what="the template at the hub",
    )
    r = local.post(
        "/v1/fingerprint/verify", json={"device_id": "reader-1", **who, "step": "admission"}
    )
    assert r.status_code == 201 and r.json()["decision"] == "MATCH", r.text
    agent.devices.get("reader-1").device.set_finger(1)  # type: ignore[union-attr]
    r = local.post(
        "/v1/fingerprint/verify",
        json={"device_id": "reader-1", **who, "step": "pharmacy_dispensing"},
    )
    assert r.status_code == 201 and r.json()["decision"] == "NO_MATCH", r.text
    r = local.post("/v1/vitals/take", json={"device_id": "monitor-1", **who})
    assert r.status_code == 201, r.text

    # Two documents: bodies by hash first (the station's resumable upload), then the events.
    pdf, scan = make_pdf("SPS-53 Certificado"), make_pdf("Resultado de laboratorio")
    for body in (pdf, scan):
        agent.bodies.submit(body, "application/pdf")  # type: ignore[union-attr]
    bodies = _app(hub).state.bodies
    for body in (pdf, scan):
        wait_for(lambda b=body: bodies.info(hashlib.sha256(b).hexdigest()), what="body upload")

    def ref(body: bytes) -> dict[str, Any]:
        sha = base64.b64encode(hashlib.sha256(body).digest()).decode()
        return {"sha256": sha, "size": len(body), "media_type": "application/pdf"}

    signed = {
        "signed_document": {
            "document_type": "SPS-53",
            "document_id": "DOC-SPS53-1",
            "body": ref(pdf) | {"filename": "sps53.pdf"},
            "signer": {"subject": "CN=Dra. Ana López", "role": "doctor", "level": "PADES_B_T"},
        }
    }
    scanned = {
        "scanned_document": {
            "document_type": "LAB",
            "document_id": "DOC-LAB-1",
            "title": "Resultado de laboratorio",
            "pages": 1,
            "body": ref(scan),
        }
    }
    for payload in (signed, scanned):
        r = local.post("/v1/events", json={**who, "device_id": "scanner-1", "payload": payload})
        assert r.status_code == 201, r.text

    def settled() -> bool:
        sigs = httpx.get(f"{hub.http_url}/v1/documents/DOC-SPS53-1/workflow", headers=OPS)
        bio = httpx.get(f"{hub.http_url}/v1/cases/{CASE}/biometrics", headers=OPS).json()
        return (
            sigs.status_code == 200
            and sigs.json()["latest_validation"] != "pending"
            and len(bio["confirmations"]) == 2
        )

    wait_for(settled, 60, "the documents' verdict and both confirmations at the hub")
    local.close()
    return scan


def poll(page: Any, js: str, timeout: float = 20.0) -> None:
    """wait_for_function without eval (the console's CSP forbids it): evaluate until true."""
    wait_for(lambda: page.evaluate(f"() => Boolean({js})"), timeout, js)


def _sign_in(page: Any, base: str, name: str, target: str) -> None:
    page.goto(f"{base}{target}")
    assert "/console/login" in page.url
    page.get_by_label("User").fill(name)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_load_state()


def test_case_page_live_view_and_access_in_chromium(
    running: tuple[HubService, AgentService], chromium: Any
) -> None:
    hub, agent = running
    scan = _fill_case(hub, agent)
    base = hub.http_url
    page = chromium.new_page()
    page.set_extra_http_headers({"Accept-Language": "en"})
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))

    # Cases list: both cases; the filters keep the one missing a confirmation and unsigned.
    _sign_in(page, base, "luis", "/console/cases")
    page.wait_for_url(f"{base}/console/cases")
    assert page.locator("#case-count").inner_text() == "2 case(s)"
    row = page.locator(f"tr[data-case='{CASE}']")
    assert row.locator("td").all_inner_texts()[1:3] == [PATIENT, UNIT]
    assert row.locator("[data-flag]").count() == 2
    page.get_by_label("Name or affiliation no.").fill(PATIENT)
    page.get_by_role("button", name="Search").click()
    assert page.locator("#case-count").inner_text() == "1 case(s)"
    page.goto(f"{base}/console/cases?unsigned=1")
    assert page.locator("#cases tbody tr").count() == 1  # CASE-0002 has no documents
    screenshot(page, "clinician-case-list")

    # The case page: header, steps, confirmations with verified station signatures.
    page.goto(f"{base}/console/cases/{CASE}")
    assert page.locator("[data-field='patient']").inner_text() == PATIENT
    assert page.locator("[data-field='unit']").inner_text() == UNIT
    assert page.locator("[data-field='closed']").inner_text() == "open"
    steps = {
        s: page.locator(f"tr[data-step='{s}'] [data-status]").get_attribute("data-status")
        for s in ("admission", "pharmacy_dispensing")
    }
    assert steps == {"admission": "confirmed", "pharmacy_dispensing": "failed"}
    decisions = page.locator("#confirmation-list [data-decision]")
    assert [decisions.nth(i).get_attribute("data-decision") for i in range(2)] == [
        "MATCH",
        "NO_MATCH",
    ]
    sigs = page.locator("#confirmation-list [data-signature]")
    assert [sigs.nth(i).get_attribute("data-signature") for i in range(2)] == ["valid", "valid"]
    assert page.locator("[data-flag='missing']").count() == 1

    # Documents: the unsigned "signed" PDF is INVALID and says so; the scan is not signed.
    doc = page.locator("tr[data-document='DOC-SPS53-1']")
    assert doc.get_attribute("data-validation") == "invalid"
    assert doc.locator("[data-verdict]").inner_text().startswith("✗ INVALID")
    assert "Valid" not in doc.locator("[data-verdict]").inner_text()
    assert doc.locator("[data-workflow]").get_attribute("data-workflow") == "invalid"
    assert "CN=Dra. Ana López" in doc.inner_text()
    lab = page.locator("tr[data-document='DOC-LAB-1']")
    assert lab.locator("[data-verdict]").get_attribute("data-verdict") == "not_signed"
    # Viewable and downloadable behind the console session (the body is the uploaded PDF).
    href = lab.get_by_role("link", name="Download").get_attribute("href")
    body = page.request.get(f"{base}{href}")
    assert body.status == 200 and body.body() == scan
    assert httpx.get(f"{base}{href}").status_code in (303, 307)  # no session: sign-in first

    # Vitals: one chart per parameter of the simulated monitor, drawn; a table of readings.
    charts = page.locator("#charts")
    poll(page, "document.getElementById('charts').dataset.rendered === '6'")
    assert charts.locator("canvas").count() >= 6
    summary = page.locator("#vitals-summary tbody tr")
    assert summary.count() == 6
    counts = [int(summary.nth(i).locator("td").nth(1).inner_text()) for i in range(6)]
    assert counts == [1] * 6  # one spot set of six readings
    kinds = {
        page.locator(".kindcount").nth(i).get_attribute("data-kind"): page.locator(".kindcount")
        .nth(i)
        .inner_text()
        for i in range(page.locator(".kindcount").count())
    }
    assert kinds["biometric_confirmation"] == "Fingerprint confirmation: 2"
    assert kinds["signed_document"] == "Signed document: 1"
    assert kinds["scanned_document"] == "Scanned document: 1"
    assert kinds["vital_signs"] == "Vital signs: 1"
    screenshot(page, "clinician-case-page")

    # The live view: waiting, then the station's numerics as the session streams at 1 Hz.
    page.goto(f"{base}/console/cases/{CASE}/live")
    signal = page.locator("#signal")
    assert signal.get_attribute("data-state") == "waiting"
    local = httpx.Client(base_url=agent.http_url, headers={"Origin": ORIGIN}, timeout=30)
    r = local.post(
        "/v1/vitals/sessions",
        json={"device_id": "monitor-1", "case_id": CASE, "patient_id": PATIENT},
    )
    assert r.status_code == 201, r.text
    session_id = r.json()["session_id"]
    poll(page, "document.getElementById('signal').dataset.state === 'receiving'")
    poll(page, "window.puenteLive.stats().received >= 18")
    spo2 = page.locator(".tile[data-parameter='spo2'] .value")
    assert 90 <= float(spo2.inner_text()) <= 100
    seconds = page.locator("#since-last").get_attribute("data-seconds")
    assert seconds in ("0", "1")
    screenshot(page, "clinician-live-view")

    # The session stops normally: the page says it ended (never "signal lost"), values grey.
    r = local.post(f"/v1/vitals/sessions/{session_id}/stop", json={})
    assert r.status_code == 200, r.text
    # The stop travels agent outbox -> MQTT -> hub -> SSE: allow a loaded machine its time.
    poll(page, "document.getElementById('signal').dataset.state === 'ended'", 60)
    page.wait_for_timeout(5500)  # past the 5 s after which a silent stream would be "lost"
    assert signal.get_attribute("data-state") == "ended"
    assert signal.inner_text().startswith("Session ended")
    screenshot(page, "clinician-live-session-ended")

    # Bounded: 20,000 more readings (an hour at 1 Hz x 6 is 21,600) change neither the DOM
    # nor the buffers, and the heap after GC stays within 2 MB.
    cdp = chromium.new_cdp_session(page)
    before = page.evaluate("window.puenteLive.stats()")
    cdp.send("HeapProfiler.collectGarbage")
    heap0 = cdp.send("Runtime.getHeapUsage")["usedSize"]
    page.evaluate(
        """() => { const p = ['spo2','heart_rate','bp_systolic','bp_diastolic',
        'body_temperature','respiratory_rate']; for (let i = 0; i < 20000; i++)
        window.puenteLive.ingest({status: 'accepted', parameter: p[i % 6], value: 90 + i % 10,
        measured_at: new Date().toISOString()}); }"""
    )
    page.wait_for_timeout(300)
    after = page.evaluate("window.puenteLive.stats()")
    cdp.send("HeapProfiler.collectGarbage")
    heap1 = cdp.send("Runtime.getHeapUsage")["usedSize"]
    assert after["received"] == before["received"] + 20000
    assert after["nodes"] == before["nodes"]
    assert (after["buffered"], after["capacity"]) == (6 * 120, 7 * 120)  # 7 tiles, 6 fed
    assert heap1 - heap0 < 2 * 1024 * 1024, (heap0, heap1)
    assert errors == []

    # An ops user: refused case pages, but reads the audit log of who viewed which case.
    page.get_by_role("button", name="Sign out").click()
    page.wait_for_url(f"{base}/console/login")
    _sign_in(page, base, "ana", "/console/audit")
    response = page.goto(f"{base}/console/cases/{CASE}")
    assert response is not None and response.status == 403
    assert page.get_by_role("heading", level=1).inner_text() == "Access denied"
    assert page.goto(f"{base}/console/cases").status == 403  # type: ignore[union-attr]
    assert page.goto(f"{base}/console/cases/{CASE}/live/stream").status == 403  # type: ignore[union-attr]
    page.goto(f"{base}/console/audit?case={CASE}")
    rows = page.locator("#case-views tbody tr")
    got = [
        (*rows.nth(i).locator("td").all_inner_texts()[1:4], rows.nth(i).get_attribute("data-what"))
        for i in range(rows.count())
    ]
    sha = hashlib.sha256(scan).hexdigest()
    assert got == [
        ("luis", "clinician", CASE, "live"),
        ("luis", "clinician", CASE, f"document:{sha}"),
        ("luis", "clinician", CASE, "case"),
    ]
    screenshot(page, "ops-case-view-audit")
    local.close()
