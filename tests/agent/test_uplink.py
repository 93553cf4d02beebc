"""The uplink against a real Mosquitto and a fake hub: receipts, re-sends, broker crash, state."""

from __future__ import annotations

import random
import threading
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from edge_agent.uplink import backoff_delay
from protos import events_pb2, topics
from tests.agent.fakehub import FakeHub, wait_until
from tests.brokers import Mosquitto

Start = Callable[[AgentSettings], AgentService]


def record_vitals(agent: AgentService, value: float = 97.0) -> tuple[str, int]:
    obs = events_pb2.VitalSignsObservation(
        mode="spot", readings=[events_pb2.Reading(mdc_code=150456, value=value, unit="%")]
    )
    return agent.record.record(
        payload_name="vital_signs",
        payload=obs,
        device_id="monitor-1",
        case_id="C-1",
        patient_id="P-1",
    )


def test_rows_are_deleted_only_when_the_hub_receipts_them(
    make_settings: Callable[..., AgentSettings],
    start_agent: Start,
    mosquitto: Mosquitto,
    fake_hub: FakeHub,
) -> None:
    fake_hub.answer = False
    agent = start_agent(make_settings(broker_url=mosquitto.url, receipt_timeout_s=30))
    assert agent.wait_connected(5)
    ids = [record_vitals(agent, 90 + i)[0] for i in range(20)]
    wait_until(lambda: len(fake_hub.first_seen) == 20, what="20 deliveries")
    assert [e.event_id for e in fake_hub.first_seen] == ids
    assert [e.station_seq for e in fake_hub.first_seen] == list(range(1, 21))
    assert agent.outbox.depth()[0] == 20  # delivered, not receipted: still there
    assert agent.uplink.state().in_flight == 20

    fake_hub.answer = True
    record_vitals(agent)  # the hub answers this delivery; the 20 stay until re-sent
    wait_until(lambda: agent.outbox.depth()[0] == 20, what="the 21st receipted")
    assert agent.uplink.state().last_receipt_at is not None


def test_event_without_receipt_is_resent_after_the_timeout(
    make_settings: Callable[..., AgentSettings],
    start_agent: Start,
    mosquitto: Mosquitto,
    fake_hub: FakeHub,
) -> None:
    fake_hub.ignore_first = True
    agent = start_agent(make_settings(broker_url=mosquitto.url, receipt_timeout_s=0.5))
    assert agent.wait_connected(5)
    event_id, _ = record_vitals(agent)
    wait_until(lambda: agent.outbox.depth()[0] == 0, timeout_s=5, what="receipt after re-send")
    assert fake_hub.count(event_id) == 2
    assert agent.metrics.resent.value == 1
    assert agent.uplink.state().in_flight == 0


def test_rejected_event_is_deleted_and_counted(
    make_settings: Callable[..., AgentSettings],
    start_agent: Start,
    mosquitto: Mosquitto,
    fake_hub: FakeHub,
) -> None:
    agent = start_agent(make_settings(broker_url=mosquitto.url))
    assert agent.wait_connected(5)
    fake_hub.answer = False
    event_id, _ = record_vitals(agent)
    wait_until(lambda: fake_hub.count(event_id) == 1)
    fake_hub.answer = True
    fake_hub.reject[event_id] = "invalid_payload"
    agent.uplink.client.publish(  # as if the hub answered after quarantining it
        topics.receipts("unit-1", "st-1"),
        events_pb2.ReceiptBatch(
            receipts=[
                events_pb2.Receipt(
                    event_id=event_id, status=events_pb2.REJECTED, reason_code="invalid_payload"
                )
            ]
        ).SerializeToString(),
        qos=1,
    )
    wait_until(lambda: agent.outbox.depth()[0] == 0, what="rejected row deleted")
    rejected = agent.metrics.rejected.labels("invalid_payload").value
    assert rejected == 1


