"""Hub side: confirmations verify with the key the station had then (rotation keeps old ones
valid), template access is limited to patients with an open case in the station's unit, and the
case payload shows each biometric step."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from edge_agent.identity import StationIdentity
from hub.service import HubService
from hub.settings import HubSettings
from protos import CONTRACT_VERSION, events_pb2
from protos.biometric_signing import SIGNATURE_ALGORITHM, canonical_bytes
from protos.event_ids import new_event_id
from tests.brokers import Mosquitto
from tests.hub.events import batch_bytes
from tests.hub.station import FakeStation

TOKEN = "fp-keys-ops"
OPS = {"Authorization": f"Bearer {TOKEN}"}
STATION, UNIT = "st-rot", "u-rot"


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


def _confirmation(identity: StationIdentity, seq: int, step: str) -> events_pb2.Event:
    event = events_pb2.Event(
        event_id=new_event_id(),
        station_id=STATION,
        unit_id=UNIT,
        device_id="reader-1",
        case_id="case-r",
        patient_id="pat-r",
        station_seq=seq,
        schema_version=CONTRACT_VERSION,
    )
    event.occurred_at.FromNanoseconds(time.time_ns())
    event.biometric_confirmation.CopyFrom(
        events_pb2.BiometricConfirmation(
            step=step,
            finger=events_pb2.RIGHT_INDEX,
            quality=60,
            score=120.0,
            threshold=40.0,
            decision=events_pb2.MATCH,
            probe_template_sha256=b"\x02" * 32,
            signature_algorithm=SIGNATURE_ALGORITHM,
            station_cert_sha256=identity.fingerprint_sha256,
        )
    )
    event.biometric_confirmation.station_signature = identity.sign(canonical_bytes(event))
    return event


def _ok(response: httpx.Response, status: int = 200) -> httpx.Response:
    assert response.status_code == status, response.text
    return response


def test_old_confirmations_stay_valid_after_the_station_key_is_rotated(
    tmp_path: Path, mosquitto: Mosquitto, hub: HubService
) -> None:
    api = httpx.Client(base_url=hub.http_url, headers=OPS, timeout=30)
    _ok(api.post("/v1/stations", json={"station_id": STATION, "unit_id": UNIT}), 201)
    _ok(
        api.post("/v1/cases", json={"case_id": "case-r", "patient_id": "pat-r", "unit_id": UNIT}),
        201,
    )
    old = StationIdentity.load_or_create(tmp_path / "old")
    new = StationIdentity.load_or_create(tmp_path / "new")
    _ok(api.put(f"/v1/stations/{STATION}/key", json={"public_key_pem": old.public_key_pem}))
    time.sleep(0.01)
    station = FakeStation(mosquitto.port, STATION, UNIT)
    try:
        before = _confirmation(old, 1, "admission")  # signed with the key of that time
        station.publish(batch_bytes(before))
        assert station.take(1, timeout=30)[before.event_id][0] == events_pb2.ACCEPTED

        time.sleep(0.01)
        _ok(api.put(f"/v1/stations/{STATION}/key", json={"public_key_pem": new.public_key_pem}))
        time.sleep(0.01)
        after = _confirmation(new, 2, "admission")
        stale = _confirmation(old, 3, "pharmacy_dispensing")  # old key, after the rotation
        station.publish(batch_bytes(after, stale))
        assert set(station.take(2, timeout=30)) == {after.event_id, stale.event_id}
    finally:
        station.close()

    view = _ok(api.get("/v1/cases/case-r/biometrics")).json()
    verdicts = {
        c["event_id"]: (c["signature_valid"], c["signature_problem"]) for c in view["confirmations"]
    }
    assert verdicts == {
        before.event_id: (True, ""),
        after.event_id: (True, ""),
        stale.event_id: (False, "key_not_valid_at_time"),
    }
    expected_steps = [
        {"step": "admission", "required": True, "status": "confirmed"},
        {"step": "pharmacy_dispensing", "required": True, "status": "invalid_signature"},
    ]
    assert view["steps"] == expected_steps
    # the same step status in the case payload itself
    case = _ok(api.get("/v1/cases/case-r")).json()
    assert case["biometrics"] == expected_steps
    assert {e["event_id"] for e in case["timeline"]} == {
        before.event_id,
        after.event_id,
        stale.event_id,
    }


def test_a_case_without_confirmations_shows_its_required_steps_missing(
    hub: HubService,
) -> None:
    api = httpx.Client(base_url=hub.http_url, headers=OPS, timeout=30)
    _ok(
        api.post("/v1/cases", json={"case_id": "case-e", "patient_id": "pat-e", "unit_id": UNIT}),
        201,
    )
    assert _ok(api.get("/v1/cases/case-e")).json()["biometrics"] == [
        {"step": "admission", "required": True, "status": "missing"},
        {"step": "pharmacy_dispensing", "required": True, "status": "missing"},
    ]


def test_a_station_gets_templates_only_of_patients_with_an_open_case_in_its_unit(
    hub: HubService,
) -> None:
    api = httpx.Client(base_url=hub.http_url, headers=OPS, timeout=30)
    _ok(api.post("/v1/stations", json={"station_id": STATION, "unit_id": UNIT}), 201)
    token = _ok(api.post("/v1/tokens", json={"name": STATION, "role": "station"}), 201).json()
    as_station = {"Authorization": f"Bearer {token['token']}"}
    url = "/v1/patients/{}/fingerprint-templates"

    def fetch(patient: str) -> httpx.Response:
        return httpx.get(hub.http_url + url.format(patient), headers=as_station, timeout=30)

    refused = fetch("pat-x")  # no case anywhere
    assert refused.status_code == 403
    assert refused.json()["code"] == "patient_not_in_unit"
    assert "no open case in unit u-rot" in refused.json()["detail"]

    body = {"case_id": "case-o", "patient_id": "pat-o", "unit_id": "u-other"}
    _ok(api.post("/v1/cases", json=body), 201)
    assert fetch("pat-o").status_code == 403  # open, but in another unit

    body = {"case_id": "case-h", "patient_id": "pat-o", "unit_id": UNIT}
    _ok(api.post("/v1/cases", json=body), 201)
    assert _ok(fetch("pat-o")).json() == {"patient_id": "pat-o", "templates": []}

    _ok(api.post("/v1/cases/case-h/close"))
    assert fetch("pat-o").status_code == 403  # served and gone: no more templates
