"""Revocation is enforced, never assumed: the CA's real answers (certomancer animate serving OCSP
and CRLs on loopback), a CA that does not answer and then comes back, signatures made through the
agent with a SoftHSM2 token, and the verdicts of a hub process."""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import subprocess
import sys
from collections.abc import Iterator
from io import BytesIO
from pathlib import Path
from typing import Any

import httpx
import pytest
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers

from protos import events_pb2
from tests.brokers import Mosquitto
from tests.e2e.processes import Hub
from tests.signing.conftest import STATION, UNIT, Station, make_station
from tests.signing.pdfs import make_pdf
from tests.signing.pki import PIN, SigningPki, pem
from tests.signing.test_signing import _cert_id, _submit, _workflow

pytestmark = pytest.mark.e2e


def _serial(station: Station, label: str) -> str:
    with station.client() as c:
        listing = c.get("/v1/signing/tokens").json()["certificates"]
    return str(next(c["serial"] for c in listing if c["label"] == label))


def _bodies(station: Station) -> list[str]:
    """What the station keeps to upload: a signed PDF is kept here before its event."""
    folder = station.agent.settings.data_dir / "bodies"
    return sorted(p.name for p in folder.iterdir()) if folder.exists() else []


def test_a_revoked_certificate_is_refused_before_the_pin_whether_ocsp_or_crl_says_so(
    station: Station,
) -> None:
    for label, name, source in (
        ("revoked-rsa", "Dr. Raúl Revocado", "OCSP"),
        ("revoked-crl-rsa", "Dra. Clara Revocada", "CRL"),
    ):
        r = _submit(station, make_pdf(), _cert_id(station, "doctor", label), "doctor")
        assert r.status_code == 422, r.text
        problem = r.json()
        assert problem["code"] == "certificate_revoked"
        assert problem["title"] == "Certificate revoked / Certificado revocado"
        detail = problem["detail"]
        # Names the certificate (subject, serial), when and why, in both languages.
        assert name in detail and f"serial {_serial(station, label)}" in detail
        assert f"serie {_serial(station, label)}" in detail
        assert "revoked on 2024-03-01 10:00 UTC" in detail
        assert "revocado el 2024-03-01 10:00 UTC" in detail
        assert "compromised key" in detail and "clave comprometida" in detail
        assert f"the CA's {source}" in detail and "no se pide el PIN" in detail
    # No job waits for a PIN, nothing was signed or recorded.
    assert len(station.agent.signing.jobs) == 0
    assert _bodies(station) == []


@pytest.fixture
def recheck_hub(tmp_path: Path, mosquitto: Mosquitto, pki: SigningPki) -> Iterator[Hub]:
    """A hub that validates 'revocation_unknown' verdicts again every second."""
    hub = Hub(
        tmp_path / "hub",
        mosquitto.url,
        secrets.token_urlsafe(24),
        signature_trust_roots=[str(pki.root / "root.pem")],
        signature_poll_s=0.2,
        signature_revalidate_s=1.0,
        signature_revocation_timeout_s=2.0,
    ).start()
    try:
        hub.register_station(STATION, UNIT)
        yield hub
    finally:
        hub.stop()


def _consent(station: Station, job_id: str) -> dict[str, Any]:
    with station.consent_client() as c:
        done = c.post(f"/v1/signing/jobs/{job_id}/consent", json={"pin": PIN})
    assert done.status_code == 200, done.text
    return dict(done.json())


