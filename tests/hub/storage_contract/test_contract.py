"""Every storage behaviour the hub relies on, run against SQLite and PostgreSQL alike: exactly-
once ingest, the ordering gate across workers, pagination, projections, registry, users and
case views, station key history, tokens."""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from hub.ingest.pipeline import Incoming, process_batch
from hub.storage.base import ApiToken, Case, Conflict, EventRow, QuarantineRow
from hub.storage.case_queries import CaseFilter
from protos import CONTRACT_VERSION, events_pb2, topics
from protos.event_ids import new_event_id
from provisioning.registry import Device, Unit
from tests.hub.events import STATION, UNIT, vitals_event

T0 = "2026-01-01T00:00:00.000000Z"


def _row(seq: int, event_id: str | None = None, case_id: str = "c1") -> EventRow:
    return EventRow(
        event_id=event_id or new_event_id(),
        station_id=STATION,
        unit_id=UNIT,
        device_id="d1",
        case_id=case_id,
        patient_id="p1",
        kind="device_status",
        occurred_at=f"2026-01-01T00:00:{seq:02d}.000000Z",
        station_seq=seq,
        received_at=T0,
        clock_offset_ms=0,
        raw=b"",
    )


def _ingest(store: Any, *events: events_pb2.Event, oldest_pending: int = 0) -> Any:
    batch = events_pb2.EventBatch(
        events=[e.SerializeToString() for e in events], oldest_pending_seq=oldest_pending
    )
    batch.sent_at.GetCurrentTime()
    msg = Incoming(topics.events(UNIT, STATION), batch.SerializeToString(), time.time())
    return process_batch([msg], store, 366 * 24 * 3600)


def _status(seq: int) -> events_pb2.Event:
    event = events_pb2.Event(
        event_id=new_event_id(),
        station_id=STATION,
        unit_id=UNIT,
        case_id="c1",
        patient_id="p1",
        station_seq=seq,
        schema_version=CONTRACT_VERSION,
    )
    event.occurred_at.GetCurrentTime()
    event.device_status.family = "vitals"
    return event


@pytest.fixture(autouse=True)
def _station(store: Any) -> None:
    store.register_station(STATION, UNIT, T0)


# -- exactly once ----------------------------------------------------------------------------


def test_an_event_is_stored_once_within_a_batch_and_across_batches(store: Any) -> None:
    a, b = _row(1), _row(2)
    assert store.commit_ingest([a, a, b], [], []) == [True, False, True]
    assert store.commit_ingest([b, _row(3)], [], []) == [False, True]
    assert store.get_station(STATION).event_count == 3


def test_two_workers_committing_the_same_events_at_once_store_each_once(
    make_store: Callable[[], Any],
) -> None:
    workers = [make_store() for _ in range(3)]
    batches = [[_row(i, f"0190a0f0-0000-7000-8000-{i:012d}") for i in range(1, 41)]]
    results: list[list[bool]] = []
    lock = threading.Lock()

    def run(store: Any) -> None:
        out = store.commit_ingest(batches[0], [], [])
        with lock:
            results.append(out)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3
    # Each event reported new by exactly one worker; the table holds it once.
    assert [sum(col) for col in zip(*results, strict=True)] == [1] * 40
    assert workers[0].get_station(STATION).event_count == 40


def test_quarantine_keeps_one_copy_per_event_id(store: Any) -> None:
    q = QuarantineRow(T0, "t", STATION, "e-bad", "bad", "bad / malo", b"\x01\x02")
    store.commit_ingest([], [q, q], [])
    store.commit_ingest([], [q], [])
    page = store.list_quarantine(10, None)
    assert [(e.event_id, e.size) for e in page.items] == [("e-bad", 2)]


# -- ordering gate across workers ------------------------------------------------------------


