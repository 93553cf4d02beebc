"""End to end: the hub's catalogue reaches the station, a scanned pack dispensed with the
patient's fingerprint lands on the case through Mosquitto, verified, and a lot recall finds it."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest

from drivers.barcode.sim import medicine_pack
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from hub.service import HubService
from hub.settings import HubSettings
from tests.brokers import Mosquitto
from tests.pharmacy.conftest import CATALOGUE, GTIN_AMOX

TOKEN = "rx-ops-token"
OPS = {"Authorization": f"Bearer {TOKEN}"}
ORIGIN = "https://medi.example.test"


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


def test_dispensed_pack_reaches_the_case_verified_and_the_recall_finds_the_patient(
    tmp_path: Path, mosquitto: Mosquitto, hub: HubService
) -> None:
    api = httpx.Client(base_url=hub.http_url, headers=OPS, timeout=30)
    assert api.post("/v1/stations", json={"station_id": "st-rx", "unit_id": "u1"}).is_success
    station_token = api.post("/v1/tokens", json={"name": "st-rx", "role": "station"}).json()[
        "token"
    ]
    case = {"case_id": "case-rx", "patient_id": "pat-rx"}
    assert api.post("/v1/cases", json={**case, "unit_id": "u1"}).status_code == 201
    assert api.put("/v1/pharmacy/catalogue", json=CATALOGUE).status_code == 200

    agent = AgentService(
        AgentSettings(
            station_id="st-rx",
            unit_id="u1",
            data_dir=tmp_path / "agent",
            broker_url=mosquitto.url,
            http_port=0,
            grpc_port=0,
            allowed_origins=[ORIGIN],
            hub_url=hub.http_url,
            hub_token=station_token,  # type: ignore[arg-type]
            devices=[
                {"device_id": "reader-1", "driver": "sim.fingerprint", "options": {"seed": 5}},
                {
                    "device_id": "scanner-1",
                    "driver": "sim.barcode",
                    "options": {"link": str(tmp_path / "ttyACM0")},
                },
            ],
            fingerprint={"hub_url": hub.http_url, "hub_token": station_token},
        )
    )
    agent.start()
    try:
        assert agent.wait_ready(10)
        key = api.put(
            "/v1/stations/st-rx/key", json={"public_key_pem": agent.identity.public_key_pem}
        )
        assert key.status_code == 200
        local = httpx.Client(base_url=agent.http_url, headers={"Origin": ORIGIN}, timeout=60)
        # The catalogue the hub distributes is at the station (fetched at start).
        _wait(lambda: local.get("/v1/pharmacy/catalogue").json()["version"] == "2026-12-01")

        enroll = {"device_id": "reader-1", **case, "finger": "RIGHT_INDEX"}
        assert local.post("/v1/fingerprint/enroll", json=enroll).status_code == 201
        opened = local.post(
            "/v1/pharmacy/sessions",
            json={
                **case,
                "prescription_id": "rx-9",
                "lines": [{"product_code": "010101", "quantity": 1, "duration_days": 10}],
                "pharmacist_id": "farm-3",
                "scanner_device_id": "scanner-1",
            },
        )
        sid = opened.json()["session_id"]
        expiry = (datetime.now(UTC).date() + timedelta(days=300)).strftime("%y%m%d")
        sim = agent.devices.get("scanner-1").device.sim  # type: ignore[union-attr]
        sim.scan(medicine_pack(GTIN_AMOX, expiry, "LOT-RECALL", "SER-1"))
        _wait(lambda: local.get(f"/v1/pharmacy/sessions/{sid}").json()["items"])
        done = local.post(
            f"/v1/pharmacy/sessions/{sid}/finish", json={"fingerprint_device_id": "reader-1"}
        )
        assert done.status_code == 201, done.text

        recall = _wait(
            lambda: api.get("/v1/pharmacy/recall", params={"lot": "LOT-RECALL"}).json()["items"]
        )
        assert recall[0]["patient_id"] == "pat-rx" and recall[0]["serial"] == "SER-1"
        dispensed = _wait(
            lambda: [
                d
                for d in api.get("/v1/cases/case-rx/dispensed").json()
                if d["verification"]["verified"]
            ]
        )
        assert dispensed[0]["event_id"] == done.json()["event_id"]
        assert dispensed[0]["pharmacist_id"] == "farm-3"
        assert dispensed[0]["items"][0]["name"] == CATALOGUE["items"][0]["name"]
    finally:
        agent.stop()
