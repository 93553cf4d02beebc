"""One out-of-range or oversized event is rejected alone, with a reason; the writer goes on,
and readers show a bad event stored by an older hub flagged instead of failing."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from hub.ingest.limits import TIMESTAMP_MAX_S, TIMESTAMP_MIN_S, IngestLimits
from hub.ingest.pipeline import Incoming, process_batch
from hub.ingest.timefmt import now_iso
from hub.storage.base import Case, EventRow
from hub.storage.sqlite import SQLiteStore
from hub.tokens import Role
from protos import events_pb2, topics
from protos.reasons import Reason
from tests.hub.events import STATION, UNIT, batch_bytes, vitals_event

OTHER = "st-02"
RECEIPTS = topics.receipts(UNIT, STATION)


def incoming(payload: bytes, station_id: str = STATION, leaf: str = "events") -> Incoming:
    return Incoming(f"{topics.PREFIX}/{UNIT}/{station_id}/{leaf}", payload, time.time())


def answers(outcome: object, station_id: str = STATION) -> dict[str, tuple[int, str, str]]:
    batch = outcome.receipts[topics.receipts(UNIT, station_id)]  # type: ignore[attr-defined]
    return {r.event_id: (r.status, r.reason_code, r.reason) for r in batch.receipts}


@pytest.fixture
def two_stations(store: SQLiteStore) -> SQLiteStore:
    store.register_station(OTHER, UNIT, "2025-01-01T00:00:00.000000Z")
    return store


def test_station_seq_of_2_63_is_rejected_alone_and_the_writer_goes_on(
    two_stations: SQLiteStore,
) -> None:
    # Today: OverflowError binding station_seq in the single writer; the whole commit (and
    # so every station's events queued with it) fails, again on every re-send.
    bad = vitals_event(station_seq=2**63)
    good = vitals_event(station_seq=1)
    other = vitals_event(station_id=OTHER, station_seq=1)
    outcome = process_batch(
        [incoming(batch_bytes(good, bad)), incoming(batch_bytes(other), OTHER)], two_stations, 3600
    )
    mine = answers(outcome)
    assert mine[good.event_id][:2] == (events_pb2.ACCEPTED, "")
    assert mine[bad.event_id][:2] == (events_pb2.REJECTED, Reason.OUT_OF_RANGE.value)
    assert "station_seq" in mine[bad.event_id][2]
    assert answers(outcome, OTHER)[other.event_id][0] == events_pb2.ACCEPTED


@pytest.mark.parametrize(
    ("seconds", "nanos"),
    [
        (TIMESTAMP_MAX_S + 1, 0),
        (TIMESTAMP_MIN_S - 1, 0),
        (-1, 0),  # before 1970: no device's clock, and no four-digit year for exports
        (2**62, 0),
        (0, -1),
        (0, 10**9),
    ],
)
def test_nested_measured_at_out_of_range_is_rejected_by_path(
    store: SQLiteStore, seconds: int, nanos: int
) -> None:
    bad = vitals_event()
    bad.vital_signs.readings[0].measured_at.seconds = seconds
    bad.vital_signs.readings[0].measured_at.nanos = nanos
    outcome = process_batch([incoming(batch_bytes(bad))], store, 3600)
    status, code, reason = answers(outcome)[bad.event_id]
    assert (status, code) == (events_pb2.REJECTED, Reason.OUT_OF_RANGE.value)
    assert "vital_signs.readings[0].measured_at" in reason


def test_occurred_at_beyond_year_9999_is_a_bad_timestamp_even_for_a_retired_station(
    store: SQLiteStore,
) -> None:
    # Today the retirement check turns the timestamp into a datetime first: ValueError.
    store.retire_station(STATION, "2025-06-01T00:00:00+00:00")
    bad = vitals_event()
    bad.occurred_at.seconds = 2**62
    outcome = process_batch([incoming(batch_bytes(bad))], store, 10**20)
    assert answers(outcome)[bad.event_id][:2] == (events_pb2.REJECTED, Reason.BAD_TIMESTAMP.value)


def test_signer_signed_at_and_unknown_enum_and_nan_are_rejected(store: SQLiteStore) -> None:
    signed = vitals_event()
    signed.signed_document.document_type = "SPS-53"
    signed.signed_document.body.sha256 = b"\x01" * 32
    signed.signed_document.signer.signed_at.seconds = -(2**40)
    unknown_level = vitals_event()
    unknown_level.signed_document.signer.level = 99  # type: ignore[assignment]
    nan = vitals_event(spo2=float("nan"))
    outcome = process_batch([incoming(batch_bytes(signed, unknown_level, nan))], store, 3600)
    got = answers(outcome)
    assert "signed_document.signer.signed_at" in got[signed.event_id][2]
    assert "signed_document.signer.level" in got[unknown_level.event_id][2]
    assert "vital_signs.readings[0].value" in got[nan.event_id][2]
    assert {v[1] for v in got.values()} == {Reason.OUT_OF_RANGE.value}


def test_a_document_must_name_its_body_by_a_sha256(
    store: SQLiteStore, client: TestClient, tokens: dict[Role, dict[str, str]]
) -> None:
    # Today accepted, and then the case's document list answers 500 (BadDigest of '').
    no_body = vitals_event()
    no_body.scanned_document.document_type = "SPS-4"
    short = vitals_event()
    short.signed_document.body.sha256 = b"\x01" * 5
    outcome = process_batch([incoming(batch_bytes(no_body, short))], store, 3600)
    got = answers(outcome)
    assert "scanned_document.body.sha256" in got[no_body.event_id][2]
    assert "signed_document.body.sha256: 5 bytes" in got[short.event_id][2]
    _store_unchecked(store, no_body)  # as an older hub stored it
    listing = client.get("/v1/cases/case-1/documents", headers=tokens[Role.OPS])
    assert listing.status_code == 200, listing.text
    assert listing.json()["items"][0]["body_available"] is False


def test_a_refused_reading_keeps_its_nan_and_the_event_is_accepted(store: SQLiteStore) -> None:
    event = vitals_event()
    refused = event.vital_signs.rejected.add(reason_code="not_a_number")
    refused.reading.value = float("nan")
    refused.reading.mdc_code = 150456
    outcome = process_batch([incoming(batch_bytes(event))], store, 3600)
    assert answers(outcome)[event.event_id][0] == events_pb2.ACCEPTED


def test_readings_per_event_and_event_and_batch_sizes_are_limited(store: SQLiteStore) -> None:
    limits = IngestLimits(max_event_bytes=4096, max_batch_bytes=20_000, max_readings_per_event=10)
    many = vitals_event()
    for _ in range(10):
        many.vital_signs.readings.add().CopyFrom(many.vital_signs.readings[0])
    huge = vitals_event()
    huge.vital_signs.operator_id = "x" * 2000
    huge.vital_signs.monitor.model = "y" * 3000  # under the string limit, over the event size
    fine = vitals_event()
    outcome = process_batch([incoming(batch_bytes(many, huge, fine))], store, 3600, limits=limits)
    got = answers(outcome)
    assert got[many.event_id][:2] == (events_pb2.REJECTED, Reason.OUT_OF_RANGE.value)
    assert "11 readings" in got[many.event_id][2] or "11 elements" in got[many.event_id][2]
    assert got[huge.event_id][:2] == (events_pb2.REJECTED, Reason.TOO_LARGE.value)
    assert got[fine.event_id][0] == events_pb2.ACCEPTED

    # A batch over its limit: every event in it is answered too_large, none is decoded.
    small = [vitals_event() for _ in range(8)]
    for e in small:
        e.vital_signs.operator_id = "z" * 3000
    outcome = process_batch([incoming(batch_bytes(*small))], store, 3600, limits=limits)
    got = answers(outcome)
    assert set(got) == {e.event_id for e in small}
    assert {v[:2] for v in got.values()} == {(events_pb2.REJECTED, Reason.TOO_LARGE.value)}
    # ... and the quarantine keeps each of them whole (they were within the event limit).
    conn = sqlite3.connect(store.path)
    kept = conn.execute(
        "SELECT length(raw) FROM quarantine WHERE event_id = ?", (small[0].event_id,)
    ).fetchone()[0]
    conn.close()
    assert kept == len(small[0].SerializeToString())


def test_sent_at_and_station_state_out_of_range_do_not_stop_the_batch(
    store: SQLiteStore,
) -> None:
    # Today: the clock offset from sent_at 2^62 s and an outbox_depth of 2^63 overflow
    # SQLite's integers, and the whole commit fails.
    event = vitals_event()
    batch = events_pb2.EventBatch(events=[event.SerializeToString()])
    batch.sent_at.seconds = 2**62
    state = events_pb2.StationState(station_id=STATION, unit_id=UNIT, outbox_depth=2**63)
    state.at.GetCurrentTime()
    outcome = process_batch(
        [incoming(batch.SerializeToString()), incoming(state.SerializeToString(), leaf="state")],
        store,
        3600,
    )
    assert answers(outcome)[event.event_id][0] == events_pb2.ACCEPTED
    assert store.get_station(STATION).clock_offset_ms == 0  # type: ignore[union-attr]


def _store_unchecked(store: SQLiteStore, *events: events_pb2.Event) -> None:
    """Store events as an older hub did, without today's checks."""
    rows = [
        EventRow(
            event_id=e.event_id,
            station_id=e.station_id,
            unit_id=e.unit_id,
            device_id=e.device_id,
            case_id=e.case_id,
            patient_id=e.patient_id,
            kind=e.WhichOneof("payload") or "",
            occurred_at=now_iso(),
            station_seq=e.station_seq,
            received_at=now_iso(),
            clock_offset_ms=0,
            raw=e.SerializeToString(),
        )
        for e in events
    ]
    store.commit_ingest(rows, [], [])


