"""Generated EventBatches through a real Mosquitto to a running hub process: while one station
keeps re-sending hostile batches, another station's events are still receipted, every
hostile event is answered, the hub stays up and case reads stay 200."""

from __future__ import annotations

import threading
from collections.abc import Iterator

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from protos import events_pb2
from tests.brokers import Mosquitto
from tests.e2e.conftest import UNIT
from tests.e2e.processes import Hub, wait_until
from tests.e2e.test_bad_input import Station
from tests.hub.proto_strategies import FUZZ, station_events
from tests.hub.test_ingest_fuzz import answerable

pytestmark = pytest.mark.e2e

BAD, GOOD, CASE = "station-fuzz", "station-good", "CASE-FUZZ"
ANSWERS = {events_pb2.ACCEPTED, events_pb2.DUPLICATE, events_pb2.REJECTED}


def _batch(raws: list[bytes]) -> bytes:
    batch = events_pb2.EventBatch(events=raws)
    batch.sent_at.GetCurrentTime()
    return batch.SerializeToString()


@pytest.fixture
def stations(mosquitto: Mosquitto, hub: Hub) -> Iterator[tuple[Station, Station, Hub]]:
    hub.register_station(BAD, UNIT)
    hub.register_station(GOOD, UNIT)
    with hub.api() as api:
        opened = api.post("/v1/cases", json={"case_id": CASE, "patient_id": "1", "unit_id": UNIT})
        assert opened.status_code in (200, 201), opened.text
    bad, good = Station(mosquitto, BAD), Station(mosquitto, GOOD)
    try:
        yield bad, good, hub
    finally:
        bad.close()
        good.close()


@settings(FUZZ, max_examples=min(FUZZ.max_examples, 12))
@given(
    batches=st.lists(
        st.lists(station_events(UNIT, BAD, [CASE, "CASE-NONE"]), min_size=1, max_size=3),
        min_size=1,
        max_size=3,
    )
)
def test_a_hostile_station_does_not_stop_the_others(
    stations: tuple[Station, Station, Hub], batches: list[list[bytes]]
) -> None:
    bad, good, hub = stations
    payloads = [_batch(raws) for raws in batches]
    stop, flooding = threading.Event(), threading.Event()

    def flood() -> None:
        # The hostile station re-sends its batches over and over (a real agent waits
        # receipt_timeout_s, 10 s, before it re-sends; this one waits 50 ms).
        while not stop.is_set():
            for payload in payloads:
                bad.publish(payload)
            flooding.set()
            stop.wait(0.05)

    flooder = threading.Thread(target=flood, daemon=True)
    flooder.start()
    try:
        assert flooding.wait(10), "the hostile station could not publish"
        for seq in (1, 2):
            event = good.event(seq=seq)
            good.send(event.SerializeToString())
            wait_until(lambda e=event: good.receipt_for(e.event_id), 20, "good station receipt")
            receipt = good.receipt_for(event.event_id)
            assert receipt is not None and receipt.status == events_pb2.ACCEPTED
            # ... receipted while the hostile station was still sending.
            assert flooder.is_alive()
    finally:
        stop.set()
        flooder.join(20)

    for raws in batches:
        for raw in raws:
            event_id = answerable(raw)
            if event_id is not None:
                wait_until(lambda i=event_id: bad.receipt_for(i), 15, f"receipt for {event_id}")
                assert bad.receipt_for(event_id).status in ANSWERS  # type: ignore[union-attr]
    hub.assert_alive()
    with hub.api() as api:
        for path in (f"/v1/cases/{CASE}", "/v1/events/unmatched", "/v1/cases/CASE-NONE"):
            response = api.get(path)
            assert response.status_code in (200, 404), (path, response.text[:300])
            assert response.status_code == 200 or path.endswith("CASE-NONE")
    assert httpx.get(f"{hub.url}/healthz", timeout=5).status_code == 200