def test_broker_killed_mid_burst_then_restarted_everything_drains_in_order(
    make_settings: Callable[..., AgentSettings],
    start_agent: Start,
    mosquitto: Mosquitto,
    fake_hub: FakeHub,
) -> None:
    agent = start_agent(
        make_settings(broker_url=mosquitto.url, receipt_timeout_s=2.0, uplink_batch_max=20)
    )
    assert agent.wait_connected(5)
    published: list[list[int]] = []  # seqs of each EventBatch the agent hands to the broker
    publish = agent.uplink.client.publish

    def spy(topic: str, payload: bytes = b"", *args: Any, **kwargs: Any) -> Any:
        if topic.endswith("/events"):
            batch = events_pb2.EventBatch.FromString(payload)
            published.append([events_pb2.Event.FromString(b).station_seq for b in batch.events])
        return publish(topic, payload, *args, **kwargs)

    agent.uplink.client.publish = spy  # type: ignore[method-assign]
    ids = [record_vitals(agent)[0] for _ in range(300)]
    mosquitto.kill()
    wait_until(lambda: not agent.uplink.state().connected, what="link down")
    ids += [record_vitals(agent)[0] for _ in range(300)]  # recorded while the broker is down
    assert agent.outbox.depth()[0] > 0
    restart_at = len(published)
    mosquitto.start()
    wait_until(lambda: agent.outbox.depth()[0] == 0, timeout_s=15, what="outbox drained")

    assert sorted(e.event_id for e in fake_hub.first_seen) == sorted(ids)
    assert {e.station_seq for e in fake_hub.first_seen} == set(range(1, 601))
    assert agent.uplink.state().reconnects >= 1
    # Every batch holds consecutive rows in outbox order ...
    assert all(b == sorted(b) for b in published)
    # ... and after the reconnect the agent sends each outstanding event oldest first.
    after = [seq for batch in published[restart_at:] for seq in batch]
    first_sends = list(dict.fromkeys(after))
    assert first_sends == sorted(first_sends)
    assert first_sends[-1] == 600


def test_birth_message_and_retained_offline_on_clean_stop(
    make_settings: Callable[..., AgentSettings], mosquitto: Mosquitto
) -> None:
    agent = AgentService(make_settings(broker_url=mosquitto.url))
    agent.start()
    try:
        assert agent.wait_connected(5)
        online = read_retained_state(mosquitto.url)
        assert (online.station_id, online.unit_id, online.online) == ("st-1", "unit-1", True)
        assert online.agent_version == "0.1.0"
    finally:
        agent.stop()
    offline = read_retained_state(mosquitto.url)
    assert offline.online is False


def read_retained_state(url: str, station_id: str = "st-1") -> events_pb2.StationState:
    got: list[events_pb2.StationState] = []
    done = threading.Event()
    client = mqtt.Client(callback_api_version=CallbackAPIVersion.VERSION2)

    def on_message(c: mqtt.Client, u: object, msg: mqtt.MQTTMessage) -> None:
        got.append(events_pb2.StationState.FromString(msg.payload))
        done.set()

    client.on_connect = lambda c, *_: c.subscribe(topics.state("unit-1", station_id), qos=1)
    client.on_message = on_message
    port = int(url.rsplit(":", 1)[1])
    client.connect("127.0.0.1", port)
    client.loop_start()
    try:
        assert done.wait(5), "no retained state"
    finally:
        client.disconnect()
        client.loop_stop()
    return got[0]


def test_reconnect_delay_is_jittered_and_bounded() -> None:
    rng = random.Random(7)
    delays = [backoff_delay(5, 0.5, 30.0, rng) for _ in range(50)]
    assert all(0.5 <= d <= 16.0 for d in delays)
    assert len({round(d, 6) for d in delays}) == 50  # real jitter, not one fixed value
    assert all(backoff_delay(40, 0.5, 30.0, rng) <= 30.0 for _ in range(50))


def test_events_in_flight_are_bounded_by_bytes_and_a_big_one_still_goes(
    make_settings: Callable[..., AgentSettings],
    start_agent: Start,
    mosquitto: Mosquitto,
    fake_hub: FakeHub,
) -> None:
    fake_hub.answer = False  # nothing receipted: the window only fills
    agent = start_agent(
        make_settings(broker_url=mosquitto.url, receipt_timeout_s=2, uplink_window_bytes=1024)
    )
    assert agent.wait_connected(5)
    ids = [record_vitals(agent, 90 + i)[0] for i in range(30)]
    size = len(agent.outbox.pending(0, 1)[0][2])
    fit = 1024 // size
    wait_until(lambda: len(fake_hub.first_seen) == fit, what=f"{fit} deliveries")
    assert agent.uplink.state().in_flight == fit  # the rest wait for room, in order
    fake_hub.answer = True  # the re-sends after the timeout are receipted, room frees
    wait_until(lambda: agent.outbox.depth()[0] == 0, timeout_s=20, what="all receipted")
    assert [e.event_id for e in fake_hub.first_seen][:30] == ids

    # One event bigger than the bound goes alone when nothing else is in flight.
    obs = events_pb2.VitalSignsObservation(
        mode="spot",
        readings=[events_pb2.Reading(mdc_code=150456, value=97.0, unit="%" * 2000)],
    )
    big, _ = agent.record.record(
        payload_name="vital_signs",
        payload=obs,
        device_id="monitor-1",
        case_id="C-1",
        patient_id="P-1",
    )
    wait_until(lambda: agent.outbox.depth()[0] == 0, what="the big event receipted")
    assert fake_hub.count(big) == 1
