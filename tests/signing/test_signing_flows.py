"""Simple signatures, validation in document lists, workflow order, token pulled mid-signature,
gRPC, and jobs that outlive an agent restart — real SoftHSM2, real hub process, real agent."""

from __future__ import annotations

import hashlib
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import grpc
import httpx
import pytest

from drivers.token.pkcs11 import Pkcs11Tokens
from protos import events_pb2, signing_pb2, signing_pb2_grpc
from protos.simple_signature import SIGNATURE_ALGORITHM, Statement, UserAssertion
from tests.brokers import Mosquitto
from tests.e2e.processes import ORIGIN, Hub, wait_until
from tests.grpc_apps import OPERATOR_PIN, app_channel
from tests.signing.conftest import STATION, TOKENS, Station, make_station
from tests.signing.pdfs import make_pdf
from tests.signing.pki import PIN
from tests.signing.test_signing import _cert_id, _sign, _state, _submit, _workflow

pytestmark = pytest.mark.e2e


def _register_station_key(station: Station) -> None:
    with station.hub.api() as api:
        r = api.put(
            f"/v1/stations/{STATION}/key",
            json={"public_key_pem": station.agent.identity.public_key_pem},
        )
    assert r.status_code == 200, r.text


def _case_documents(hub: Hub, case_id: str, until: Any, timeout: float = 60) -> list[dict]:
    seen: list[dict] = []

    def check() -> bool:
        with hub.api() as api:
            r = api.get(f"/v1/cases/{case_id}/documents")
        assert r.status_code == 200, r.text
        seen[:] = r.json()["items"]
        return bool(until(seen))

    wait_until(check, timeout, f"documents of {case_id}")
    return seen


def _simple_submit(station: Station, pdf: bytes, **extra: str) -> Any:
    params = {
        "document_type": "CONSTANCIA",
        "case_id": "CASE-S",
        "patient_id": "PAT-S",
        "role": "clerk",
        "signature": "simple",
        "user_id": "u-4411",
        "user_name": "María López",
        **extra,
    }
    with station.client() as c:
        return c.post(
            "/v1/signing/jobs",
            params=params,
            content=pdf,
            headers={"Content-Type": "application/pdf"},
        )


