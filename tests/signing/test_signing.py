"""Signing with a real SoftHSM2 token through the agent, validated at a real hub process."""

from __future__ import annotations

import base64
import hashlib
import logging
import sqlite3
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.brokers import Mosquitto
from tests.e2e.processes import Hub, wait_until
from tests.signing.conftest import Station, make_station
from tests.signing.pdfs import make_pdf
from tests.signing.pki import PIN, WRONG_PIN

pytestmark = pytest.mark.e2e


def _state(station: Station) -> str:
    from protos import events_pb2

    return events_pb2.DeviceState.Name(station.agent.devices.get("token-1").state)


def _cert_id(station: Station, token_label: str, key_label: str) -> str:
    with station.client() as c:
        listing = c.get("/v1/signing/tokens").json()
    for cert in listing["certificates"]:
        if cert["token_label"] == token_label and cert["label"] == key_label:
            return str(cert["cert_id"])
    raise AssertionError(f"no {key_label} on {token_label}: {listing}")


def _submit(
    station: Station, pdf: bytes, cert_id: str, role: str, json_form: bool = False, **extra: Any
) -> httpx.Response:
    """The raw PDF with metadata in the query (the fast path), or the JSON form with base64."""
    meta = {
        "document_type": "SPS-53",
        "case_id": "CASE-1",
        "patient_id": "PAT-1",
        "role": role,
        "cert_id": cert_id,
        **extra,
    }
    with station.client() as c:
        if json_form:
            return c.post(
                "/v1/signing/jobs", json={**meta, "pdf_base64": base64.b64encode(pdf).decode()}
            )
        return c.post(
            "/v1/signing/jobs",
            params=meta,
            content=pdf,
            headers={"Content-Type": "application/pdf"},
        )


def _sign(station: Station, pdf: bytes, cert_id: str, role: str, **extra: Any) -> dict[str, Any]:
    job = _submit(station, pdf, cert_id, role, **extra)
    assert job.status_code == 202, job.text
    job_id = job.json()["job_id"]
    with station.consent_client() as c:
        done = c.post(f"/v1/signing/jobs/{job_id}/consent", json={"pin": PIN})
    assert done.status_code == 200, done.text
    with station.client() as c:
        result = c.get(f"/v1/signing/jobs/{job_id}", params={"wait_s": 5}).json()
        result["pdf"] = c.get(f"/v1/signing/jobs/{job_id}/pdf").content
    return result


def _workflow(hub: Hub, document_id: str, until: Any, timeout: float = 60) -> dict[str, Any]:
    seen: dict[str, Any] = {}

    def check() -> bool:
        with hub.api() as api:
            r = api.get(f"/v1/documents/{document_id}/workflow")
        if r.status_code != 200:
            return False
        seen.update(r.json())
        return bool(until(seen))

    wait_until(check, timeout, f"workflow of {document_id}")
    return seen


def test_doctor_then_director_sign_in_turn_and_both_validate_at_the_hub(
    station: Station,
) -> None:
    pdf = make_pdf()
    doctor = _cert_id(station, "doctor", "doctor-rsa")
    director = _cert_id(station, "director", "director-ec")

    first = _sign(station, pdf, doctor, "doctor")
    assert first["status"] == "done" and first["level"] == "B-B"
    assert hashlib.sha256(first["pdf"]).hexdigest() == first["signed_sha256"]
    flow = _workflow(
        station.hub, first["document_id"], lambda w: w["state"] != "pending_validation"
    )
    assert flow["state"] == "awaiting"
    assert flow["signed_by"] == ["doctor"] and flow["awaiting"] == ["director"]
    assert flow["next_signer"] == "director"

    second = _sign(station, first["pdf"], director, "director", document_id=first["document_id"])
    assert second["status"] == "done"
    flow = _workflow(station.hub, first["document_id"], lambda w: len(w["revisions"]) == 2
                     and w["state"] != "pending_validation")  # fmt: skip
    assert flow["state"] == "complete", flow
    assert flow["signed_by"] == ["doctor", "director"] and flow["awaiting"] == []
    latest = flow["revisions"][1]
    assert latest["previous_sha256"] == first["signed_sha256"]
    assert latest["validation"] == "valid"
    # The director's revision still carries the doctor's signature, intact and trusted.
    assert [s["valid"] for s in latest["signatures"]] == [True, True]
    assert "Ana Pérez" in latest["signatures"][0]["signer_subject"]
    assert "Luis Gómez" in latest["signatures"][1]["signer_subject"]