def test_the_last_stored_seq_is_read_from_the_database_by_every_worker(
    make_store: Callable[[], Any],
) -> None:
    one, two = make_store(), make_store()
    assert one.last_station_seqs([STATION, "other"]) == {STATION: 0, "other": 0}
    one.commit_ingest([_row(1), _row(2)], [], [])
    assert two.last_station_seqs([STATION]) == {STATION: 2}


def test_a_later_batch_at_another_worker_waits_for_its_gap(
    make_store: Callable[[], Any],
) -> None:
    one, two = make_store(), make_store()
    e1, e2, e3 = _status(1), _status(2), _status(3)
    assert _ingest(one, e1).accepted == 1
    held = _ingest(two, e3, oldest_pending=2)  # seq 2 still pending at the station
    assert (held.accepted, held.held) == (0, 1)
    assert _ingest(one, e2, oldest_pending=2).accepted == 1
    assert _ingest(two, e3, oldest_pending=3).accepted == 1
    assert two.last_station_seqs([STATION]) == {STATION: 3}


# -- pagination ------------------------------------------------------------------------------


def test_cases_page_newest_first_by_cursor(store: Any) -> None:
    for i in range(5):
        store.open_case(Case(f"c{i}", "p1", UNIT, f"2026-01-0{i + 1}T00:00:00Z", None, "ops"))
    first = store.list_cases("p1", None, 2, None)
    assert [c.case_id for c in first.items] == ["c4", "c3"]
    second = store.list_cases("p1", None, 2, first.next_cursor)
    third = store.list_cases("p1", None, 2, second.next_cursor)
    assert [c.case_id for c in second.items + third.items] == ["c2", "c1", "c0"]
    assert third.next_cursor is None
    created = store.open_case(Case("c1", "p1", UNIT, "x", None, "ops"))
    assert created[1] is False
    with pytest.raises(Conflict):
        store.open_case(Case("c1", "p2", UNIT, "x", None, "ops"))


def test_timeline_and_unmatched_events_page(store: Any) -> None:
    store.commit_ingest([_row(i, case_id="c9") for i in range(1, 6)], [], [])
    assert len(store.unmatched_events(10, None).items) == 5
    page = store.case_timeline("c9", 3, None)
    rest = store.case_timeline("c9", 3, page.next_cursor)
    assert [e.station_seq for e in page.items + rest.items] == [5, 4, 3, 2, 1]
    store.open_case(Case("c9", "p1", UNIT, T0, None, "ops"))
    assert store.unmatched_events(10, None).items == []


def test_console_case_search_counts_and_pages(store: Any) -> None:
    for i in range(3):
        store.open_case(Case(f"k{i}", f"p{i % 2}", UNIT, f"2026-02-0{i + 1}T00:00:00Z", None, "o"))
    store.commit_ingest([_row(1, case_id="k0"), _row(2, case_id="k0")], [], [])
    q = store.case_queries()
    f = CaseFilter(patient_id="p0")
    assert q.count_cases(f) == 2
    assert q.case_ids(f) == ["k2", "k0"]
    assert q.case_page_ids(CaseFilter(opened_from="2026-02-02"), 1, 1) == ["k1"]
    summary = q.summaries(["k0"])["k0"]
    assert (summary.events, summary.documents) == (2, 0)
    assert q.kind_counts("k0") == {"device_status": 2}


# -- projections -----------------------------------------------------------------------------


def test_vitals_are_projected_once_and_read_back(store: Any) -> None:
    event = vitals_event(station_seq=1, case_id="cv", spo2=95.0)
    assert _ingest(store, event).accepted == 1
    assert _ingest(store, event).duplicate == 1
    readings = store.readings().readings("cv", None, None)
    assert [(r.parameter, r.value) for r in readings] == [("spo2", 95.0)]
    assert [s.event_id for s in store.readings().sets("cv", None, None)] == [event.event_id]
    assert store.readings().sessions("cv") == []  # a spot set opens no session


