"""A local process cannot consent: real SoftHSM2 token with an open session, real agent and hub.

The "local process" is httpx posting the consent with the agent's own Origin, as
the consent page's script would, but without what only the person knows.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import grpc
import pytest

from drivers.token.sim import SoftHsm
from protos import signing_pb2, signing_pb2_grpc
from tests.brokers import Mosquitto
from tests.e2e.processes import Hub
from tests.grpc_apps import OPERATOR_PIN, app_channel
from tests.signing.conftest import Station, make_station
from tests.signing.pdfs import make_pdf
from tests.signing.pki import PIN, SigningPki
from tests.signing.test_signing import _cert_id, _sign, _submit

pytestmark = pytest.mark.e2e


@pytest.fixture
def open_session_station(
    tmp_path: Path, mosquitto: Mosquitto, sign_hub: Hub, hsm: SoftHsm, pki: SigningPki
) -> Iterator[Station]:
    """The token keeps its session open for 2 minutes after a PIN (the driver's idle_s)."""
    agent = make_station(tmp_path, mosquitto, sign_hub, hsm, pki, token_idle_s=120)
    try:
        yield Station(agent, sign_hub, hsm, pki)
    finally:
        agent.stop()


def _open_session(station: Station) -> str:
    cert = _cert_id(station, "doctor", "doctor-rsa")
    first = _sign(station, make_pdf("Primera"), cert, "doctor")  # the person typed the PIN
    assert first["status"] == "done"
    driver = station.agent.devices.get("token-1").device
    assert driver.session_open(cert)  # type: ignore[union-attr]  # the idle window is open
    return cert


def test_an_open_token_session_does_not_let_a_local_process_sign(
    open_session_station: Station,
) -> None:
    station = open_session_station
    cert = _open_session(station)
    submitted = _submit(station, make_pdf("Segunda"), cert, "doctor")
    assert submitted.status_code == 202, submitted.text
    job = submitted.json()
    assert job["pin_needed"] is True  # by default, the PIN for every advanced signature
    with station.client() as app:
        page = app.get(f"/v1/signing/consent/{job['job_id']}").text
    assert 'id="pin"' in page

    with station.consent_client() as program:  # the agent's own Origin, no PIN, no person
        forged = program.post(f"/v1/signing/jobs/{job['job_id']}/consent", json={})
        assert (forged.status_code, forged.json()["code"]) == (401, "pin_required")
        forged_op = program.post(
            f"/v1/signing/jobs/{job['job_id']}/consent", json={"operator_pin": OPERATOR_PIN}
        )
        assert forged_op.json()["code"] == "pin_required"  # the operator PIN is not the token's
        state = program.get(f"/v1/signing/jobs/{job['job_id']}").json()
        assert state["status"] == "awaiting_consent" and state["event_id"] is None
        assert state["signed_sha256"] is None

        done = program.post(f"/v1/signing/jobs/{job['job_id']}/consent", json={"pin": PIN})
    assert done.status_code == 200 and done.json()["status"] == "done"


def test_where_the_policy_allows_session_reuse_the_operator_pin_is_asked_instead(
    tmp_path: Path, mosquitto: Mosquitto, sign_hub: Hub, hsm: SoftHsm, pki: SigningPki
) -> None:
    agent = make_station(
        tmp_path,
        mosquitto,
        sign_hub,
        hsm,
        pki,
        token_idle_s=120,
        session_reuse_document_types=["SPS-53"],
    )
    station = Station(agent, sign_hub, hsm, pki)
    try:
        cert = _open_session(station)
        job = _submit(station, make_pdf("Tercera"), cert, "doctor").json()
        assert job["pin_needed"] is False
        with station.client() as app:
            page = app.get(f"/v1/signing/consent/{job['job_id']}").text
        assert 'id="operator_pin"' in page and 'id="pin"' not in page
        with station.consent_client() as program:
            forged = program.post(f"/v1/signing/jobs/{job['job_id']}/consent", json={})
            assert (forged.status_code, forged.json()["code"]) == (403, "operator_pin_required")
            assert program.get(f"/v1/signing/jobs/{job['job_id']}").json()["status"] == (
                "awaiting_consent"
            )
            done = program.post(
                f"/v1/signing/jobs/{job['job_id']}/consent", json={"operator_pin": OPERATOR_PIN}
            )
        assert done.status_code == 200, done.text
        assert done.json()["status"] == "done"
    finally:
        agent.stop()


def test_a_grpc_caller_is_named_by_its_credential_never_by_what_it_declares(
    open_session_station: Station,
) -> None:
    station = open_session_station
    pdf = make_pdf("Desde una aplicacion")
    request = signing_pb2.SubmitDocumentRequest(
        document_type="SPS-53",
        case_id="CASE-G",
        patient_id="PAT-G",
        role="doctor",
        pdf=pdf,
        cert_id=_cert_id(station, "doctor", "doctor-rsa"),
        origin="https://medi.igss.gob.gt",  # self-declared: ignored
    )
    with (
        grpc.insecure_channel(station.agent.grpc_target) as bare,
        pytest.raises(grpc.RpcError) as refused,
    ):
        signing_pb2_grpc.SigningStub(bare).SubmitDocument(request, timeout=20)
    assert refused.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with app_channel(station.agent, "Farmacia HIS") as channel:
        job = signing_pb2_grpc.SigningStub(channel).SubmitDocument(request, timeout=20)
    with station.client() as app:
        page = app.get(f"/v1/signing/consent/{job.job_id}").text
        view = app.get(f"/v1/signing/jobs/{job.job_id}").json()
    assert "medi.igss.gob.gt" not in page
    assert '<strong id="origin">Farmacia HIS</strong>' in page
    assert "Authenticated local application" in page
    assert view["origin"] == "app:Farmacia HIS"
    board = station.agent.activity.snapshot()
    assert [(a["origin"], a["case_id"]) for a in board["recent"]] == [
        ("app:Farmacia HIS", "CASE-G")
    ]
