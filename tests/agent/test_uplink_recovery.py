"""The agent recovers by itself when receipts stop: the hub goes silent, then comes back."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path

from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from hub.ingest.timefmt import now_iso
from hub.service import HubService
from hub.settings import HubSettings
from tests.agent.fakehub import wait_until
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