def test_the_signature_queues_answer(store: Any) -> None:
    sigs = store.signatures()
    assert sigs.pending(10) == []
    assert sigs.pending_simple(10) == []
    assert sigs.stale_unknown(10, "9999") == []
    assert sigs.verdicts(["ab" * 32]) == {}


def test_documents_are_projected_and_listed(store: Any) -> None:
    pdf = b"%PDF-1.7 contract"
    event = events_pb2.Event(
        event_id=new_event_id(),
        station_id=STATION,
        unit_id=UNIT,
        case_id="cd",
        patient_id="p1",
        station_seq=1,
        schema_version=CONTRACT_VERSION,
    )
    event.occurred_at.GetCurrentTime()
    d = event.scanned_document
    d.document_id, d.document_type, d.pages, d.title = "DOC-1", "LAB", 2, "Lab"
    d.body.sha256, d.body.size = hashlib.sha256(pdf).digest(), len(pdf)
    d.body.media_type = "application/pdf"
    assert _ingest(store, event).accepted == 1
    page = store.list_documents(case_id="cd")
    assert [(r.document_id, r.origin) for r in page.items] == [("DOC-1", "scanned")]
    assert [s.document_id for s in store.scans().list_scans(case_id="cd").items] == ["DOC-1"]
    sha = hashlib.sha256(pdf).hexdigest()
    assert store.case_queries().document_file("cd", sha).document_id == "DOC-1"


# -- registry, keys, users, audit, tokens ----------------------------------------------------


def test_registry_units_devices_and_duplicate_serials(store: Any) -> None:
    reg = store.registry()
    assert reg.add_unit(Unit("u-9", "Zona 9"), T0) is True
    assert reg.add_unit(Unit("u-9", "Zona 9"), T0) is False
    dev = Device("m1", STATION, "vitals", "sim.monitor", model="M", serial="S1")
    reg.put_device(dev, T0)
    assert [d.device_id for d in reg.devices(STATION)] == ["m1"]
    store.register_station("st-2", UNIT, T0)
    with pytest.raises(Conflict):
        reg.put_device(Device("m2", "st-2", "vitals", "sim.monitor", model="M", serial="S1"), T0)
    reg.remove_device(STATION, "m1", "2026-01-02T00:00:00Z")
    assert reg.devices(STATION) == []
    assert len(reg.device_history(STATION)) == 1


def test_station_key_history_keeps_every_key(store: Any) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    def pem() -> str:
        key = ec.generate_private_key(ec.SECP256R1()).public_key()
        return key.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode()

    first, second = pem(), pem()
    store.set_station_key(STATION, first, "2026-01-01T00:00:00Z")
    store.set_station_key(STATION, second, "2026-03-01T00:00:00Z")
    assert store.station_key(STATION) == second
    assert [k.public_key_pem for k in store.key_history().keys(STATION)] == [first, second]


def test_web_users_and_case_views(store: Any) -> None:
    users = store.web_users()
    users.add("ana", "clinician", "hash1", T0)
    with pytest.raises(Conflict):
        users.add("ana", "ops", "hash2", T0)
    assert users.set_password("ana", "hash3") is True
    assert users.get("ana").password_hash == "hash3"
    views = store.case_views()
    views.record("ana", "clinician", "c1", "case", "127.0.0.1", T0)
    views.record("ana", "clinician", "c2", "live", "127.0.0.1", T0)
    assert [v.case_id for v in views.list(viewer="ana")] == ["c2", "c1"]


def test_tokens_are_found_and_revoked(store: Any) -> None:
    store.add_token(ApiToken("ab" * 32, "sys", "ops", T0, None))
    assert store.find_token("ab" * 32).name == "sys"
    assert store.revoke_tokens("sys", T0) == 1
    assert store.find_token("ab" * 32).revoked_at == T0


def test_migrate_is_idempotent_and_ping_answers(store: Any) -> None:
    assert store.migrate() == store.migrate()
    assert store.ping() is True
