"""A confirmation signed by a station of another unit than the case's is flagged, not hidden.

Real Mosquitto and hub; two stations with their own keys in two units; the case is
opened at the north unit. The south station's signed MATCH is shown on the API and on
the case page (Spanish and English) as coming from another unit, with words saying it
may be legitimate; the step still counts as confirmed (the signature verifies).
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from edge_agent.identity import StationIdentity
from hub.service import HubService
from hub.settings import HubSettings
from hub.web.auth import WebRole
from protos import CONTRACT_VERSION, events_pb2
from protos.biometric_signing import SIGNATURE_ALGORITHM, canonical_bytes
from protos.event_ids import new_event_id
from tests.brokers import Mosquitto
from tests.hub.events import batch_bytes
from tests.hub.station import FakeStation

TOKEN = "cross-unit-ops"
OPS = {"Authorization": f"Bearer {TOKEN}"}
PASSWORD = "correct horse battery"
NORTH, SOUTH = ("st-north", "U-NORTE"), ("st-south", "U-SUR")
CASE, PATIENT = "case-x", "pat-x"


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
            biometric_required_steps=["admission"],
        )
    )
    service.start()
    service.wait_ready(10)
    yield service
    service.stop()


def _confirmation(
    identity: StationIdentity, station: tuple[str, str], seq: int, step: str
) -> events_pb2.Event:
    event = events_pb2.Event(
        event_id=new_event_id(),
        station_id=station[0],
        unit_id=station[1],
        device_id="reader-1",
        case_id=CASE,
        patient_id=PATIENT,
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


def _case_page(hub: HubService, lang: str) -> str:
    web = httpx.Client(base_url=hub.http_url, headers={"Accept-Language": lang}, timeout=20)
    form = web.get("/console/login").text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf, "login form without CSRF token"
    r = web.post(
        "/console/login",
        data={"csrf": csrf.group(1), "name": "luis", "password": PASSWORD, "next": "/console/"},
    )
    assert r.status_code == 303, r.text
    page = web.get(f"/console/cases/{CASE}")
    assert page.status_code == 200, page.text
    return page.text


def _app(hub: HubService) -> Any:
    return hub._server.config.app  # type: ignore[union-attr]


def test_a_confirmation_signed_at_another_unit_is_flagged_on_the_case_in_words(
    tmp_path: Path, mosquitto: Mosquitto, hub: HubService
) -> None:
    api = httpx.Client(base_url=hub.http_url, headers=OPS, timeout=30)
    stations = {}
    for station_id, unit_id in (NORTH, SOUTH):
        r = api.post("/v1/stations", json={"station_id": station_id, "unit_id": unit_id})
        assert r.status_code == 201, r.text
        identity = StationIdentity.load_or_create(tmp_path / station_id)
        r = api.put(
            f"/v1/stations/{station_id}/key", json={"public_key_pem": identity.public_key_pem}
        )
        assert r.status_code == 200, r.text
        stations[station_id] = identity
    r = api.post("/v1/cases", json={"case_id": CASE, "patient_id": PATIENT, "unit_id": NORTH[1]})
    assert r.status_code == 201, r.text
    time.sleep(0.01)

    home = _confirmation(stations[NORTH[0]], NORTH, 1, "admission")
    away = _confirmation(stations[SOUTH[0]], SOUTH, 1, "admission")
    for (station_id, unit_id), event in ((NORTH, home), (SOUTH, away)):
        station = FakeStation(mosquitto.port, station_id, unit_id)
        try:
            station.publish(batch_bytes(event))
            assert station.take(1, timeout=30)[event.event_id][0] == events_pb2.ACCEPTED
        finally:
            station.close()

    view = api.get(f"/v1/cases/{CASE}/biometrics").json()
    shown = {
        c["event_id"]: (c["signature_valid"], c["station_unit_id"], c["cross_unit"])
        for c in view["confirmations"]
    }
    assert shown == {
        home.event_id: (True, NORTH[1], False),
        away.event_id: (True, SOUTH[1], True),
    }
    assert view["cross_unit_confirmations"] == 1
    note = next(c["cross_unit_note"] for c in view["confirmations"] if c["cross_unit"])
    assert SOUTH[1] in note and NORTH[1] in note
    assert "legítimo" in note and "legitimate" in note
    assert next(c for c in view["confirmations"] if not c["cross_unit"])["cross_unit_note"] == ""
    # Flagged, not hidden and not refused: the step is confirmed.
    assert view["steps"] == [{"step": "admission", "required": True, "status": "confirmed"}]

    _app(hub).state.console.auth.add("luis", WebRole.CLINICIAN, PASSWORD)
    es = _case_page(hub, "es")
    assert 'data-flag="cross_unit"' in es and "Confirmación de otra unidad" in es
    assert f'data-cross-unit="{SOUTH[1]}"' in es
    assert f"otra unidad: {SOUTH[1]} (caso: {NORTH[1]})" in es
    assert "Puede ser legítimo" in es
    en = _case_page(hub, "en")
    assert "Confirmation from another unit" in en
    assert f"another unit: {SOUTH[1]} (case: {NORTH[1]})" in en
    assert "It may be legitimate" in en
    assert en.count("data-cross-unit=") == 1  # the home unit's confirmation is not flagged
