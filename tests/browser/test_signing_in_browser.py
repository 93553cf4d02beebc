"""A page signs through the agent's consent popup in real Chromium; the PIN is typed only there."""

from __future__ import annotations

import secrets
import shutil
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest

from edge_agent.capabilities.signing.settings import SigningSettings
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings, DeviceConfig
from tests.brokers import Mosquitto
from tests.browser.conftest import ROOT, screenshot
from tests.e2e.processes import Hub, wait_until
from tests.signing.conftest import STATION, UNIT, _station_token, hsm, pki  # noqa: F401
from tests.signing.pdfs import make_pdf
from tests.signing.pki import PIN

pytestmark = pytest.mark.e2e

PAGE = """<!doctype html><html lang="es"><head><meta charset="utf-8"><title>MEDI</title>
<script type="module" src="/app.js"></script></head>
<body><button id="sign">Firmar SPS-53</button><p id="out"></p></body></html>"""

APP = """import { PuenteAgent } from "/puente.js";
const params = new URLSearchParams(location.search);
const agent = new PuenteAgent({ url: params.get("agent") });
document.getElementById("sign").addEventListener("click", () => {
  const pdf = Uint8Array.from(atob(window.pdfBase64), (c) => c.charCodeAt(0));
  window.signed = agent.sign({
    pdf, documentType: "SPS-53", caseId: "C-SIGN-1", patientId: "1234567890101",
    role: "doctor", certId: params.get("cert"),
  }).then(({ job, pdf }) => ({ status: job.status, level: job.level, size: pdf.size,
                               sha256: job.signed_sha256, event: job.event_id }))
    .catch((e) => ({ error: e.name, code: e.code }));
});
"""


def test_a_page_signs_through_the_consent_popup_and_the_hub_validates_it(
    chromium: object,
    serve_pages: Callable[[Path], int],
    tmp_path: Path,
    mosquitto: Mosquitto,
    pki: object,  # noqa: F811
    hsm: object,  # noqa: F811
) -> None:
    import base64

    hub = Hub(
        tmp_path / "hub",
        mosquitto.url,
        secrets.token_urlsafe(24),
        signature_trust_roots=[str(pki.root / "root.pem")],  # type: ignore[attr-defined]
        signature_poll_s=0.2,
    ).start()
    folder = tmp_path / "site"
    folder.mkdir()
    shutil.copy(ROOT / "clients/js/puente.js", folder / "puente.js")
    (folder / "index.html").write_text(PAGE)
    (folder / "app.js").write_text(APP)
    origin = f"http://127.0.0.1:{serve_pages(folder)}"
    agent: AgentService | None = None
    try:
        hub.register_station(STATION, UNIT)
        with hub.api() as api:
            api.post(
                "/v1/cases",
                json={"case_id": "C-SIGN-1", "patient_id": "1234567890101", "unit_id": UNIT},
            ).raise_for_status()
        agent = AgentService(
            AgentSettings(
                station_id=STATION,
                unit_id=UNIT,
                data_dir=tmp_path / "agent",
                broker_url=mosquitto.url,
                http_port=0,
                grpc_port=0,
                allowed_origins=[origin],
                hub_url=hub.url,
                hub_token=_station_token(hub),
                devices=[
                    DeviceConfig(
                        device_id="token-1",
                        driver="pkcs11",
                        options={"module": hsm.module, "idle_s": 0, "poll_s": 0.3},  # type: ignore[attr-defined]
                    )
                ],
                signing=SigningSettings(
                    tsa_url=None,
                    trust_roots=[pki.root / "root.pem"],  # type: ignore[attr-defined]
                    chain_certs=[pki.root / "interm.pem"],  # type: ignore[attr-defined]
                ),
            )
        )
        agent.start()
        assert agent.wait_ready(20)
        listing = httpx.get(f"{agent.http_url}/v1/signing/tokens", timeout=20).json()
        cert_id = next(
            c["cert_id"]
            for c in listing["certificates"]
            if c["token_label"] == "doctor" and c["label"] == "doctor-rsa"
        )

        page = chromium.new_page()  # type: ignore[attr-defined]
        page.goto(f"{origin}/index.html?agent={agent.http_url}&cert={cert_id}")
        page.evaluate("(b) => { window.pdfBase64 = b; }", base64.b64encode(make_pdf()).decode())
        with page.expect_popup() as opened:
            page.click("#sign")
        consent = opened.value
        consent.wait_for_selector("#pin")
        assert origin in consent.inner_text("#origin")
        assert "C-SIGN-1" in consent.inner_text("#case")
        screenshot(consent, "signing-consent-page")
        consent.fill("#pin", PIN)
        consent.click("#sign")

        result = page.evaluate("async () => await window.signed")
        assert result.get("status") == "done", result
        assert result["size"] > 0 and result["event"]
        assert PIN not in page.content()

        # The hub receives the signed PDF and validates it.
        def verdict() -> str | None:
            with hub.api() as api:
                docs = api.get("/v1/cases/C-SIGN-1/documents").json()["items"]
            return docs[0]["validation"] if docs and docs[0]["body_available"] else None

        wait_until(lambda: verdict() == "valid", 60, "the hub validating the signature")
        # The PIN was typed on the agent's page only: nothing the station keeps holds it.
        for path in (agent.settings.data_dir).rglob("*"):
            if path.is_file():
                assert PIN.encode() not in path.read_bytes(), f"PIN found in {path}"
    finally:
        if agent is not None:
            agent.stop()
        hub.stop()
