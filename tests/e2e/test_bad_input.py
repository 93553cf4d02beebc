"""Garbage, truncated, foreign and repeated messages: each rejected or ignored; hub serves on."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import paho.mqtt.client as mqtt
import pytest
from paho.mqtt.enums import CallbackAPIVersion

from protos import CONTRACT_VERSION, events_pb2, topics
from protos.event_ids import new_event_id
from tests.brokers import Mosquitto
from tests.e2e.conftest import UNIT
from tests.e2e.processes import Agent, Hub, wait_until

pytestmark = pytest.mark.e2e


class Station:
    """A station speaking MQTT by hand, to send what a real agent never would."""

    def __init__(self, broker: Mosquitto, station_id: str) -> None:
        self.station_id = station_id
        self.receipts: list[events_pb2.Receipt] = []
        self._lock = threading.Lock()
        self.client = mqtt.Client(
            CallbackAPIVersion.VERSION2, client_id=f"raw-{station_id}", protocol=mqtt.MQTTv311
        )
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", broker.port)
        self.client.subscribe(topics.receipts(UNIT, station_id), qos=1)
        self.client.loop_start()
        time.sleep(0.3)

    def _on_message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        batch = events_pb2.ReceiptBatch.FromString(msg.payload)
        with self._lock:
            self.receipts.extend(batch.receipts)

    def publish(self, payload: bytes) -> None:
        self.client.publish(topics.events(UNIT, self.station_id), payload, qos=1).wait_for_publish(
            5
        )

    def event(self, seq: int = 1, station_id: str | None = None) -> events_pb2.Event:
        event = events_pb2.Event(
            event_id=new_event_id(),
            station_id=station_id or self.station_id,
            unit_id=UNIT,
            case_id="CASE-BAD",
            patient_id="1234567890101",
            station_seq=seq,
            schema_version=CONTRACT_VERSION,
        )
        event.occurred_at.GetCurrentTime()
        event.device_status.family = "vitals"
        event.device_status.state = events_pb2.CONNECTED
        return event

    def send(self, *events: bytes) -> None:
        batch = events_pb2.EventBatch(events=list(events))
        batch.sent_at.GetCurrentTime()
        self.publish(batch.SerializeToString())

    def receipt_for(self, event_id: str) -> events_pb2.Receipt | None:
        with self._lock:
            found = [r for r in self.receipts if r.event_id == event_id]
        return found[-1] if found else None

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


def _quarantined(hub: Hub) -> list[tuple[str, str]]:
    return [
        (str(r[0]), str(r[1])) for r in hub.query("SELECT reason_code, station_id FROM quarantine")
    ]


def test_bad_messages_are_rejected_or_ignored_and_the_hub_keeps_serving(
    mosquitto: Mosquitto, hub: Hub
) -> None:
    hub.register_station("station-r", UNIT)
    station = Station(mosquitto, "station-r")
    try:
        # Garbage bytes where an EventBatch should be: quarantined, nothing to receipt.
        station.publish(b"\xff\x00garbage\x13\x37" * 10)
        wait_until(lambda: len(_quarantined(hub)) == 1, 10, "garbage quarantined")
        assert _quarantined(hub)[0] == ("undecodable", "station-r")

        # A truncated protobuf inside a valid batch.
        truncated = station.event().SerializeToString()[:-7]
        station.send(truncated)
        wait_until(lambda: len(_quarantined(hub)) == 2, 10, "truncated event quarantined")
        assert _quarantined(hub)[1][0] == "undecodable"

        # An event naming another station than its topic: rejected, with a receipt.
        spoofed = station.event(station_id="station-other")
        station.send(spoofed.SerializeToString())
        wait_until(lambda: station.receipt_for(spoofed.event_id), 10, "receipt for spoofed")
        receipt = station.receipt_for(spoofed.event_id)
        assert receipt is not None and receipt.status == events_pb2.REJECTED
        assert receipt.reason_code == "station_mismatch"

        # A duplicate: stored once, the second delivery answered DUPLICATE.
        good = station.event(seq=1)
        station.send(good.SerializeToString())
        wait_until(lambda: station.receipt_for(good.event_id), 10, "receipt for good event")
        station.send(good.SerializeToString())
        wait_until(
            lambda: (r := station.receipt_for(good.event_id)) and r.status == events_pb2.DUPLICATE,
            10,
            "duplicate receipt",
        )
        assert hub.query("SELECT count(*) FROM events WHERE event_id = ?", good.event_id) == [(1,)]
    finally:
        station.close()

    # An event from a station the hub never registered: rejected, with a receipt.
    stranger = Station(mosquitto, "station-unknown")
    try:
        event = stranger.event()
        stranger.send(event.SerializeToString())
        wait_until(lambda: stranger.receipt_for(event.event_id), 10, "receipt for stranger")
        receipt = stranger.receipt_for(event.event_id)
        assert receipt is not None and receipt.status == events_pb2.REJECTED
        assert receipt.reason_code == "unknown_station"
    finally:
        stranger.close()

    hub.assert_alive()
    assert httpx.get(f"{hub.url}/healthz", timeout=5).status_code == 200
    assert hub.query("SELECT count(*) FROM events")[0][0] == 1
    assert len(_quarantined(hub)) == 4


def test_outbox_full_refuses_with_a_clear_error_and_keeps_what_it_accepted(
    mosquitto: Mosquitto, hub: Hub, make_agent: Callable[..., Agent]
) -> None:
    import grpc

    from tests.e2e.processes import vitals_request

    mosquitto.kill()  # the link is down: nothing leaves the outbox
    agent = make_agent(
        "station-f", outbox_limit_bytes=96 * 1024, outbox_hard_limit_bytes=192 * 1024
    )  # the limits count the database files on disk: above an empty outbox's size
    stub = agent.stub()

    def status_event() -> object:
        from protos import agent_pb2

        event = events_pb2.Event(device_id="monitor-1")
        event.device_status.family = "vitals"
        event.device_status.state = events_pb2.DISCONNECTED
        return agent_pb2.RecordEventRequest(event=event)

    accepted: list[str] = []
    with pytest.raises(grpc.RpcError) as refused:
        for _ in range(1000):
            accepted.append(stub.RecordEvent(status_event(), timeout=10).event_id)
    assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "outbox" in (refused.value.details() or "").lower()
    non_critical = len(accepted)
    assert non_critical > 0

    # Clinical events are still taken, up to the hard limit.
    with pytest.raises(grpc.RpcError) as hard:
        for n in range(1000):
            accepted.append(stub.RecordEvent(vitals_request("CASE-F", n), timeout=10).event_id)
    assert hard.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert len(accepted) > non_critical

    # The HTTP door says the same, as a problem document.
    response = httpx.post(
        f"{agent.url}/v1/events",
        json={"case_id": "CASE-F", "device_id": "m", "payload": {"device_status": {"family": "x"}}},
        headers={"Origin": "https://medi.example.test"},
        timeout=10,
    )
    assert response.status_code in (503, 507)
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "outbox_full"

    assert agent.outbox_depth() == len(accepted)
    mosquitto.start()
    wait_until(lambda: agent.outbox_depth() == 0, 60, "outbox drained")
    stored = {event_id for event_id, _ in hub.stored("station-f")}
    assert stored == set(accepted)
