"""Two hub processes' worth of services on one PostgreSQL and one broker: selected by
database_url, migrated at start, sharing $share/hub/...; every event stored once, in station
order, with one receipt from whichever worker committed it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from hub.service import HubService
from hub.settings import HubSettings
from protos import events_pb2
from tests.brokers import Mosquitto
from tests.hub.events import STATION, UNIT, batch_bytes, vitals_event
from tests.hub.station import FakeStation

TOKEN = "test-bootstrap-token"
OPS = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def hubs(tmp_path: Path, mosquitto: Mosquitto, database: str) -> Iterator[list[HubService]]:
    services = []
    try:
        for i in range(2):
            settings = HubSettings(
                data_dir=tmp_path / f"hub-{i}",
                database_url=database,
                broker_url=mosquitto.url,
                http_port=0,
                mqtt_client_id=f"hub-{i}-{tmp_path.name}",
                bootstrap_token=TOKEN,  # type: ignore[arg-type]
                ingest_batch_wait_ms=5,
                shared_subscription=True,
            )
            service = HubService(settings)
            service.start()
            service.wait_ready(10)
            services.append(service)
        yield services
    finally:
        for service in services:
            service.stop()


def test_two_hubs_on_one_postgres_store_each_event_once_in_order(
    hubs: list[HubService], mosquitto: Mosquitto
) -> None:
    one, two = hubs
    registered = httpx.post(
        f"{one.http_url}/v1/stations", json={"station_id": STATION, "unit_id": UNIT}, headers=OPS
    )
    assert registered.status_code == 201
    # The station registered through one hub is known to the other: one database.
    assert httpx.get(f"{two.http_url}/v1/stations/{STATION}", headers=OPS).status_code == 200
    station = FakeStation(mosquitto.port)
    try:
        events = [vitals_event(station_seq=seq, case_id="pg-case") for seq in range(1, 61)]
        for start in range(0, 60, 10):  # as an agent sends them: nothing receipted yet
            batch = events_pb2.EventBatch(
                events=[e.SerializeToString() for e in events[start : start + 10]],
                oldest_pending_seq=1,
            )
            batch.sent_at.GetCurrentTime()
            station.publish(batch.SerializeToString())
        receipts = station.take(60, timeout=60)
        assert receipts == {e.event_id: (events_pb2.ACCEPTED, "") for e in events}
        station.publish(batch_bytes(*events[:10]))  # re-sent: already stored
        assert set(station.take(10, timeout=30).values()) == {(events_pb2.DUPLICATE, "")}
    finally:
        station.close()
    listing = httpx.get(f"{two.http_url}/v1/stations/{STATION}", headers=OPS).json()
    assert listing["event_count"] == 60
    readings = one.store.readings().readings("pg-case", None, None)
    assert len(readings) == 60  # projected once each
    timeline = one.store.case_timeline("pg-case", 100, None).items
    by_ingest = sorted(timeline, key=lambda e: e.ingest_seq)
    assert [e.station_seq for e in by_ingest] == list(range(1, 61))  # station order kept