def test_a_bad_stored_event_is_flagged_and_reads_and_the_renderer_go_on(
    store: SQLiteStore, client: TestClient, tokens: dict[Role, dict[str, str]]
) -> None:
    store.open_case(Case("case-1", "1234567890", UNIT, now_iso(), None, "test"))
    bad = vitals_event(case_id="case-1")
    bad.vital_signs.readings[0].measured_at.seconds = 2**40
    unmatched_bad = vitals_event(case_id="case-nobody")
    unmatched_bad.vital_signs.readings[0].measured_at.nanos = -5
    good = vitals_event(case_id="case-1")
    _store_unchecked(store, bad, unmatched_bad, good)
    headers = tokens[Role.OPS]

    # Read before the renderer ran (payload rendered on the fly): today a 500.
    case = client.get("/v1/cases/case-1", headers=headers)
    assert case.status_code == 200, case.text
    timeline = {e["event_id"]: e for e in case.json()["timeline"]}
    assert timeline[good.event_id]["problem"] is None
    assert timeline[good.event_id]["payload"]["readings"][0]["mdc_code"] == 150456
    assert timeline[bad.event_id]["payload"] == {}
    assert "measured_at" in timeline[bad.event_id]["problem"]
    unmatched = client.get("/v1/events/unmatched", headers=headers)
    assert unmatched.status_code == 200, unmatched.text
    assert "evento guardado no mostrado" in unmatched.json()["items"][0]["problem"]

    # The renderer passes the bad ones (flagged) and renders the good one: today it raises
    # on the first bad event of its chunk, every time it runs.
    assert store.render_pending_payloads(500) == 3
    assert store.render_pending_payloads(500) == 0
    again = client.get(f"/v1/events/{bad.event_id}", headers=headers).json()
    assert again["payload"] == {} and "measured_at" in again["problem"]
    shown = client.get(f"/v1/events/{good.event_id}", headers=headers).json()
    assert shown["problem"] is None and shown["payload"]["mode"] == "spot"
    confirmation = vitals_event(case_id="case-1")
    confirmation.biometric_confirmation.step = "admission"
    confirmation.biometric_confirmation.decision = 77  # type: ignore[assignment]
    confirmation.biometric_confirmation.score = float("nan")
    _store_unchecked(store, confirmation)
    for path in (
        "/v1/cases/case-1/vitals",
        "/v1/cases/case-1/vitals/fhir",
        "/v1/cases/case-1/biometrics",
        "/v1/cases/case-1",
    ):
        response = client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.text[:300])


