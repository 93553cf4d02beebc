"""An event no commit can store (a fault ingest's checks did not foresee) is answered alone,
rejected and kept in quarantine; the rest of its batch and other stations are stored."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from pathlib import Path

import httpx
import pytest

from hub.service import HubService
from hub.settings import HubSettings
from hub.storage import projections
from hub.storage.base import EventRow
from protos import events_pb2
from protos.reasons import Reason
from tests.brokers import Mosquitto
from tests.hub.events import STATION, UNIT, batch_bytes, vitals_event
from tests.hub.station import FakeStation

TOKEN = "poison-test-token"
OTHER = "st-02"


def _fails_on_poison(_conn: sqlite3.Connection, rows: Sequence[EventRow]) -> None:
    """A read model with a bug that only one event's data triggers."""
    if any(row.device_id == "poison" for row in rows):
        raise sqlite3.IntegrityError("a read model cannot take this event")


@pytest.fixture
def hub(tmp_path: Path, mosquitto: Mosquitto, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setitem(
        projections.PROJECTIONS,
        "vital_signs",
        [*projections.PROJECTIONS["vital_signs"], _fails_on_poison],
    )
    settings = HubSettings(
        data_dir=tmp_path / "hub",
        broker_url=mosquitto.url,
        http_port=0,
        mqtt_client_id=f"hub-{tmp_path.name}",
        bootstrap_token=TOKEN,  # type: ignore[arg-type]
        ingest_batch_wait_ms=5,
    )
    service = HubService(settings)
    service.start()
    try:
        service.wait_ready(10)
        for station_id in (STATION, OTHER):
            registered = httpx.post(
                f"{service.http_url}/v1/stations",
                json={"station_id": station_id, "unit_id": UNIT},
                headers={"Authorization": f"Bearer {TOKEN}"},
            )
            assert registered.status_code == 201
        yield service.http_url
    finally:
        service.stop()


def test_an_event_no_commit_stores_is_rejected_alone(hub: str, mosquitto: Mosquitto) -> None:
    # Today: the message is tried 3 times, acknowledged without receipts, and the station
    # re-sends it (and the good events with it) for ever.
    station, other = FakeStation(mosquitto.port), FakeStation(mosquitto.port, OTHER)
    try:
        good, poison, after = vitals_event(), vitals_event(), vitals_event()
        poison.device_id = "poison"
        station.publish(batch_bytes(good, poison, after))
        neighbour = vitals_event(station_id=OTHER)
        other.publish(batch_bytes(neighbour))
        assert other.take(1, timeout=15) == {neighbour.event_id: (events_pb2.ACCEPTED, "")}
        assert station.take(3, timeout=20) == {
            good.event_id: (events_pb2.ACCEPTED, ""),
            poison.event_id: (events_pb2.REJECTED, Reason.INVALID_PAYLOAD.value),
            after.event_id: (events_pb2.ACCEPTED, ""),
        }
        quarantine = httpx.get(
            f"{hub}/v1/quarantine", headers={"Authorization": f"Bearer {TOKEN}"}
        ).json()["items"]
        assert [(q["event_id"], q["reason_code"]) for q in quarantine] == [
            (poison.event_id, "invalid_payload")
        ]
    finally:
        station.close()
        other.close()