def test_simple_signature_is_labelled_simple_verified_with_the_station_key_never_advanced(
    station: Station,
) -> None:
    _register_station_key(station)
    pdf = make_pdf("Constancia de atencion")
    r = _simple_submit(station, pdf)
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["kind"] == "simple" and job["cert_id"] is None and job["pin_needed"] is False
    assert job["user"] == {
        "user_id": "u-4411",
        "name": "María López",
        "role": "clerk",
        "system": ORIGIN,
    }
    with station.client() as app:
        page = app.get(job["consent_url"].replace(station.agent.http_url, "")).text
    assert "FIRMA ELECTRÓNICA SIMPLE / SIMPLE electronic signature" in page
    assert "NOT an advanced signature" in page and 'id="pin"' not in page
    assert "María López (u-4411)" in page

    assert 'id="operator_pin"' in page  # something only the person at the PC knows
    with station.consent_client() as c:  # a local program posting the click: refused
        forged = c.post(f"/v1/signing/jobs/{job['job_id']}/consent", json={})
        assert (forged.status_code, forged.json()["code"]) == (403, "operator_pin_required")
        assert c.get(f"/v1/signing/jobs/{job['job_id']}").json()["status"] == "awaiting_consent"
        done = c.post(
            f"/v1/signing/jobs/{job['job_id']}/consent", json={"operator_pin": OPERATOR_PIN}
        )
    assert done.status_code == 200, done.text
    done_job = done.json()
    assert done_job["status"] == "done" and done_job["level"] == "SIMPLE"
    # Detached: the PDF is kept exactly as it came, no /Sig a PDF reader could show.
    assert done_job["signed_sha256"] == hashlib.sha256(pdf).hexdigest()

    flow = _workflow(station.hub, job["document_id"], lambda w: w["state"] != "pending_validation")
    assert flow["state"] == "complete" and flow["signed_by"] == ["clerk"]
    rev = flow["revisions"][0]
    assert rev["signature_level"] == "SIMPLE" and rev["validation"] == "valid_simple"
    assert rev["validation_code"] == "valid"
    check = rev["signatures"][0]
    assert check["kind"] == "simple" and check["valid"] is True
    assert check["user"] == job["user"] and check["station_id"] == STATION

    docs = _case_documents(station.hub, "CASE-S", lambda d: d and d[0]["validation"] != "pending")
    assert [(d["signature_level"], d["validation"]) for d in docs] == [("SIMPLE", "valid_simple")]

    # A forged statement (signed by the station, but naming another case) is invalid at the hub.
    agent = station.agent
    body = agent.bodies.submit(pdf, "application/pdf")
    statement = Statement(
        document_sha256=body.sha256, document_size=body.size, document_type="CONSTANCIA",
        document_id="doc-forged", case_id="CASE-OTHER", patient_id="PAT-S", station_id=STATION,
        signed_at=datetime.now(UTC).isoformat(),
        user=UserAssertion("u-4411", "María López", "clerk", ORIGIN),
    ).to_bytes()  # fmt: skip
    agent.record.record(
        payload_name="signed_document",
        payload=events_pb2.SignedDocument(
            document_type="CONSTANCIA",
            body=events_pb2.BodyRef(
                sha256=bytes.fromhex(body.sha256), size=body.size, media_type="application/pdf"
            ),
            signer=events_pb2.SignerInfo(role="clerk", level=events_pb2.SIMPLE),
            document_id="doc-forged",
            simple_signature=events_pb2.SimpleSignature(
                statement=statement,
                station_signature=agent.identity.sign(statement),
                signature_algorithm=SIGNATURE_ALGORITHM,
                station_key_sha256=agent.identity.public_key_sha256,
            ),
        ),
        case_id="CASE-S",
        patient_id="PAT-S",
    )
    forged = _workflow(station.hub, "doc-forged", lambda w: w["state"] != "pending_validation")
    assert forged["state"] == "invalid"
    assert forged["revisions"][0]["validation"] == "invalid"
    assert forged["revisions"][0]["validation_code"] == "statement_mismatch"
    docs = _case_documents(station.hub, "CASE-S", lambda d: len(d) == 2
                           and all(x["validation"] != "pending" for x in d))  # fmt: skip
    by_doc = {d["document_id"]: d["validation"] for d in docs}
    assert by_doc == {job["document_id"]: "valid_simple", "doc-forged": "invalid"}


def test_simple_signature_is_refused_where_the_document_type_requires_the_token(
    station: Station,
) -> None:
    r = _simple_submit(station, make_pdf(), document_type="SPS-53", role="doctor")
    assert r.status_code == 422, r.text
    assert r.json()["code"] == "simple_not_allowed"
    r = _simple_submit(station, make_pdf(), user_id="", user_name="")
    assert r.status_code == 422 and r.json()["code"] == "user_assertion_required"


def test_document_lists_show_validation_and_a_tampered_revision_never_looks_valid(
    station: Station,
) -> None:
    signed = _sign(station, make_pdf(), _cert_id(station, "doctor", "doctor-ec"), "doctor")
    data = bytearray(signed["pdf"])
    data[data.index(b"SPS-53 Certificado")] ^= 0x01
    agent = station.agent
    body = agent.bodies.submit(bytes(data), "application/pdf")
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
    docs = _case_documents(station.hub, "CASE-1", lambda d: len(d) == 2
                           and all(x["validation"] != "pending" for x in d))  # fmt: skip
    by_sha = {d["sha256"]: (d["validation"], d["validation_code"]) for d in docs}
    assert by_sha == {
        signed["signed_sha256"]: ("valid", "valid"),
        body.sha256: ("invalid", "broken"),
    }
    with station.hub.api() as api:
        listed = api.get("/v1/documents", params={"document_type": "SPS-53"}).json()["items"]
        one = api.get(f"/v1/documents/{signed['document_id']}").json()
    assert {d["sha256"]: d["validation"] for d in listed} == {
        signed["signed_sha256"]: "valid",
        body.sha256: "invalid",
    }
    assert [d["validation"] for d in one] == ["valid", "invalid"]