def test_one_flipped_byte_after_signing_is_flagged_invalid_at_the_hub(station: Station) -> None:
    signed = _sign(station, make_pdf(), _cert_id(station, "doctor", "doctor-ec"), "doctor")
    data = bytearray(signed["pdf"])
    at = data.index(b"SPS-53 Certificado")  # inside the signed page content
    data[at] ^= 0x01
    tampered = bytes(data)
    # A corrupted copy reaches the hub under the same document (as a faulty disk would).
    agent = station.agent
    body = agent.bodies.submit(tampered, "application/pdf")
    from protos import events_pb2

    agent.record.record(
        payload_name="signed_document",
        payload=events_pb2.SignedDocument(
            document_type="SPS-53",
            body=events_pb2.BodyRef(
                sha256=bytes.fromhex(body.sha256), size=body.size, media_type="application/pdf"
            ),
            signer=events_pb2.SignerInfo(role="director", level=events_pb2.PADES_B_B),
            document_id=signed["document_id"],
        ),
        case_id="CASE-1",
        patient_id="PAT-1",
    )
    flow = _workflow(
        station.hub,
        signed["document_id"],
        lambda w: len(w["revisions"]) == 2 and w["state"] != "pending_validation",
    )
    assert flow["state"] == "invalid"
    assert flow["revisions"][0]["validation"] == "valid"
    bad = flow["revisions"][1]
    assert bad["validation"] == "invalid" and bad["validation_code"] == "broken"
    assert bad["signatures"][0]["intact"] is False
    assert flow["next_signer"] is None
    # Kept, never shown as valid.
    with station.hub.api() as api:
        assert api.get(f"/v1/bodies/{body.sha256}").status_code == 200


def _logged_text(records: list[logging.LogRecord]) -> str:
    """Everything a log handler could write: messages, arguments, extras, tracebacks."""
    out = []
    for r in records:
        out.append(r.getMessage())
        out.append(repr(r.args))
        out.append(repr({k: v for k, v in vars(r).items() if k not in ("msg", "args")}))
        if r.exc_info:
            out.append(logging.Formatter().formatException(r.exc_info))
    return "\n".join(out)


def test_wrong_pin_is_refused_with_its_own_error_and_the_job_stays_open(
    station: Station, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)  # every logger of the in-process agent, at every level
    job = _submit(
        station, make_pdf(), _cert_id(station, "doctor", "doctor-rsa"), "doctor", json_form=True
    ).json()
    with station.consent_client() as c:
        r = c.post(f"/v1/signing/jobs/{job['job_id']}/consent", json={"pin": WRONG_PIN})
        assert r.status_code == 403, r.text
        assert r.json()["code"] == "wrong_pin"
        with station.client() as app:
            state = app.get(f"/v1/signing/jobs/{job['job_id']}").json()
        assert state["status"] == "awaiting_consent" and state["error_code"] == "wrong_pin"
        # The user types it again (no automatic retry): it signs.
        r = c.post(f"/v1/signing/jobs/{job['job_id']}/consent", json={"pin": PIN})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "done"
    # Neither PIN reached a log record, the audit log, the outbox or the job store.
    logged = _logged_text(caplog.records)
    assert "signing job" in logged  # the capture did see the agent's signing logs
    assert WRONG_PIN not in logged and PIN not in logged
    data_dir = station.agent.settings.data_dir
    audit = data_dir / "audit.log"
    audit_text = audit.read_bytes() if audit.exists() else b""
    assert WRONG_PIN.encode() not in audit_text and PIN.encode() not in audit_text
    station.agent.signing.store.flush()  # the job store's writes have landed
    outbox = [p for p in data_dir.iterdir() if p.name.startswith("outbox")]  # db, -wal, -shm
    jobs = [p for p in (data_dir / "signing").iterdir() if p.is_file()]
    assert outbox and jobs
    for path in outbox + jobs:
        raw = path.read_bytes()
        assert WRONG_PIN.encode() not in raw and PIN.encode() not in raw, path


