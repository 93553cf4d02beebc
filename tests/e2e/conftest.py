"""End-to-end fixtures: a Mosquitto, a hub and agents, each a real process of its own."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.brokers import Mosquitto
from tests.e2e.processes import Agent, Hub

UNIT = "unit-e2e"


@pytest.fixture
def hub(tmp_path: Path, mosquitto: Mosquitto) -> Iterator[Hub]:
    process = Hub(tmp_path / "hub", mosquitto.url, secrets.token_urlsafe(24)).start()
    try:
        yield process
    finally:
        process.stop()


@pytest.fixture
def make_agent(tmp_path: Path, mosquitto: Mosquitto, hub: Hub) -> Iterator[Callable[..., Agent]]:
    """Registers a station at the hub and starts its agent; stops them all at the end."""
    agents: list[Agent] = []

    def _make(station_id: str, register: bool = True, **settings: Any) -> Agent:
        if register:
            hub.register_station(station_id, UNIT)
        agent = Agent(tmp_path / station_id, station_id, UNIT, mosquitto.url, **settings)
        agents.append(agent)
        return agent.start()

    try:
        yield _make
    finally:
        for agent in agents:
            agent.stop()
