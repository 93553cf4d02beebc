"""On PostgreSQL an ingest worker prepares the next batch (decode, checks, station order) while
the previous one commits, counting what is committing as stored. If that commit fails, what
was prepared counting on it is prepared again from the database: a station's later events
wait for the earlier ones, as they would with one batch at a time."""

from __future__ import annotations

import queue
import time
import uuid
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from hub.ingest.worker import IngestWorker
from hub.metrics import HubMetrics
from hub.settings import HubSettings
from hub.storage.base import EventRow, QuarantineRow, StationSeen
from hub.storage.postgres import PostgresStore
from protos import events_pb2
from tests.brokers import Mosquitto
from tests.hub.events import STATION, UNIT, vitals_event
from tests.hub.station import FakeStation

T0 = "2026-01-01T00:00:00.000000Z"


class FlakyStore:
    """The real store, except that while ``down`` any commit touching the station's first ten
    events fails (slowly, as a server that hangs then drops the connection)."""

    def __init__(self, inner: PostgresStore) -> None:
        self._inner = inner
        self.down = True
        self.first_ids: set[str] = set()
        self.slow = True

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)

    def commit_ingest(
        self,
        events: Sequence[EventRow],
        quarantine: Sequence[QuarantineRow],
        seen: Sequence[StationSeen],
    ) -> list[bool]:
        touched = {e.event_id for e in events} | {q.event_id for q in quarantine}
        if self.down and touched & self.first_ids:
            if self.slow:  # the first time: while the next batch is being prepared
                time.sleep(0.3)
                self.slow = False
            raise OSError("server closed the connection unexpectedly")
        return self._inner.commit_ingest(events, quarantine, seen)


@pytest.fixture
def pg_store(database: str) -> Iterator[PostgresStore]:
    store = PostgresStore(database)
    store.migrate()
    store.register_station(STATION, UNIT, T0)
    try:
        yield store
    finally:
        store.close()


def _batch(events: list[events_pb2.Event]) -> bytes:
    batch = events_pb2.EventBatch(
        events=[e.SerializeToString() for e in events], oldest_pending_seq=1
    )
    batch.sent_at.GetCurrentTime()
    return batch.SerializeToString()


def test_a_batch_prepared_behind_a_failed_commit_waits_for_its_gap(
    tmp_path: Path,
    mosquitto: Mosquitto,
    database: str,
    pg_store: PostgresStore,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr("hub.ingest.worker._RETRIES", 1)  # give up at once: no 0.2 s pauses
    settings = HubSettings(
        data_dir=tmp_path / "worker",
        database_url=database,
        broker_url=mosquitto.url,
        mqtt_client_id=f"worker-{uuid.uuid4().hex[:8]}",
        shared_subscription=True,
    )
    store = FlakyStore(pg_store)
    metrics = HubMetrics()
    worker = IngestWorker(settings, store, metrics)
    events = [vitals_event(station_seq=seq, case_id="p-case") for seq in range(1, 21)]
    store.first_ids = {e.event_id for e in events[:10]}
    station = FakeStation(mosquitto.port)
    worker.start()
    try:
        assert worker.wait_subscribed(30)
        station.publish(_batch(events[:10]))
        time.sleep(0.15)  # being committed (slowly, and failing) when the next one arrives
        station.publish(_batch(events[10:]))
        deadline = time.monotonic() + 30
        while metrics.held._value.get() < 10 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert metrics.held._value.get() >= 10  # 11..20 held: 1..10 are not stored
        stored = pg_store._conn().execute("SELECT count(*) FROM events").fetchone()[0]
        assert stored == 0
        with pytest.raises(queue.Empty):
            station.take(1, timeout=0.5)  # no receipt for anything yet

        store.down = False
        station.publish(_batch(events[:10]))  # the station re-sends from its gap
        accepted: set[str] = set()
        statuses: set[int] = set()
        deadline = time.monotonic() + 30
        while len(accepted) < 20 and time.monotonic() < deadline:
            receipt = station.receipts.get(timeout=max(0.01, deadline - time.monotonic()))
            statuses.add(receipt.status)
            if receipt.status == events_pb2.ACCEPTED:
                accepted.add(receipt.event_id)
    finally:
        station.close()
        worker.stop()
    # Each stored once (ACCEPTED once; a copy the worker had held meanwhile is a DUPLICATE).
    assert accepted == {e.event_id for e in events}
    assert events_pb2.REJECTED not in statuses
    seqs = pg_store._conn().execute("SELECT station_seq FROM events ORDER BY ingest_seq")
    assert [r[0] for r in seqs.fetchall()] == list(range(1, 21))
