"""An ingest worker (role ingest) on PostgreSQL has a small HTTP door: /metrics with the same
puente_hub_* families as role both, and /healthz that fails while the database refuses
writes (a table lock held past the probe's timeout, a read-only database), as issue 14 asks of
role both."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from hub.service import HubService
from hub.settings import HubSettings
from protos import events_pb2
from tests.brokers import Mosquitto
from tests.hub.events import STATION, UNIT, vitals_event
from tests.hub.station import FakeStation

T0 = "2026-01-01T00:00:00.000000Z"


@pytest.fixture
def worker(tmp_path: Path, mosquitto: Mosquitto, database: str) -> Iterator[HubService]:
    settings = HubSettings(
        data_dir=tmp_path / "worker",
        database_url=database,
        broker_url=mosquitto.url,
        http_port=0,
        role="ingest",
        mqtt_client_id=f"worker-{uuid.uuid4().hex[:8]}",
        shared_subscription=True,
        health_write_probe_s=0.05,
        health_write_timeout_s=0.3,
    )
    service = HubService(settings)
    service.start()
    try:
        service.wait_ready(30)
        yield service
    finally:
        service.stop()


def _metric(text: str, line_start: str) -> float:
    for line in text.splitlines():
        if line.startswith(line_start + " "):
            return float(line.split()[-1])
    raise AssertionError(f"{line_start} not in /metrics:\n{text}")


def _healthz_until(url: str, status: int) -> httpx.Response:
    deadline = time.monotonic() + 20
    while True:
        answer = httpx.get(f"{url}/healthz", timeout=10)
        if answer.status_code == status or time.monotonic() > deadline:
            return answer
        time.sleep(0.1)


def test_an_ingest_worker_serves_metrics_of_what_it_stored(
    worker: HubService, mosquitto: Mosquitto
) -> None:
    worker.store.register_station(STATION, UNIT, T0)
    assert httpx.get(f"{worker.http_url}/v1/cases", timeout=10).status_code == 404  # no API
    station = FakeStation(mosquitto.port)
    try:
        events = [vitals_event(station_seq=seq, case_id="w-case") for seq in range(1, 21)]
        for start in (10, 0):  # the later batch first: held back until its gap is filled
            batch = events_pb2.EventBatch(
                events=[e.SerializeToString() for e in events[start : start + 10]],
                oldest_pending_seq=1,
            )
            batch.sent_at.GetCurrentTime()
            station.publish(batch.SerializeToString())
            if start == 10:
                time.sleep(0.5)
        receipts = station.take(20, timeout=30)
    finally:
        station.close()
    assert set(receipts.values()) == {(events_pb2.ACCEPTED, "")}
    text = httpx.get(f"{worker.http_url}/metrics", timeout=10).text
    assert _metric(text, 'puente_hub_events_total{outcome="accepted"}') == 20
    assert _metric(text, 'puente_hub_events_total{outcome="held_out_of_order"}') >= 10
    assert _metric(text, "puente_hub_held_retries_total") >= 1
    assert _metric(text, "puente_hub_batch_commit_seconds_count") >= 2
    assert _metric(text, "puente_hub_batch_events_sum") == 20
    # The PostgreSQL commit in stages, each timed (the store's part of a commit).
    for stage in ("all", "encode", "begin", "insert"):
        assert _metric(text, f'puente_hub_store_commit_seconds_count{{stage="{stage}"}}') >= 1
    # Vital signs alone: one round trip to the server per commit (the one statement).
    commits = _metric(text, 'puente_hub_store_commit_seconds_count{stage="all"}')
    assert _metric(text, "puente_hub_store_round_trips_total") == commits
    assert _metric(text, "puente_hub_db_writable") == 1
    answer = httpx.get(f"{worker.http_url}/healthz", timeout=10)
    assert answer.status_code == 200 and answer.json()["mqtt_connected"] is True


def test_an_ingest_workers_healthz_fails_while_the_database_refuses_writes(
    worker: HubService, database: str
) -> None:
    assert _healthz_until(worker.http_url, 200).status_code == 200
    locker: Any = psycopg.connect(database)
    try:
        locker.execute("LOCK TABLE hub_heartbeat IN ACCESS EXCLUSIVE MODE")  # held: no commit
        answer = _healthz_until(worker.http_url, 503)
        assert answer.status_code == 503, answer.text
        body = answer.json()
        assert body["code"] == "db_not_writable" and body["db_writable"] is False
        assert "write probe failed" in body["causes"][0]
        assert "in time" in body["detail"] and "a tiempo" in body["detail"]
        metrics = httpx.get(f"{worker.http_url}/metrics", timeout=10).text
        assert _metric(metrics, "puente_hub_db_writable") == 0
    finally:
        locker.rollback()
        locker.close()
    assert _healthz_until(worker.http_url, 200).status_code == 200

    name = database.rpartition("/")[2]
    admin: Any = psycopg.connect(database, autocommit=True)
    try:
        admin.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
        # The pool's open connections predate the setting: end them, new ones are read-only.
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = %s AND pid <> pg_backend_pid()",
            (name,),
        )
        deadline = time.monotonic() + 20
        while True:
            answer = _healthz_until(worker.http_url, 503)
            if "read-only" in answer.text or time.monotonic() > deadline:
                break
            time.sleep(0.1)
        assert answer.status_code == 503, answer.text
        assert "read-only" in answer.json()["detail"]
    finally:
        admin.execute(f'ALTER DATABASE "{name}" RESET default_transaction_read_only')
        admin.close()