def test_director_signing_before_the_doctor_is_out_of_order(station: Station) -> None:
    director = _cert_id(station, "director", "director-rsa")
    first = _sign(station, make_pdf(), director, "director")
    flow = _workflow(
        station.hub, first["document_id"], lambda w: w["state"] != "pending_validation"
    )
    assert flow["state"] == "out_of_order", flow
    assert flow["signed_by"] == ["director"] and flow["awaiting"] == ["doctor"]
    assert flow["revisions"][0]["validation"] == "valid"


@pytest.mark.parametrize("stage", ["logged_in", "signing"])
def test_token_pulled_out_during_the_signature_rebuilds_the_session_then_signs(
    station: Station, stage: str
) -> None:
    cert = _cert_id(station, "doctor", "doctor-rsa")
    job = _submit(station, make_pdf(), cert, "doctor").json()
    driver = station.agent.devices.device("token-1")
    assert isinstance(driver, Pkcs11Tokens)
    rebuilds = driver.rebuilds
    driver.stage_hook = station.hsm.unplug_at(stage)  # pulled out right after C_Login / at C_Sign
    try:
        with station.consent_client() as c:
            r = c.post(f"/v1/signing/jobs/{job['job_id']}/consent", json={"pin": PIN})
        assert r.status_code == 503, r.text
        problem = r.json()
        assert problem["code"] == "token_absent"
        assert "removed during the signature" in problem["detail"]
        assert driver.rebuilds == rebuilds + 1  # the session was torn down and rebuilt
        assert driver.session_open(cert) is False and driver.tokens() == []
        with station.client() as app:
            state = app.get(f"/v1/signing/jobs/{job['job_id']}").json()
        assert state["status"] == "awaiting_consent" and state["error_code"] == "token_absent"
        assert state["event_id"] is None and state["signed_sha256"] is None
    finally:
        driver.stage_hook = None
        station.hsm.plug()
    # The driver finds the token again on its own (presence poll), then signing works.
    wait_until(lambda: len(driver.tokens()) == 2, 20, "token back in the driver")
    wait_until(lambda: _state(station) == "CONNECTED", 20, "token back")
    with station.consent_client() as c:
        r = c.post(f"/v1/signing/jobs/{job['job_id']}/consent", json={"pin": PIN})
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "done" and r.json()["level"] == "B-B"


def test_grpc_signing_service_lists_submits_and_returns_the_signed_pdf(station: Station) -> None:
    with app_channel(station.agent) as channel:
        stub = signing_pb2_grpc.SigningStub(channel)
        listing = stub.ListCertificates(signing_pb2.ListCertificatesRequest(), timeout=20)
        labels = sorted((c.token_label, c.subject.split(",")[0]) for c in listing.certificates)
        assert len(labels) == sum(len(keys) for keys in TOKENS.values())
        cert = _cert_id(station, "doctor", "doctor-ec")
        with pytest.raises(grpc.RpcError) as bad:
            stub.SubmitDocument(
                signing_pb2.SubmitDocumentRequest(
                    document_type="SPS-35", case_id="CASE-G", patient_id="PAT-G", role="doctor",
                    pdf=b"%PDX not a pdf", cert_id=cert,
                ),
                timeout=20,
            )  # fmt: skip
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        pdf = make_pdf()
        job = stub.SubmitDocument(
            signing_pb2.SubmitDocumentRequest(
                document_type="SPS-35", case_id="CASE-G", patient_id="PAT-G", role="doctor",
                pdf=pdf, cert_id=cert, origin="app:clinic-desktop",
            ),
            timeout=20,
        )  # fmt: skip
        assert job.status == "awaiting_consent" and job.kind == "advanced"
        assert job.input_sha256 == hashlib.sha256(pdf).hexdigest()
        assert job.consent_url == f"{station.agent.http_url}/v1/signing/consent/{job.job_id}"
        with station.consent_client() as c:
            assert c.post(f"/v1/signing/jobs/{job.job_id}/consent", json={"pin": PIN}).is_success
        done = stub.GetJob(signing_pb2.GetJobRequest(job_id=job.job_id, wait_s=10), timeout=20)
        assert done.status == "done" and done.level == "B-B" and done.event_id
        signed = stub.GetSignedPdf(signing_pb2.GetJobRequest(job_id=job.job_id), timeout=20)
        assert hashlib.sha256(signed.pdf).hexdigest() == signed.sha256 == done.signed_sha256
        with pytest.raises(grpc.RpcError) as missing:
            stub.GetJob(signing_pb2.GetJobRequest(job_id="nope"), timeout=20)
        assert missing.value.code() == grpc.StatusCode.NOT_FOUND
    flow = _workflow(station.hub, job.document_id, lambda w: w["state"] != "pending_validation")
    assert flow["state"] == "complete"


