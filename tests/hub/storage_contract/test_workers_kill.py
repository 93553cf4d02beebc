"""Three `puente hub` worker processes on one PostgreSQL and one broker; one is killed with
SIGKILL in the middle of a burst and restarted (as systemd's Restart= does). The station re-sends
what has no receipt (as the agent's uplink does): every event is stored exactly once, projected
once, in station order.

The restart matters: workers keep a persistent MQTT session (clean_session=False), and Mosquitto
keeps handing a dead member of a $share group its turn of the messages, queued in its session
until it comes back under the same client id."""

from __future__ import annotations

import queue
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.storage.postgres import PostgresStore
from protos import events_pb2
from tests.brokers import Mosquitto, free_port, wait_port
from tests.hub.events import STATION, UNIT, vitals_event
from tests.hub.station import FakeStation
from tests.hub.storage_contract.conftest import PG_URL, _admin, _with_db

pytestmark = pytest.mark.e2e
EVENTS, PER_BATCH = 300, 10


@pytest.fixture
def database() -> Iterator[str]:
    admin = _admin()
    name = f"puente_test_{uuid.uuid4().hex[:12]}"
    admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_db(PG_URL, name)
    finally:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def _worker(tmp_path: Path, i: int, database: str, mosquitto: Mosquitto) -> subprocess.Popen:
    port = free_port()
    config = tmp_path / f"w{i}-{port}.toml"
    config.write_text(
        f'data_dir = "{tmp_path / f"w{i}"}"\ndatabase_url = "{database}"\n'
        f'broker_url = "{mosquitto.url}"\nhttp_port = {port}\n'
        f'mqtt_client_id = "worker-{i}-{tmp_path.name}"\nshared_subscription = true\n'
        "ingest_batch_wait_ms = 5\n"
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "hub.cli", "--config", str(config)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=Path(__file__).parents[3],
    )
    wait_port(port, 30)
    return proc


def test_a_worker_killed_mid_burst_loses_nothing_duplicates_nothing_keeps_order(
    tmp_path: Path, mosquitto: Mosquitto, database: str
) -> None:
    store = PostgresStore(database)
    store.migrate()
    store.register_station(STATION, UNIT, "2026-01-01T00:00:00.000000Z")
    workers = [_worker(tmp_path, i, database, mosquitto) for i in range(3)]
    station = FakeStation(mosquitto.port)
    try:
        time.sleep(1.0)  # every worker subscribed
        events = [vitals_event(station_seq=s, case_id="burst") for s in range(1, EVENTS + 1)]
        receipted: dict[str, int] = {}

        def send(batch: list[events_pb2.Event]) -> None:
            pending = [e.station_seq for e in events if e.event_id not in receipted]
            msg = events_pb2.EventBatch(
                events=[e.SerializeToString() for e in batch],
                oldest_pending_seq=min(pending) if pending else 0,
            )
            msg.sent_at.GetCurrentTime()
            station.publish(msg.SerializeToString())

        def drain(wait: float) -> None:
            deadline = time.monotonic() + wait
            while time.monotonic() < deadline:
                try:
                    r = station.receipts.get(timeout=0.1)
                except queue.Empty:
                    continue
                receipted.setdefault(r.event_id, r.status)

        batches = [events[i : i + PER_BATCH] for i in range(0, EVENTS, PER_BATCH)]
        for n, batch in enumerate(batches):
            send(batch)
            if n == len(batches) // 2:
                workers[0].kill()  # SIGKILL mid-burst: no clean stop, no flush
                workers[0].wait(10)
        time.sleep(2.0)  # systemd's RestartSec
        workers[0] = _worker(tmp_path, 0, database, mosquitto)  # the same client id
        deadline = time.monotonic() + 120
        while len(receipted) < EVENTS and time.monotonic() < deadline:
            drain(3.0)
            missing = [e for e in events if e.event_id not in receipted]
            for i in range(0, len(missing), PER_BATCH):  # the uplink's re-send, in order
                send(missing[i : i + PER_BATCH])
        drain(1.0)
        assert len(receipted) == EVENTS, f"{EVENTS - len(receipted)} events never receipted"
        assert set(receipted.values()) <= {events_pb2.ACCEPTED, events_pb2.DUPLICATE}
        rows = store.case_timeline("burst", EVENTS * 2, None).items
        assert len(rows) == EVENTS  # 0 lost, 0 duplicated
        assert len(store.readings().readings("burst", None, None)) == EVENTS  # projected once
        by_ingest = sorted(rows, key=lambda e: e.ingest_seq)
        assert [e.station_seq for e in by_ingest] == list(range(1, EVENTS + 1))  # order kept
    finally:
        station.close()
        for w in workers:
            if w.poll() is None:
                w.terminate()
        for w in workers:
            try:
                w.wait(15)
            except subprocess.TimeoutExpired:
                w.kill()
        store.close()
