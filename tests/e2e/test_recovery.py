"""Recovery at full speed: a lost window or a second hub worker never slows the drain."""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from tests.brokers import Mosquitto
from tests.e2e.processes import (
    Agent,
    Hub,
    assert_contiguous,
    assert_in_station_order,
    record_burst,
    vitals_request,
    wait_until,
)

pytestmark = pytest.mark.e2e

RECEIPT_TIMEOUT_S = 5.0
LONG_TIMEOUT_S = 24.0


class SteadyLoad:
    """Records one event every ``1/rate`` seconds through the agent's gRPC door until stopped."""

    def __init__(self, agent: Agent, rate: float) -> None:
        self.agent = agent
        self.period = 1.0 / rate
        self.acknowledged: list[str] = []
        self.failed = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        stub = self.agent.stub()
        n = 0
        next_at = time.monotonic()
        while not self._stop.is_set():
            try:
                reply = stub.RecordEvent(vitals_request("CASE-LOAD", n), timeout=10)
                self.acknowledged.append(reply.event_id)
            except grpc.RpcError:
                self.failed += 1
            n += 1
            next_at += self.period
            self._stop.wait(max(0.0, next_at - time.monotonic()))

    def __enter__(self) -> SteadyLoad:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join(15)


def _depth(agent: Agent) -> int:
    try:
        return agent.outbox_depth()
    except Exception:
        return -1


def test_a_window_lost_while_the_hub_was_away_drains_within_one_receipt_timeout(
    mosquitto: Mosquitto, hub: Hub, make_agent: Callable[..., Agent]
) -> None:
    """The hub is frozen while the broker restarts (its session and the agent's re-sends are
    lost); under a steady load, once the hub is back, every gap is re-sent at the first timeout
    and nothing waits behind it for further timeouts."""
    agent = make_agent("station-lost", receipt_timeout_s=RECEIPT_TIMEOUT_S)
    with SteadyLoad(agent, rate=40) as load:
        wait_until(lambda: len(hub.stored("station-lost")) > 40, 30, "events flowing")
        assert hub.proc is not None
        hub.proc.send_signal(signal.SIGSTOP)
        try:
            mosquitto.kill()
            mosquitto.start()
            time.sleep(2.0)  # the agent reconnects and re-sends its window to nobody
        finally:
            hub.proc.send_signal(signal.SIGCONT)
        time.sleep(3 * RECEIPT_TIMEOUT_S)  # the load goes on while the hub catches up
    assert load.failed == 0
    stopped_at = time.monotonic()
    # Before the fix the drain was one window per receipt timeout: events sent into the freed
    # window behind a gap waited for their own timeout, round after round.
    wait_until(lambda: _depth(agent) == 0, RECEIPT_TIMEOUT_S, "outbox drained after the load")
    drained_in = time.monotonic() - stopped_at
    stored = hub.stored("station-lost")
    assert {event_id for event_id, _ in stored} == set(load.acknowledged)
    assert_in_station_order(stored)
    assert_contiguous(stored)
    assert drained_in < RECEIPT_TIMEOUT_S


def test_two_hub_workers_sharing_the_events_store_them_without_waiting_for_timeouts(
    tmp_path: Path, mosquitto: Mosquitto, hub: Hub, make_agent: Callable[..., Agent]
) -> None:
    """Two hub processes on one SQLite file share ``$share/hub/...``: a station's later batch
    that reaches the other worker while the first commits waits in that worker for the gap,
    not for the station's receipt timeout."""
    second = Hub(
        hub.workdir.parent / "hub-2", mosquitto.url, hub.token, data_dir=str(hub.db_path.parent)
    )
    second.start()
    try:
        # A long receipt timeout: a batch held behind a gap that waited for the station's
        # re-send would show as a backlog lasting that long; the bounds below leave the rest
        # of it as slack for a loaded machine.
        agents = [
            make_agent(f"station-{i}", receipt_timeout_s=LONG_TIMEOUT_S, uplink_batch_max=10)
            for i in range(2)
        ]
        loads = [SteadyLoad(a, rate=60) for a in agents]
        for load in loads:
            load.__enter__()
        time.sleep(8.0)
        # Receipts kept pace during the load: the backlog never grew to a timeout's worth.
        depths = [_depth(a) for a in agents]
        for load in loads:
            load.__exit__()
        wait_until(
            lambda: all(_depth(a) == 0 for a in agents), LONG_TIMEOUT_S / 2, "outboxes drained"
        )
        for agent, load, depth in zip(agents, loads, depths, strict=True):
            assert load.failed == 0
            assert 0 <= depth < 60 * LONG_TIMEOUT_S / 4, f"{agent.station_id} backlog {depth}"
            stored = hub.stored(agent.station_id)
            assert {event_id for event_id, _ in stored} == set(load.acknowledged)
            assert_in_station_order(stored)
            assert_contiguous(stored)
        second.assert_alive()
    finally:
        second.stop()


def test_events_sent_before_the_hub_is_back_after_a_broker_restart_drain_without_a_timeout(
    mosquitto: Mosquitto, hub: Hub, make_agent: Callable[..., Agent]
) -> None:
    """The broker restarts and the station is back on it before the hub: Mosquitto keeps no
    `$share` subscription across a restart, so what the station sends then reaches no hub.
    Once the hub subscribes it asks the stations to re-send, and the outbox drains well
    before the station's own receipt timeout."""
    timeout_s = 12.0
    agent = make_agent("station-early", receipt_timeout_s=timeout_s)
    first, failed = record_burst(agent, 20)
    assert failed == 0
    wait_until(lambda: _depth(agent) == 0, 20, "first events receipted")
    assert hub.proc is not None
    hub.proc.send_signal(signal.SIGSTOP)  # the hub is slower to come back than the station
    try:
        mosquitto.kill()
        mosquitto.start()
        wait_until(lambda: agent.status()["link"]["connected"], 10, "station reconnected")
        later, failed = record_burst(agent, 100)
        assert failed == 0
        wait_until(lambda: agent.status()["link"]["in_flight"] == 100, 10, "events sent")
        time.sleep(0.5)  # published to a broker with no subscriber: dropped
    finally:
        hub.proc.send_signal(signal.SIGCONT)
    resumed = time.monotonic()
    wait_until(lambda: _depth(agent) == 0, timeout_s * 1.5, "outbox drained")
    drained_in = time.monotonic() - resumed
    stored = hub.stored("station-early")
    assert {event_id for event_id, _ in stored} == set(first + later)
    assert_in_station_order(stored)
    assert_contiguous(stored)
    assert drained_in < timeout_s / 2, f"drained {drained_in:.1f} s after the hub resumed"