def test_consent_and_long_poll_can_answer_with_the_signed_pdf_itself(station: Station) -> None:
    job = _submit(station, make_pdf(), _cert_id(station, "doctor", "doctor-rsa"), "doctor").json()
    with station.consent_client() as c:
        r = c.post(
            f"/v1/signing/jobs/{job['job_id']}/consent",
            json={"pin": PIN},
            headers={"Accept": "application/pdf"},
        )
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert hashlib.sha256(r.content).hexdigest() == r.headers["x-puente-sha256"]
    assert r.headers["x-puente-signature-level"] == "B-B"
    with station.client() as app:
        polled = app.get(
            f"/v1/signing/jobs/{job['job_id']}",
            params={"wait_s": 5},
            headers={"Accept": "application/pdf"},
        )
        as_json = app.get(f"/v1/signing/jobs/{job['job_id']}").json()
    assert polled.content == r.content
    assert as_json["signed_pdf_url"] == f"/v1/signing/jobs/{job['job_id']}/pdf"


def test_a_long_poll_waiting_while_the_person_consents_answers_with_the_signed_pdf(
    station: Station,
) -> None:
    """The web app long-polls as soon as it has the job (it cannot know when the click comes):
    the signature's end wakes it with the signed PDF, the same bytes the job names."""
    job = _submit(station, make_pdf(), _cert_id(station, "doctor", "doctor-rsa"), "doctor").json()
    with station.client() as app, ThreadPoolExecutor(1) as poller:
        waiting = poller.submit(
            app.get,
            f"/v1/signing/jobs/{job['job_id']}",
            params={"wait_s": 30},
            headers={"Accept": "application/pdf"},
        )
        time.sleep(0.3)  # the long-poll is (most likely) waiting before the click
        with station.consent_client() as c:
            consented = c.post(f"/v1/signing/jobs/{job['job_id']}/consent", json={"pin": PIN})
        polled = waiting.result(timeout=60)
    assert consented.status_code == 200 and consented.json()["status"] == "done"
    assert polled.status_code == 200 and polled.headers["content-type"] == "application/pdf"
    assert polled.headers["x-puente-job-status"] == "done"
    assert hashlib.sha256(polled.content).hexdigest() == consented.json()["signed_sha256"]


def test_a_large_signed_pdf_is_streamed_whole_from_its_body_file(station: Station) -> None:
    """Past 4 MiB the answer streams from the body file (1 MiB reads): every byte, hash intact."""
    pdf = make_pdf(padding_bytes=6 * 1024 * 1024)
    job = _submit(station, pdf, _cert_id(station, "doctor", "doctor-rsa"), "doctor").json()
    with station.consent_client() as c:
        r = c.post(
            f"/v1/signing/jobs/{job['job_id']}/consent",
            json={"pin": PIN},
            headers={"Accept": "application/pdf"},
        )
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert int(r.headers["content-length"]) == len(r.content) > len(pdf)
    assert r.content.startswith(pdf)  # an incremental update: the input, then the signature
    assert hashlib.sha256(r.content).hexdigest() == r.headers["x-puente-sha256"]


