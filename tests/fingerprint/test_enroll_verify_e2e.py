"""Through libfprint's virtual_image reader: enroll, verify, a signed confirmation on the case."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from drivers.fingerprint import calibration, synthetic
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from hub.service import HubService
from hub.settings import HubSettings
from tests.brokers import Mosquitto
from tests.fingerprint.virtual_image import VirtualImageFeeder

TOKEN = "fp-ops-token"
OPS = {"Authorization": f"Bearer {TOKEN}"}
ORIGIN = "https://medi.example.test"
SEED = 11


@pytest.fixture
def socket_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "fp-virtual.sock"
    monkeypatch.setenv("FP_VIRTUAL_IMAGE", str(path))
    return path


@pytest.fixture
def hub(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[HubService]:
    service = HubService(
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
    service.start()
    service.wait_ready(10)
    yield service
    service.stop()


def _wait(predicate, timeout: float = 30.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.1)
    raise AssertionError("condition not met in time")


def test_enroll_and_verify_through_libfprint_land_signed_on_the_case(
    tmp_path: Path, mosquitto: Mosquitto, hub: HubService, socket_path: Path
) -> None:
    api = hub.http_url
    assert (
        httpx.post(
            f"{api}/v1/stations", json={"station_id": "st-fp", "unit_id": "u1"}, headers=OPS
        ).status_code
        == 201
    )
    made = httpx.post(f"{api}/v1/tokens", json={"name": "st-fp", "role": "station"}, headers=OPS)
    assert made.status_code == 201, made.text
    station_token = made.json()["token"]
    assert (
        httpx.post(
            f"{api}/v1/cases",
            json={"case_id": "case-1", "patient_id": "pat-1", "unit_id": "u1"},
            headers=OPS,
        ).status_code
        == 201
    )

    settings = AgentSettings(
        station_id="st-fp",
        unit_id="u1",
        data_dir=tmp_path / "agent",
        broker_url=mosquitto.url,
        http_port=0,
        grpc_port=0,
        allowed_origins=[ORIGIN],
        devices=[
            {"device_id": "reader-1", "driver": "libfprint", "options": {"driver": "virtual_image"}}
        ],
        fingerprint={"hub_url": api, "hub_token": station_token},
    )
    agent = AgentService(settings)
    agent.start()
    feeder: VirtualImageFeeder | None = None
    try:
        assert agent.wait_ready(10)
        key = httpx.put(
            f"{api}/v1/stations/st-fp/key",
            json={"public_key_pem": agent.identity.public_key_pem},
            headers=OPS,
        )
        assert key.status_code == 200
        reader = agent.devices.get("reader-1").device
        feeder = VirtualImageFeeder(socket_path, reader.capturing.is_set).start()  # type: ignore[union-attr]
        local = httpx.Client(base_url=agent.http_url, headers={"Origin": ORIGIN}, timeout=60)

        for k in range(3):
            feeder.put(synthetic.impression(SEED, 0, k))
        enrolled = local.post(
            "/v1/fingerprint/enroll",
            json={
                "device_id": "reader-1",
                "case_id": "case-1",
                "patient_id": "pat-1",
                "finger": "RIGHT_INDEX",
                "operator_id": "nurse-7",
            },
        )
        assert enrolled.status_code == 201, enrolled.text
        assert len(enrolled.json()["impression_quality"]) == 3

        # the hub keeps the template encrypted; the station fetches it with its token
        templates = _wait(
            lambda: httpx.get(
                f"{api}/v1/patients/pat-1/fingerprint-templates",
                headers={"Authorization": f"Bearer {station_token}"},
            ).json()["templates"]
        )
        assert [t["finger"] for t in templates] == ["RIGHT_INDEX"]
        assert templates[0]["template_sha256"] == enrolled.json()["template_sha256"]
        import sqlite3

        db = sqlite3.connect(hub.settings.database_path)
        raw_events = b"".join(r[0] for r in db.execute("SELECT raw FROM events"))
        ciphertexts = b"".join(
            r[0] for r in db.execute("SELECT ciphertext FROM fingerprint_templates")
        )
        import base64

        template = base64.b64decode(templates[0]["template"])
        assert template not in raw_events and template not in ciphertexts
        db.close()

        feeder.put(synthetic.impression(SEED, 0, 5))  # the same patient, another touch
        match = local.post(
            "/v1/fingerprint/verify",
            json={
                "device_id": "reader-1",
                "case_id": "case-1",
                "patient_id": "pat-1",
                "step": "admission",
            },
        )
        assert match.status_code == 201, match.text
        body = match.json()
        assert (body["decision"], body["match"], body["templates_source"]) == ("MATCH", True, "hub")
        assert body["score"] >= body["threshold"] == calibration.THRESHOLD

        feeder.put(synthetic.impression(SEED, 1, 0))  # somebody else at the pharmacy
        other = local.post(
            "/v1/fingerprint/verify",
            json={
                "device_id": "reader-1",
                "case_id": "case-1",
                "patient_id": "pat-1",
                "step": "pharmacy_dispensing",
            },
        )
        assert other.status_code == 201, other.text
        assert other.json()["decision"] == "NO_MATCH"

        def case_view():  # type: ignore[no-untyped-def]
            r = httpx.get(f"{api}/v1/cases/case-1/biometrics", headers=OPS).json()
            return r if len(r["confirmations"]) == 2 else None

        view = _wait(case_view)
        assert {s["step"]: s["status"] for s in view["steps"]} == {
            "admission": "confirmed",
            "pharmacy_dispensing": "failed",
        }
        first = view["confirmations"][0]
        assert first["event_id"] == body["event_id"]
        assert (first["signature_valid"], first["signature_problem"]) == (True, "")
        assert first["reader"]["driver"] == "libfprint"
        assert first["reader"]["vendor"] == "libfprint:virtual_image"
        assert first["quality"] == body["quality"]
        case = httpx.get(f"{api}/v1/cases/case-1", headers=OPS).json()
        assert [(s["step"], s["status"]) for s in case["biometrics"]] == [
            ("admission", "confirmed"),
            ("pharmacy_dispensing", "failed"),
        ]

        # once the case is closed the patient is no longer this unit's: the hub refuses the
        # templates, and the station drops its cached copy instead of falling back to it
        assert agent.fingerprint.templates.cached("pat-1") != []
        closed = httpx.post(f"{api}/v1/cases/case-1/close", headers=OPS)
        assert closed.status_code == 200, closed.text
        refused = local.post(
            "/v1/fingerprint/verify",
            json={
                "device_id": "reader-1",
                "case_id": "case-1",
                "patient_id": "pat-1",
                "step": "admission",
            },
        )
        assert (refused.status_code, refused.json()["code"]) == (403, "templates_refused")
        assert refused.json()["detail"] == (
            "the hub refused: patient pat-1 has no open case in unit u1 of station st-fp: "
            "templates are given only for patients being served there / el paciente pat-1 no "
            "tiene un caso abierto en la unidad u1: solo se entregan plantillas de pacientes "
            "atendidos allí"
        )
        assert agent.fingerprint.templates.cached("pat-1") == []
    finally:
        if feeder is not None:
            feeder.stop()
        agent.stop()
