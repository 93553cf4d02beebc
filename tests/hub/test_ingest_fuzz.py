"""Generated EventBatches (from the .proto descriptors, boundary values included) through the
real ingest pipeline and a real SQLite store: every event is answered, nothing raises,
another station's events are receipted in the same commit, and reads stay 200."""

from __future__ import annotations

import time

import pytest
from fastapi.testclient import TestClient
from hypothesis import event, given
from hypothesis import strategies as st

from hub.ingest.pipeline import Incoming, process_batch
from hub.ingest.timefmt import now_iso
from hub.ingest.validation import salvage_event_id
from hub.storage.base import Case
from hub.storage.sqlite import SQLiteStore
from hub.tokens import Role
from protos import events_pb2, topics
from protos.event_ids import is_uuid7
from tests.hub.events import STATION, UNIT, vitals_event
from tests.hub.proto_strategies import FUZZ, messages, station_events

OTHER = "st-02"
CASE = "case-1"
ANSWERS = {events_pb2.ACCEPTED, events_pb2.DUPLICATE, events_pb2.REJECTED}
READS = [
    f"/v1/cases/{CASE}",
    f"/v1/cases/{CASE}/biometrics",
    f"/v1/cases/{CASE}/vitals",
    f"/v1/cases/{CASE}/vitals/fhir",
    f"/v1/cases/{CASE}/vitals/hl7",
    f"/v1/cases/{CASE}/documents",
    "/v1/events/unmatched",
    "/v1/quarantine",
]


def answerable(raw: bytes) -> str | None:
    """The id a receipt must name for `raw` (None: the hub cannot know whom to answer)."""
    salvaged = salvage_event_id(raw)
    try:
        decoded = events_pb2.Event.FromString(raw).event_id
    except Exception:
        return salvaged
    if salvaged is not None and decoded == salvaged:
        return salvaged
    return decoded if is_uuid7(decoded) else None


@st.composite
def fuzzed_batch(draw: st.DrawFn) -> tuple[bytes, list[bytes]]:
    raws = draw(
        st.lists(station_events(UNIT, STATION, [CASE, "case-unknown", ""]), min_size=1, max_size=4)
    )
    envelope = draw(messages(events_pb2.EventBatch))
    assert isinstance(envelope, events_pb2.EventBatch)
    envelope.ClearField("events")
    envelope.events.extend(raws)
    envelope.oldest_pending_seq = 0  # no ordering gate: every event is due an answer
    return envelope.SerializeToString(), raws


@pytest.fixture
def hub(
    store: SQLiteStore, client: TestClient, tokens: dict[Role, dict[str, str]]
) -> tuple[SQLiteStore, TestClient, dict[str, str]]:
    store.register_station(OTHER, UNIT, "2025-01-01T00:00:00.000000Z")
    store.open_case(Case(CASE, "1234567890", UNIT, now_iso(), None, "test"))
    return store, client, tokens[Role.OPS]


@FUZZ
@given(
    batch=fuzzed_batch(),
    state=messages(events_pb2.StationState),
    garbage=st.binary(max_size=64),
)
def test_generated_batches_are_each_answered_and_nothing_stops(
    hub: tuple[SQLiteStore, TestClient, dict[str, str]],
    batch: tuple[bytes, list[bytes]],
    state: events_pb2.StationState,
    garbage: bytes,
) -> None:
    store, client, headers = hub
    payload, raws = batch
    other = vitals_event(station_id=OTHER, station_seq=time.time_ns())
    other_batch = events_pb2.EventBatch(events=[other.SerializeToString()]).SerializeToString()
    now = time.time()
    outcome = process_batch(
        [
            Incoming(topics.events(UNIT, STATION), payload, now),
            Incoming(f"{topics.PREFIX}/{UNIT}/{STATION}/state", state.SerializeToString(), now),
            Incoming(topics.events(UNIT, STATION), garbage, now),
            Incoming(topics.events(UNIT, OTHER), other_batch, now),
        ],
        store,
        3600,
    )

    # Every event that names itself is answered, with one of the three answers.
    answered: dict[str, set[int]] = {}
    mine = outcome.receipts.get(topics.receipts(UNIT, STATION))
    for receipt in mine.receipts if mine else []:
        answered.setdefault(receipt.event_id, set()).add(receipt.status)
        event(f"answer {receipt.status} {receipt.reason_code}")
    for raw in raws:
        event_id = answerable(raw)
        if event_id is not None:
            assert answered.get(event_id), f"no receipt for {event_id}"
            assert answered[event_id] <= ANSWERS
    # The well-behaved station is receipted by the very commit that handles the bad events.
    other_receipts = outcome.receipts[topics.receipts(UNIT, OTHER)].receipts
    assert [(r.event_id, r.status) for r in other_receipts] == [
        (other.event_id, events_pb2.ACCEPTED)
    ]

    # Reads stay 200, before and after the payload renderer ran.
    for attempt in ("on the fly", "rendered"):
        for path in READS:
            response = client.get(path, headers=headers)
            assert response.status_code == 200, (attempt, path, response.text[:300])
        for event_id, statuses in answered.items():
            if events_pb2.ACCEPTED in statuses:
                one = client.get(f"/v1/events/{event_id}", headers=headers)
                assert one.status_code == 200, (attempt, one.text[:300])
                assert one.json().get("problem") is None  # what ingest accepts renders
        store.render_pending_payloads(500)