def test_the_case_page_shows_a_bad_stored_event_in_words(
    store: SQLiteStore, client: TestClient
) -> None:
    import re

    from hub.web.auth import WebRole

    store.open_case(Case("case-1", "1234567890", UNIT, now_iso(), None, "test"))
    bad = vitals_event(case_id="case-1")
    bad.vital_signs.readings[0].measured_at.seconds = 2**40
    _store_unchecked(store, bad, vitals_event(case_id="case-1"))
    client.app.state.console.auth.add("luis", WebRole.CLINICIAN, "correct horse battery")  # type: ignore[attr-defined]
    form = client.get("/console/login", headers={"Accept-Language": "en"}).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf, form[:500]
    signed_in = client.post(
        "/console/login",
        data={"csrf": csrf.group(1), "name": "luis", "password": "correct horse battery"},
        follow_redirects=False,
    )
    assert signed_in.status_code == 303, signed_in.text[:300]
    page = client.get("/console/cases/case-1", headers={"Accept-Language": "en"})
    assert page.status_code == 200, page.text[:500]
    assert "Event not shown:" in page.text and "measured_at" in page.text
    wrong = client.get("/console/cases/case-1", params={"before": "WyJhIiwgeyJ4IjogMX1d"})
    assert wrong.status_code == 400