def test_unreachable_ca_follows_the_document_policy_and_the_hub_rechecks_when_it_returns(
    tmp_path: Path, mosquitto: Mosquitto, recheck_hub: Hub, hsm: Any, pki: SigningPki
) -> None:
    agent = make_station(tmp_path, mosquitto, recheck_hub, hsm, pki)
    station = Station(agent, recheck_hub, hsm, pki)
    pki.stop_offline_ca()  # the CA the "offline" certificates name does not answer
    try:
        offline = _cert_id(station, "doctor", "offline-rsa")
        # A sick-leave certificate (SPS-53): the policy refuses, before any PIN.
        r = _submit(station, make_pdf(), offline, "doctor")
        assert r.status_code == 503, r.text
        problem = r.json()
        assert problem["code"] == "revocation_unavailable"
        assert "Dra. Inés Sinred" in problem["detail"] and "SPS-53" in problem["detail"]
        assert "try again later" in problem["detail"] and "intente más tarde" in problem["detail"]
        assert len(station.agent.signing.jobs) == 0

        # A prescription: the policy signs, marked "revocation pending", and the page says so.
        jobs = {}
        for label in ("offline-rsa", "offline-revoked-rsa"):
            cert = _cert_id(station, "doctor", label)
            job = _submit(station, make_pdf(), cert, "doctor", document_type="PRESCRIPTION")
            assert job.status_code == 202, job.text
            assert job.json()["revocation"] == "pending"
            with station.client() as app:
                page = app.get(job.json()["consent_url"].replace(station.agent.http_url, ""))
            assert 'id="revocation"' in page.text
            assert "revocación pendiente" in page.text and "revocation pending" in page.text
            assert "PRESCRIPTION policy: it is signed" in page.text
            done = _consent(station, job.json()["job_id"])
            assert done["status"] == "done" and done["level"] == "B-B"
            assert done["revocation"] == "pending"
            assert 'marked "revocation pending"' in done["revocation_note"]
            jobs[label] = done
        # The event carries the fact to the hub.
        stored = recheck_hub.query(
            "SELECT raw FROM events WHERE event_id = ?", jobs["offline-rsa"]["event_id"]
        )
        if stored:
            signer = events_pb2.Event.FromString(stored[0][0]).signed_document.signer
            assert signer.revocation == events_pb2.REVOCATION_PENDING

        # The hub cannot ask the CA either: never valid, not counted as signed.
        for label, done in jobs.items():
            flow = _workflow(
                recheck_hub, done["document_id"], lambda w: w["state"] != "pending_validation"
            )
            revision = flow["revisions"][0]
            assert revision["validation"] == "revocation_unknown", (label, flow)
            assert revision["station_revocation"] == "pending"
            assert flow["state"] == "revocation_unknown" and flow["signed_by"] == []
        row = _console_row(recheck_hub, "CASE-1", jobs["offline-rsa"]["document_id"], "en")
        assert 'data-verdict="revocation_unknown"' in row
        assert "Revocation not checked (the CA does not answer; retrying)" in row
        assert "Signed at the station with revocation pending" in row
        assert "Valid" not in row.replace('data-verdict="revocation_unknown"', "")

        # A job submitted while the CA is away, consented to after it is back: the agent asks
        # again right before the token signs, and refuses (the PIN typed is never used).
        late = _submit(
            station,
            make_pdf(),
            _cert_id(station, "doctor", "offline-revoked-rsa"),
            "doctor",
            document_type="PRESCRIPTION",
        ).json()
        assert late["revocation"] == "pending"

        # The CA comes back: the hub checks again by itself, and the verdicts become final.
        pki.start_offline_ca()
        with station.consent_client() as c:
            refused = c.post(f"/v1/signing/jobs/{late['job_id']}/consent", json={"pin": PIN})
        assert refused.status_code == 422 and refused.json()["code"] == "certificate_revoked"
        with station.client() as app:
            state = app.get(f"/v1/signing/jobs/{late['job_id']}").json()
        assert state["status"] == "failed" and state["signed_sha256"] is None
        good = _workflow(
            recheck_hub,
            jobs["offline-rsa"]["document_id"],
            lambda w: w["revisions"][0]["validation"] != "revocation_unknown",
        )
        assert good["revisions"][0]["validation"] == "valid", good
        assert good["state"] == "awaiting" and good["signed_by"] == ["doctor"]
        assert good["next_signer"] == "pharmacist"
        bad = _workflow(
            recheck_hub,
            jobs["offline-revoked-rsa"]["document_id"],
            lambda w: w["revisions"][0]["validation"] != "revocation_unknown",
        )
        assert bad["revisions"][0]["validation"] == "revoked", bad
        assert bad["state"] == "invalid" and bad["signed_by"] == []
        sig = bad["revisions"][0]["signatures"][0]
        assert sig["verdict"] == "revoked" and sig["revoked_at"] == "2024-03-01T10:00:00+00:00"

        # And now that the CA answers, the agent refuses that certificate before any PIN.
        r = _submit(
            station,
            make_pdf(),
            _cert_id(station, "doctor", "offline-revoked-rsa"),
            "doctor",
            document_type="PRESCRIPTION",
        )
        assert r.status_code == 422 and r.json()["code"] == "certificate_revoked"
    finally:
        pki.stop_offline_ca()
        agent.stop()


def _sign_directly(pki: SigningPki, tmp_path: Path, label: str) -> bytes:
    """What a station that did not check revocation would produce: a B-B with pyHanko alone."""
    (tmp_path / "key.pem").write_bytes(pki.keys[label])
    (tmp_path / "cert.pem").write_bytes(pem(pki.certs[label]))
    (tmp_path / "interm.pem").write_bytes(pem(pki.certs["interm"]))
    signer = signers.SimpleSigner.load(
        str(tmp_path / "key.pem"), str(tmp_path / "cert.pem"), [str(tmp_path / "interm.pem")]
    )
    assert signer is not None
    meta = signers.PdfSignatureMetadata(
        field_name="Sig1", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
    )
    out = BytesIO()
    writer = IncrementalPdfFileWriter(BytesIO(make_pdf()), strict=False)
    asyncio.run(signers.PdfSigner(meta, signer).async_sign_pdf(writer, output=out))
    return out.getvalue()


