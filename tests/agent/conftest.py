"""Agent test fixtures: settings on temp dirs, a fake hub on the test's Mosquitto, agents."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from tests.agent.fakehub import FakeHub
from tests.brokers import Mosquitto, free_port

ALLOWED_ORIGIN = "https://medi.igss.example"
SIM_MONITOR = {"device_id": "monitor-1", "driver": "sim.monitor", "options": {"interval_s": 0.05}}


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., AgentSettings]:
    def make(**overrides: Any) -> AgentSettings:
        values: dict[str, Any] = {
            "station_id": "st-1",
            "unit_id": "unit-1",
            "data_dir": tmp_path / "agent",
            "broker_url": f"mqtt://127.0.0.1:{free_port()}",  # nobody there unless overridden
            "http_port": 0,
            "grpc_port": 0,
            "allowed_origins": [ALLOWED_ORIGIN],
            "reconnect_min_s": 0.05,
            "reconnect_max_s": 0.5,
        }
        values.update(overrides)
        return AgentSettings(**values)

    return make


@pytest.fixture
def fake_hub(mosquitto: Mosquitto) -> Iterator[FakeHub]:
    hub = FakeHub(mosquitto.url).start()
    try:
        yield hub
    finally:
        hub.stop()


@pytest.fixture
def start_agent() -> Iterator[Callable[[AgentSettings], AgentService]]:
    started: list[AgentService] = []

    def start(settings: AgentSettings) -> AgentService:
        agent = AgentService(settings)
        agent.start()
        started.append(agent)
        assert agent.wait_ready(10)
        return agent

    yield start
    for agent in started:
        agent.stop()
