"""Exactly-once delivery from station outbox to hub, through crashes of every part."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from tests.brokers import Mosquitto
from tests.e2e.processes import (
    Agent,
    Hub,
    assert_contiguous,
    assert_in_station_order,
    record_burst,
    wait_until,
)

pytestmark = pytest.mark.e2e


def _drained(agent: Agent) -> bool:
    try:
        return agent.outbox_depth() == 0
    except Exception:
        return False


def test_ten_thousand_events_from_five_stations_are_stored_once_in_station_order(
    hub: Hub, make_agent: Callable[..., Agent]
) -> None:
    agents = [make_agent(f"station-{i}") for i in range(5)]
    results: dict[str, list[str]] = {}

    def burst(agent: Agent) -> None:
        acknowledged, failed = record_burst(agent, 2000)
        assert failed == 0
        results[agent.station_id] = acknowledged

    threads = [threading.Thread(target=burst, args=(a,)) for a in agents]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sum(len(ids) for ids in results.values()) == 10_000

    wait_until(lambda: hub.query("SELECT count(*) FROM events")[0][0] >= 10_000, 120, "10k events")
    for agent in agents:
        wait_until(lambda a=agent: _drained(a), 30, f"{agent.station_id} outbox drained")
    assert hub.query("SELECT count(*) FROM events")[0][0] == 10_000
    for agent in agents:
        stored = hub.stored(agent.station_id)
        assert len(stored) == 2000
        assert {event_id for event_id, _ in stored} == set(results[agent.station_id])
        assert_in_station_order(stored)
        assert_contiguous(stored)


def test_agent_killed_mid_burst_loses_nothing_and_duplicates_nothing(
    hub: Hub, make_agent: Callable[..., Agent]
) -> None:
    agent = make_agent("station-k")
    acknowledged: list[str] = []
    done = threading.Event()

    def burst() -> None:
        ids, _failed = record_burst(agent, 100_000, concurrency=16, stop_on_failure=True)
        acknowledged.extend(ids)
        done.set()

    sender = threading.Thread(target=burst)
    sender.start()
    wait_until(lambda: len(hub.stored("station-k")) > 300, 60, "the burst reaching the hub")
    agent.kill()
    sender.join(60)
    assert done.is_set()
    killed_with = len(acknowledged)
    assert killed_with < 100_000, "the burst ended before the kill; the test proved nothing"

    agent.close_channel()
    agent.start()
    wait_until(lambda: _drained(agent), 60, "outbox drained after restart")
    stored = hub.stored("station-k")
    stored_ids = {event_id for event_id, _ in stored}
    assert set(acknowledged) <= stored_ids, "an acknowledged event was lost"
    assert len(stored) == len(stored_ids)
    assert_contiguous(stored)
    # Whatever the agent had made durable but not yet answered is there too, once.
    assert len(stored) - killed_with in range(0, 17)


def test_broker_killed_with_events_in_flight_loses_nothing(
    mosquitto: Mosquitto, hub: Hub, make_agent: Callable[..., Agent]
) -> None:
    agent = make_agent("station-b")
    acknowledged: list[str] = []
    sender = threading.Thread(target=lambda: acknowledged.extend(record_burst(agent, 3000)[0]))
    sender.start()
    wait_until(lambda: len(hub.stored("station-b")) > 200, 60, "events flowing")
    mosquitto.kill()
    time.sleep(1.0)
    mosquitto.start()
    sender.join(120)
    assert len(acknowledged) == 3000
    wait_until(lambda: _drained(agent), 90, "outbox drained after the broker came back")
    stored = hub.stored("station-b")
    assert {event_id for event_id, _ in stored} == set(acknowledged)
    assert_contiguous(stored)


def test_hub_killed_mid_ingest_loses_nothing_and_duplicates_nothing(
    hub: Hub, make_agent: Callable[..., Agent]
) -> None:
    agent = make_agent("station-h")
    acknowledged: list[str] = []
    sender = threading.Thread(target=lambda: acknowledged.extend(record_burst(agent, 4000)[0]))
    sender.start()
    wait_until(lambda: len(hub.stored("station-h")) > 300, 60, "ingest under way")
    hub.kill()
    time.sleep(1.0)
    hub.start()
    sender.join(120)
    assert len(acknowledged) == 4000
    wait_until(lambda: _drained(agent), 90, "outbox drained after the hub came back")
    stored = hub.stored("station-h")
    assert len(stored) == 4000
    assert {event_id for event_id, _ in stored} == set(acknowledged)
    assert_contiguous(stored)


def test_broker_down_for_a_while_the_backlog_drains_in_order(
    mosquitto: Mosquitto, hub: Hub, make_agent: Callable[..., Agent]
) -> None:
    agent = make_agent("station-d")
    first, _ = record_burst(agent, 50)
    wait_until(lambda: _drained(agent), 30, "first events delivered")
    mosquitto.kill()
    backlog, failed = record_burst(agent, 1500)
    assert failed == 0, "the agent must keep accepting events while the broker is down"
    assert agent.outbox_depth() == 1500
    assert agent.status()["link"]["connected"] is False
    time.sleep(2.0)
    mosquitto.start()
    wait_until(lambda: _drained(agent), 90, "backlog drained")
    stored = hub.stored("station-d")
    assert len(stored) == 1550
    assert {event_id for event_id, _ in stored[:50]} == set(first)
    assert {event_id for event_id, _ in stored[50:]} == set(backlog)
    assert_in_station_order(stored)
    assert_contiguous(stored)