def test_documents_signed_with_revoked_certificates_are_revoked_at_the_hub_by_ocsp_and_crl(
    station: Station, tmp_path: Path
) -> None:
    agent = station.agent
    for label, document_id in (("revoked-rsa", "DOC-REVOKED-1"), ("revoked-crl-rsa", "DOC-R2")):
        body = agent.bodies.submit(_sign_directly(station.pki, tmp_path, label), "application/pdf")
        agent.record.record(
            payload_name="signed_document",
            payload=events_pb2.SignedDocument(
                document_type="SPS-53",
                body=events_pb2.BodyRef(
                    sha256=bytes.fromhex(body.sha256), size=body.size, media_type="application/pdf"
                ),
                signer=events_pb2.SignerInfo(role="doctor", level=events_pb2.PADES_B_B),
                document_id=document_id,
            ),
            case_id="CASE-1",
            patient_id="PAT-1",
        )
    for document_id in ("DOC-REVOKED-1", "DOC-R2"):  # OCSP says so for one, the CRL for the other
        flow = _workflow(station.hub, document_id, lambda w: w["state"] != "pending_validation")
        revision = flow["revisions"][0]
        assert revision["validation"] == "revoked" and revision["validation_code"] == "revoked"
        assert "REVOCADO" in revision["validation_reason"]
        assert revision["signatures"][0]["revocation_source"] == "fetched"
        assert flow["state"] == "invalid" and flow["signed_by"] == []
        assert flow["next_signer"] is None
    with station.hub.api() as api:
        docs = api.get("/v1/cases/CASE-1/documents").json()["items"]
    assert {d["document_id"]: d["validation"] for d in docs} == {
        "DOC-REVOKED-1": "revoked",
        "DOC-R2": "revoked",
    }
    # The clinician console says it in words, in either language.
    row = _console_row(station.hub, "CASE-1", "DOC-REVOKED-1", "es")
    assert 'data-verdict="revoked"' in row and "NO VÁLIDA: certificado revocado" in row
    row = _console_row(station.hub, "CASE-1", "DOC-R2", "en")
    assert "INVALID: certificate revoked" in row and 'data-workflow="invalid"' in row


def _console_row(hub: Hub, case_id: str, document_id: str, lang: str) -> str:
    """The case page's row for a document, as a signed-in clinician reads it (es or en)."""
    password = "revocation console 2026"
    if not getattr(hub, "_clinician", False):
        subprocess.run(
            [sys.executable, "-m", "puente_cli.main", "hub", "user", "add", "--config",
             str(hub.config), "--name", "clara", "--role", "clinician"],
            env=dict(os.environ, PUENTE_HUB_USER_PASSWORD=password), check=True,
            capture_output=True,
        )  # fmt: skip
        hub._clinician = True  # type: ignore[attr-defined]
        with hub.api() as api:  # the case the station's events name, opened at the hub
            made = api.post(
                "/v1/cases", json={"case_id": case_id, "patient_id": "PAT-1", "unit_id": UNIT}
            )
            assert made.status_code in (201, 409), made.text
    with httpx.Client(base_url=hub.url, headers={"Accept-Language": lang}, timeout=20) as web:
        login = web.get("/console/login")
        csrf = re.search(r'name="csrf" value="([^"]+)"', login.text)
        assert csrf is not None, login.text
        signed_in = web.post(
            "/console/login",
            data={
                "csrf": csrf.group(1),
                "name": "clara",
                "password": password,
                "next": f"/console/cases/{case_id}",
            },
            follow_redirects=True,
        )
        assert signed_in.status_code == 200, signed_in.text
        row = re.search(
            rf'<tr data-document="{re.escape(document_id)}".*?</tr>', signed_in.text, re.S
        )
        assert row is not None, signed_in.text
        return re.sub(r"<[^>]+>", " ", row.group(0)) + row.group(0)


def test_without_trust_roots_the_status_is_unknown_and_no_ca_is_asked(pki: SigningPki) -> None:
    """Nobody to ask: UNKNOWN (the document type's policy decides), answered without making an
    event loop, so also from a thread that runs one; never GOOD, and never kept as GOOD."""
    from edge_agent.capabilities.signing.revocation import UNKNOWN, RevocationChecker

    checker = RevocationChecker([], [pki.certs["interm"]])

    async def from_a_running_loop() -> Any:
        return checker.status(pki.certs["doctor-rsa"])

    for status in (checker.status(pki.certs["doctor-rsa"]), asyncio.run(from_a_running_loop())):
        assert status.status == UNKNOWN and status.context is None
        assert "no trust roots" in status.detail
    assert checker._cache == {}