def test_the_calling_site_cannot_give_consent_itself(station: Station) -> None:
    job = _submit(station, make_pdf(), _cert_id(station, "doctor", "doctor-rsa"), "doctor").json()
    with station.client() as app:  # the web app's own origin
        r = app.post(f"/v1/signing/jobs/{job['job_id']}/consent", json={"pin": PIN})
    assert r.status_code == 403 and r.json()["code"] == "consent_origin"
    with station.client() as app:
        page = app.get(job["consent_url"].replace(station.agent.http_url, ""))
    assert page.status_code == 200
    assert "https://medi.example.test" in page.text and "SPS-53" in page.text
    assert "CASE-1" in page.text and "PAT-1" in page.text and job["input_sha256"] in page.text
    # The CA was asked before the page asks for a PIN, and the page says what it answered.
    assert job["revocation"] == "good"
    assert "Certificate checked with its CA: not revoked" in page.text
    assert page.headers["x-frame-options"] == "DENY"


def test_token_pulled_out_before_the_signature_then_put_back(station: Station) -> None:
    cert = _cert_id(station, "doctor", "doctor-rsa")
    job = _submit(station, make_pdf(), cert, "doctor").json()
    station.hsm.unplug()
    try:
        wait_until(
            lambda: _state(station) == "DISCONNECTED",
            20,
            "token reported absent",
        )
        with station.consent_client() as c:
            r = c.post(f"/v1/signing/jobs/{job['job_id']}/consent", json={"pin": PIN})
        assert r.status_code == 503, r.text
        assert r.json()["code"] == "token_absent"
    finally:
        station.hsm.plug()
    wait_until(
        lambda: _state(station) == "CONNECTED",
        20,
        "token back",
    )
    with station.consent_client() as c:
        r = c.post(f"/v1/signing/jobs/{job['job_id']}/consent", json={"pin": PIN})
    assert r.status_code == 200, r.text
    # Removal and reinsertion reached the hub as device status events.
    wait_until(
        lambda: (
            len(
                station.hub.query(
                    "SELECT event_id FROM events WHERE kind = 'device_status' AND device_id = 'token-1'"  # noqa: E501
                )
            )
            >= 3
        ),
        30,
        "device status events at the hub",
    )


def test_expired_certificate_is_refused_before_any_pin(station: Station) -> None:
    r = _submit(station, make_pdf(), _cert_id(station, "doctor", "expired-rsa"), "doctor")
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "certificate_expired"


def test_a_file_that_is_not_a_pdf_is_refused_and_nothing_is_stored(station: Station) -> None:
    # Let the token's connection events reach the hub first, so the depth is exactly known.
    wait_until(lambda: station.agent.outbox.depth()[0] == 0, 30, "outbox drained")
    r = _submit(station, b"GIF89a not a pdf at all", _cert_id(station, "doctor", "doctor-rsa"),
                "doctor")  # fmt: skip
    assert r.status_code == 415 and r.json()["code"] == "not_a_pdf"
    data_dir = station.agent.settings.data_dir
    assert sorted(p.name for p in (data_dir / "bodies").iterdir()) == []
    assert sorted(p.name for p in (data_dir / "signing" / "inputs").iterdir()) == []
    assert len(station.agent.signing.jobs) == 0
    depth, size, _oldest = station.agent.outbox.depth()
    assert (depth, size) == (0, 0)
    with sqlite3.connect(station.agent.settings.outbox_path) as db:
        assert db.execute("SELECT COUNT(*) FROM outbox").fetchone() == (0,)


def test_b_t_carries_the_local_tsa_timestamp_and_b_lt_validates_with_responders_stopped(
    tmp_path: Path, mosquitto: Mosquitto, sign_hub: Hub, hsm: Any, pki: Any
) -> None:
    agent = make_station(tmp_path, mosquitto, sign_hub, hsm, pki, tsa_url=pki.tsa_url)
    station = Station(agent, sign_hub, hsm, pki)
    try:
        signed = _sign(station, make_pdf(), _cert_id(station, "doctor", "doctor-rsa"), "doctor")
        assert signed["level"] == "B-LT"
        pki.stop()  # no OCSP, CRL or TSA from here on: the hub must use what is embedded
        try:
            flow = _workflow(
                sign_hub, signed["document_id"], lambda w: w["state"] != "pending_validation"
            )
        finally:
            pki.start()
        sig = flow["revisions"][0]["signatures"][0]
        assert flow["revisions"][0]["validation"] == "valid", flow
        assert sig["level"] == "B-LT" and sig["revocation_checked"] is True
        assert sig["timestamp_at"] is not None
    finally:
        agent.stop()
