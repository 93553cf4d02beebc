"""The hub process stops cleanly and says when it cannot write: real hub, Mosquitto, SQLite."""

from __future__ import annotations

import signal
from collections.abc import Callable

import pytest

from tests.brokers import Mosquitto
from tests.e2e.processes import Agent, Hub, record_burst, wait_until

pytestmark = pytest.mark.e2e


def test_hub_stops_cleanly_on_sigterm_while_the_broker_is_down(
    mosquitto: Mosquitto, hub: Hub, make_agent: Callable[..., Agent]
) -> None:
    """Events reach the hub's socket, the broker dies before their receipts can go out, then
    ops stop the hub: it commits what it has, cannot answer, and exits 0 all the same."""
    agent = make_agent("station-term")
    acknowledged, failed = record_burst(agent, 50)
    assert failed == 0
    wait_until(lambda: len(hub.stored("station-term")) == 50, 20, "first events stored")
    assert hub.proc is not None
    hub.proc.send_signal(signal.SIGSTOP)  # frozen: what arrives now waits in its socket
    try:
        _, failed = record_burst(agent, 200)
        assert failed == 0
        wait_until(lambda: agent.status()["link"]["in_flight"] > 0, 10, "events sent")
        mosquitto.kill()
    finally:
        hub.proc.send_signal(signal.SIGCONT)
    # The hub reads what the broker had written to it, commits it, and finds no broker.
    wait_until(
        lambda: len(hub.stored("station-term")) > 50, 20, "events read after the broker died"
    )
    hub.proc.send_signal(signal.SIGTERM)
    code = hub.proc.wait(30)
    log = hub.log_tail(60)
    assert code == 0, f"hub exited {code}:\n{log}"
    assert "Traceback" not in log, log
    stored = {event_id for event_id, _ in hub.stored("station-term")}
    assert set(acknowledged) <= stored
