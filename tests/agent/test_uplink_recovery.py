"""The agent recovers by itself: the hub goes silent then returns; big events meet broker limits."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from hub.ingest.timefmt import now_iso
from hub.service import HubService
from hub.settings import HubSettings
from protos import events_pb2
from provisioning.mosquitto import MAX_PACKET_SIZE, MESSAGE_SIZE_LIMIT
from tests.agent.fakehub import FakeHub, wait_until
from tests.agent.test_uplink import record_vitals
from tests.brokers import Mosquitto

Start = Callable[[AgentSettings], AgentService]


def _hub(tmp_path: Path, mosquitto: Mosquitto) -> HubService:
    hub = HubService(
        HubSettings(
            data_dir=tmp_path / "hub",
            broker_url=mosquitto.url,
            http_port=0,
            mqtt_client_id="hub-recovery-test",
        )
    )
    hub.start()
    hub.wait_ready(20)
    hub.store.register_station("st-1", "unit-1", now_iso())
    return hub


def test_hub_stops_answering_then_returns_and_the_outbox_drains_without_restart(
    make_settings: Callable[..., AgentSettings],
    start_agent: Start,
    mosquitto: Mosquitto,
    tmp_path: Path,
) -> None:
    hub = _hub(tmp_path, mosquitto)
    agent = start_agent(make_settings(broker_url=mosquitto.url, receipt_timeout_s=1.0))
    assert agent.wait_connected(10)
    first = [record_vitals(agent)[0] for _ in range(20)]
    wait_until(lambda: agent.outbox.depth()[0] == 0, timeout_s=15, what="first receipts")
    hub.stop()  # the hub goes silent; the broker still acknowledges every publish
    later = [record_vitals(agent)[0] for _ in range(50)]
    time.sleep(3.0)  # several receipt timeouts: re-sends go unanswered
    assert agent.outbox.depth()[0] == 50
    hub = _hub(tmp_path, mosquitto)  # the same database, a new process
    try:
        wait_until(lambda: agent.outbox.depth()[0] == 0, timeout_s=20, what="outbox drained")
        assert all(hub.store.get_event(e) is not None for e in first + later)
        assert agent.uplink.state().connected
    finally:
        hub.stop()


def test_big_events_are_batched_under_the_brokers_payload_limit(
    make_settings: Callable[..., AgentSettings], start_agent: Start, tmp_path: Path
) -> None:
    """A broker with the generated payload limits cuts a connection whose packet is over
    `max_packet_size`; a batch of 100 large events (2 MB) would be re-sent and cut for ever."""
    broker = Mosquitto(tmp_path / "limited")
    conf = broker.conf.read_text()
    broker.conf.write_text(
        conf + f"message_size_limit {MESSAGE_SIZE_LIMIT}\nmax_packet_size {MAX_PACKET_SIZE}\n"
    )
    broker.start()
    hub = FakeHub(broker.url).start()
    try:
        agent = start_agent(make_settings(broker_url=broker.url, receipt_timeout_s=2.0))
        assert agent.wait_connected(10)
        broker.stop()  # the backlog is recorded offline: one big first round on reconnect
        wait_until(lambda: not agent.uplink.state().connected, what="link down")
        readings = [events_pb2.Reading(mdc_code=150456, value=97.0, unit="%")] * 1500
        obs = events_pb2.VitalSignsObservation(mode="continuous", readings=readings)
        ids = [
            agent.record.record(
                payload_name="vital_signs",
                payload=obs,
                device_id="monitor-1",
                case_id="C-1",
                patient_id="P-1",
            )[0]
            for _ in range(100)
        ]
        assert agent.outbox.depth()[1] > 2 * MAX_PACKET_SIZE  # the backlog's body bytes
        broker.start()
        wait_until(lambda: agent.outbox.depth()[0] == 0, timeout_s=20, what="outbox drained")
        assert {e.event_id for e in hub.first_seen} == set(ids)
    finally:
        hub.stop()
        broker.stop()