def test_migration_721_drops_readings_no_export_can_read(tmp_path: Path) -> None:
    from hub.storage import schema

    store = SQLiteStore(tmp_path / "old.sqlite3")
    conn = sqlite3.connect(store.path, isolation_level=None)
    schema.MIGRATIONS, saved = [m for m in schema.MIGRATIONS if m[0] < 720], schema.MIGRATIONS
    try:
        store.migrate()  # the hub as it was
    finally:
        schema.MIGRATIONS = saved
    columns = "event_id, case_id, parameter, mdc_code, mdc_refid, loinc, value, unit, "
    for at in ("36812-02-20T00:36:16.988Z", "1-01-01T00:00:00.000Z", "2025-03-01T14:05:09.123Z"):
        conn.execute(
            f"INSERT INTO vital_readings ({columns}measured_at, containment, flags, status, "
            "reason_code, reason) VALUES ('e', 'c', 'spo2', 1, '', '', 97, '%', ?, '', '[]', "
            "'accepted', '', '')",
            (at,),
        )
    store.migrate()
    kept = [r[0] for r in conn.execute("SELECT measured_at FROM vital_readings")]
    conn.close()
    store.close()
    assert kept == ["2025-03-01T14:05:09.123Z"]


def test_vital_signs_of_a_case_name_their_patient(
    store: SQLiteStore, client: TestClient, tokens: dict[Role, dict[str, str]]
) -> None:
    # Today accepted, and the case's FHIR export then answers 500 (a subject without value).
    store.open_case(Case("case-1", "1234567890", UNIT, now_iso(), None, "test"))
    unnamed = vitals_event(case_id="case-1", patient_id="")
    got = answers(process_batch([incoming(batch_bytes(unnamed))], store, 3600))
    assert got[unnamed.event_id][:2] == (events_pb2.REJECTED, Reason.MISSING_FIELD.value)
    assert client.get("/v1/cases/case-1/vitals/fhir", headers=tokens[Role.OPS]).status_code == 200


def test_a_session_id_no_export_can_carry_is_rejected(store: SQLiteStore) -> None:
    # Today accepted, and the case's FHIR export then fails (a FHIR id is [A-Za-z0-9-.]{1,64}).
    bad = vitals_event()
    bad.vital_signs.mode, bad.vital_signs.session_id = "session_start", "sesión 1"
    good = vitals_event()
    good.vital_signs.mode, good.vital_signs.session_id = "session_start", "3f6c-aa.1"
    got = answers(process_batch([incoming(batch_bytes(bad, good))], store, 3600))
    assert got[bad.event_id][:2] == (events_pb2.REJECTED, Reason.OUT_OF_RANGE.value)
    assert "vital_signs.session_id" in got[bad.event_id][2]
    assert got[good.event_id][0] == events_pb2.ACCEPTED
