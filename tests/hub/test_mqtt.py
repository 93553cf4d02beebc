"""The hub on a real Mosquitto: events in, exactly-once storage, receipts out after commit."""

from __future__ import annotations

import queue
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hub.service import HubService
from hub.settings import HubSettings
from protos import events_pb2
from protos.reasons import Reason
from tests.brokers import Mosquitto
from tests.hub.events import STATION, UNIT, batch_bytes, state_bytes, vitals_event
from tests.hub.station import FakeStation

TOKEN = "test-bootstrap-token"
OPS = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def hub(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[HubService]:
    settings = HubSettings(
        data_dir=tmp_path / "hub",
        broker_url=mosquitto.url,
        http_port=0,
        mqtt_client_id=f"hub-{tmp_path.name}",
        bootstrap_token=TOKEN,  # type: ignore[arg-type]
        ingest_batch_wait_ms=5,
    )
    service = HubService(settings)
    service.start()
    try:
        service.wait_ready(10)
        registered = httpx.post(
            f"{service.http_url}/v1/stations",
            json={"station_id": STATION, "unit_id": UNIT},
            headers=OPS,
        )
        assert registered.status_code == 201
        yield service
    finally:
        service.stop()


@pytest.fixture
def station(mosquitto: Mosquitto) -> Iterator[FakeStation]:
    s = FakeStation(mosquitto.port)
    try:
        yield s
    finally:
        s.close()


def test_events_are_stored_once_and_every_one_gets_a_receipt(
    hub: HubService, station: FakeStation
) -> None:
    a, b = vitals_event(station_seq=1), vitals_event(station_seq=2)
    no_payload = vitals_event(station_seq=3)
    no_payload.ClearField("vital_signs")
    station.publish(batch_bytes(a, b, no_payload))
    assert station.take(3) == {
        a.event_id: (events_pb2.ACCEPTED, ""),
        b.event_id: (events_pb2.ACCEPTED, ""),
        no_payload.event_id: (events_pb2.REJECTED, Reason.NO_PAYLOAD.value),
    }
    # The hub answers only after commit: the events are already readable.
    stored = httpx.get(f"{hub.http_url}/v1/events/{a.event_id}", headers=OPS)
    assert stored.status_code == 200
    assert stored.json()["payload"]["readings"][0]["mdc_code"] == 150456

    station.publish(batch_bytes(a))  # the station re-sends: receipt lost, say
    assert station.take(1) == {a.event_id: (events_pb2.DUPLICATE, "")}
    listing = httpx.get(f"{hub.http_url}/v1/stations/{STATION}", headers=OPS).json()
    assert listing["event_count"] == 2
    quarantine = httpx.get(f"{hub.http_url}/v1/quarantine", headers=OPS).json()["items"]
    assert [q["event_id"] for q in quarantine] == [no_payload.event_id]


def test_hub_keeps_serving_after_garbage(hub: HubService, station: FakeStation) -> None:
    station.publish(b"\x00\xff garbage, not an EventBatch")
    station.publish(batch_bytes(vitals_event().SerializeToString()[:10]))  # cut in event_id
    good = vitals_event()
    station.publish(batch_bytes(good))
    assert station.take(1) == {good.event_id: (events_pb2.ACCEPTED, "")}
    with pytest.raises(queue.Empty):  # garbage carries no event id: nothing to answer
        station.receipts.get(timeout=0.3)
    health = httpx.get(f"{hub.http_url}/healthz").json()
    assert health == {"status": "ok", "db": True, "mqtt_connected": True}
    reasons = [
        q["reason_code"]
        for q in httpx.get(f"{hub.http_url}/v1/quarantine", headers=OPS).json()["items"]
    ]
    assert reasons == ["undecodable", "undecodable"]
    metrics = httpx.get(f"{hub.http_url}/metrics").text
    assert 'puente_hub_events_total{outcome="accepted"} 1.0' in metrics


def test_unknown_station_is_rejected_so_it_stops_resending(
    hub: HubService, mosquitto: Mosquitto
) -> None:
    stranger = FakeStation(mosquitto.port, station_id="st-unknown")
    try:
        event = vitals_event(station_id="st-unknown")
        stranger.publish(batch_bytes(event))
        assert stranger.take(1) == {
            event.event_id: (events_pb2.REJECTED, Reason.UNKNOWN_STATION.value)
        }
    finally:
        stranger.close()


def test_station_state_marks_it_online(hub: HubService, station: FakeStation) -> None:
    station.publish(state_bytes(online=True, depth=3), leaf="state", retain=True)
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        body = httpx.get(f"{hub.http_url}/v1/stations/{STATION}", headers=OPS).json()
        if body["online"]:
            break
        time.sleep(0.05)
    assert (body["online"], body["outbox_depth"], body["agent_version"]) == (True, 3, "0.1.0")


def test_events_sent_while_the_hub_is_down_are_answered_after_restart(
    hub: HubService, station: FakeStation
) -> None:
    first = vitals_event(station_seq=1)
    station.publish(batch_bytes(first))
    assert station.take(1) == {first.event_id: (events_pb2.ACCEPTED, "")}
    hub.stop()  # graceful; its persistent session stays at the broker

    late = vitals_event(station_seq=2)
    station.publish(batch_bytes(late, first))
    restarted = HubService(hub.settings)
    restarted.start()
    try:
        restarted.wait_ready(10)  # migrations run again on the same file: no-op
        assert station.take(2, timeout=10) == {
            late.event_id: (events_pb2.ACCEPTED, ""),
            first.event_id: (events_pb2.DUPLICATE, ""),
        }
        with pytest.raises(queue.Empty):  # acknowledged messages are not delivered again
            station.receipts.get(timeout=0.5)
        body = httpx.get(f"{restarted.http_url}/v1/stations/{STATION}", headers=OPS).json()
        assert body["event_count"] == 2
    finally:
        restarted.stop()