def test_a_job_awaiting_consent_survives_an_agent_restart(
    tmp_path: Path, mosquitto: Mosquitto, sign_hub: Hub, hsm: Any, pki: Any
) -> None:
    agent = make_station(tmp_path, mosquitto, sign_hub, hsm, pki)
    try:
        station = Station(agent, sign_hub, hsm, pki)
        pdf = make_pdf()
        job = _submit(station, pdf, _cert_id(station, "doctor", "doctor-rsa"), "doctor").json()
    finally:
        agent.stop()
    agent = make_station(tmp_path, mosquitto, sign_hub, hsm, pki)  # same data dir
    try:
        station = Station(agent, sign_hub, hsm, pki)
        assert agent.signing.restored == 1
        with station.client() as app:
            back = app.get(f"/v1/signing/jobs/{job['job_id']}").json()
        assert back["status"] == "awaiting_consent"
        assert back["input_sha256"] == hashlib.sha256(pdf).hexdigest()
        assert back["document_id"] == job["document_id"]
        wait_until(lambda: _state(station) == "CONNECTED", 20, "token")
        with station.consent_client() as c:
            r = c.post(f"/v1/signing/jobs/{job['job_id']}/consent", json={"pin": PIN})
        assert r.status_code == 200, r.text
        flow = _workflow(sign_hub, job["document_id"], lambda w: w["state"] != "pending_validation")
        assert flow["state"] == "awaiting" and flow["revisions"][0]["validation"] == "valid"
        # The input is dropped once signed.
        agent.signing.store.flush()
        assert sorted((tmp_path / "agent" / "signing" / "inputs").iterdir()) == []
    finally:
        agent.stop()


def test_b_t_is_validated_at_its_timestamp_time(
    tmp_path: Path, mosquitto: Mosquitto, sign_hub: Hub, hsm: Any, pki: Any
) -> None:
    agent = make_station(tmp_path, mosquitto, sign_hub, hsm, pki, tsa_url=pki.tsa_url,
                         long_term=False)  # fmt: skip
    try:
        station = Station(agent, sign_hub, hsm, pki)
        signed = _sign(station, make_pdf(), _cert_id(station, "doctor", "doctor-ec"), "doctor")
        assert signed["level"] == "B-T"
        flow = _workflow(
            sign_hub, signed["document_id"], lambda w: w["state"] != "pending_validation"
        )
        sig = flow["revisions"][0]["signatures"][0]
        assert flow["revisions"][0]["validation"] == "valid", flow
        assert (sig["level"], sig["time_source"]) == ("B-T", "timestamp")
        assert sig["validated_at"] == sig["timestamp_at"]
    finally:
        agent.stop()


def test_many_waiting_long_polls_do_not_hold_back_the_consent_that_ends_them(
    station: Station,
) -> None:
    """Long-polls wait on the event loop, not on worker threads: with more of them waiting
    than AnyIO's 40 worker threads (every blocking route's), the consent (which runs on one
    of those threads) still signs at once, and every poll is answered with the end."""
    job = _submit(station, make_pdf(), _cert_id(station, "doctor", "doctor-rsa"), "doctor").json()
    polls = 48
    url = f"/v1/signing/jobs/{job['job_id']}"
    limits = httpx.Limits(max_connections=polls + 4)
    with (
        httpx.Client(
            base_url=station.agent.http_url, headers={"Origin": ORIGIN}, timeout=60, limits=limits
        ) as app,
        ThreadPoolExecutor(polls) as pollers,
    ):
        waiting = [pollers.submit(app.get, url, params={"wait_s": 60}) for _ in range(polls)]
        # Every poll waiting before the click (at most 5 s: an agent whose polls hold threads
        # keeps no list of waiters, and its consent must then be seen to wait behind them).
        deadline = time.monotonic() + 5
        while _waiting_long_polls(station) < polls and time.monotonic() < deadline:
            time.sleep(0.05)
        with station.consent_client() as c:
            consented = c.post(f"{url}/consent", json={"pin": PIN}, timeout=15)
        answers = [w.result(timeout=30) for w in waiting]
    assert consented.status_code == 200 and consented.json()["status"] == "done"
    assert all(a.status_code == 200 and a.json()["status"] == "done" for a in answers)
    assert {a.json()["signed_sha256"] for a in answers} == {consented.json()["signed_sha256"]}


def _waiting_long_polls(station: Station) -> int:
    assert station.agent.services is not None
    jobs = station.agent.services.signing.jobs.values()
    return sum(len(getattr(j.progress, "_async_waiters", ())) for j in jobs)
