"""What main added beside this backend, on SQLite and PostgreSQL alike: the console facts
(unit time zones, the patient of a case, search by a part of the name), the /healthz write
probe, the clinical timeline without stream batches, time flags on events, dispensed
medicines and the catalogue, and password resets ending a user's sessions."""

from __future__ import annotations

import time
from typing import Any

import pytest

from hub.ingest.pipeline import Incoming, process_batch
from hub.storage import clinical_timeline
from hub.storage.base import Case, Conflict, EventRow
from hub.storage.case_queries import CaseFilter
from hub.storage.console_facts import ConsoleFacts, PatientFacts
from protos import CONTRACT_VERSION, events_pb2, topics
from protos.event_ids import new_event_id
from tests.hub.events import STATION, UNIT

T0 = "2026-01-01T00:00:00.000000Z"


@pytest.fixture(autouse=True)
def _station(store: Any) -> None:
    store.register_station(STATION, UNIT, T0)


def test_patient_names_time_zones_and_search_by_a_part_of_the_name(store: Any) -> None:
    facts = ConsoleFacts(store)
    store.open_case(Case("k1", "1234567", UNIT, T0, None, "ops"))
    store.open_case(Case("k2", "7654321", UNIT, T0, None, "ops"))
    facts.set_patient("k1", PatientFacts("José Pérez_100%", "male", "1980-02-03"))
    facts.set_patient("k1", PatientFacts("José Pérez_100%", "male", "1980-02-03"))  # same: fine
    with pytest.raises(Conflict):
        facts.set_patient("k1", PatientFacts("Ana", "female", ""))
    q = store.case_queries()
    assert q.case_ids(CaseFilter(patient_id="perez")) == ["k1"]  # accents and case ignored
    assert q.case_ids(CaseFilter(patient_id="PÉREZ_100%")) == ["k1"]
    assert q.case_ids(CaseFilter(patient_id="perez_1000")) == []  # _ and % are literal
    assert q.case_ids(CaseFilter(patient_id="7654321")) == ["k2"]  # the affiliation number
    assert facts.patient("k1").birth_date == "1980-02-03"
    assert facts.time_zone(UNIT) == "America/Guatemala"
    facts.set_time_zone(UNIT, "America/Mexico_City")
    facts.set_time_zone(UNIT, "America/El_Salvador")
    assert facts.time_zones() == {UNIT: "America/El_Salvador"}


def test_the_write_probe_commits_a_heartbeat_row(store: Any) -> None:
    store.probe_write("hub-1", T0, 5.0)
    store.probe_write("hub-1", "2026-01-01T00:00:01.000000Z", 5.0)
    rows = store._conn().execute("SELECT holder, written_at FROM hub_heartbeat").fetchall()
    assert [tuple(r) for r in rows] == [("hub-1", "2026-01-01T00:00:01.000000Z")]


def test_time_flags_are_stored_and_the_clinical_timeline_reads_them(store: Any) -> None:
    row = EventRow(
        event_id=new_event_id(),
        station_id=STATION,
        unit_id=UNIT,
        device_id="d1",
        case_id="c1",
        patient_id="p1",
        kind="device_status",
        occurred_at="2026-01-01T00:00:01.000000Z",
        station_seq=1,
        received_at=T0,
        clock_offset_ms=0,
        raw=b"",
        time_flag="clock_unknown",
    )
    store.commit_ingest([row], [], [])
    assert store.case_timeline("c1", 10, None).items[0].time_flag == "clock_unknown"
    page = clinical_timeline.timeline(store, "c1", 10, None)
    assert [e.time_flag for e in page.items] == ["clock_unknown"]
    assert clinical_timeline.kinds(store, "c1") == {"device_status": 1}
    assert clinical_timeline.sessions(store, "c1") == []


def _dispensed(seq: int, lot: str) -> events_pb2.Event:
    event = events_pb2.Event(
        event_id=new_event_id(),
        station_id=STATION,
        unit_id=UNIT,
        case_id="rx-case",
        patient_id="p1",
        station_seq=seq,
        schema_version=CONTRACT_VERSION,
    )
    event.occurred_at.GetCurrentTime()
    m = event.medication_dispensed
    m.session_id, m.prescription_id, m.pharmacist_id = "s-1", "rx-1", "farm-9"
    m.confirmation_event_id, m.confirmation_decision = new_event_id(), events_pb2.MATCH
    m.items.add(
        gtin="07501031311309",
        institute_code="010101",
        name="Amoxicilina 500 mg",
        lot=lot,
        expiry="2027-05-31",
        serial="SN1",
        quantity=1,
        raw="]d2...",
    )
    return event


def test_dispensings_are_projected_once_recalled_and_the_catalogue_kept(store: Any) -> None:
    event = _dispensed(1, "LOT-7")
    batch = events_pb2.EventBatch(events=[event.SerializeToString()])
    batch.sent_at.GetCurrentTime()
    msg = Incoming(topics.events(UNIT, STATION), batch.SerializeToString(), time.time())
    assert process_batch([msg], store, 366 * 24 * 3600).accepted == 1
    assert process_batch([msg], store, 366 * 24 * 3600).duplicate == 1
    d = store.dispensing()
    [found] = d.by_case("rx-case")
    assert (found.pharmacist_id, [i.lot for i in found.items]) == ("farm-9", ["LOT-7"])
    assert [h.case_id for h in d.recall("LOT-7")] == ["rx-case"]
    assert d.by_cases(["rx-case", "no-such-case"]) == {"rx-case": [found]}
    assert d.by_cases([]) == {}
    assert set(d.raw_events([event.event_id])) == {event.event_id}
    assert d.catalogue() is None
    d.set_catalogue("v1", "{}", T0)
    d.set_catalogue("v2", '{"a": 1}', T0)
    assert d.catalogue() == ("v2", '{"a": 1}')


def test_a_password_reset_ends_the_sessions_a_re_enable_does_not_revive_them(store: Any) -> None:
    users = store.web_users()
    users.add("ana", "clinician", "hash1", T0)
    users.open_session("s1", "ana", T0, "9999-01-01T00:00:00Z")
    users.open_session("s2", "ana", T0, "9999-01-01T00:00:00Z")
    assert users.session_user("s1", T0) == "ana"
    users.end_sessions("ana", T0)
    assert users.session_user("s1", T0) is None and users.session_user("s2", T0) is None
    users.open_session("s3", "ana", T0, "9999-01-01T00:00:00Z")
    assert users.set_disabled("ana", T0) is True
    assert users.set_disabled("ana", None) is True
    assert users.session_user("s3", T0) is None  # ended by the disable


def _ingest(store: Any, *events: events_pb2.Event) -> Any:
    batch = events_pb2.EventBatch(events=[e.SerializeToString() for e in events])
    batch.sent_at.GetCurrentTime()
    msg = Incoming(topics.events(UNIT, STATION), batch.SerializeToString(), time.time())
    return process_batch([msg], store, 366 * 24 * 3600)


def test_the_fleet_search_finds_a_station_whose_device_reports_a_problem(store: Any) -> None:
    from hub.storage.fleet_search import FleetQuery, search

    event = events_pb2.Event(
        event_id=new_event_id(),
        station_id=STATION,
        unit_id=UNIT,
        device_id="monitor-1",
        station_seq=1,
        schema_version=CONTRACT_VERSION,
    )
    event.occurred_at.GetCurrentTime()
    event.device_status.family = "vitals"
    event.device_status.state = events_pb2.DISCONNECTED
    assert _ingest(store, event).accepted == 1
    store.render_pending_payloads(100)
    found = search(store, FleetQuery(problem=True))
    assert (found.station_ids, found.problem_ids) == ([STATION], {STATION})
    assert found.totals["problem"] == 1 and found.event_counts == {STATION: 1}
    assert search(store, FleetQuery(text=STATION.upper()[:4])).matching == 1


def test_station_warnings_and_its_own_clock_offset_are_kept(store: Any) -> None:
    from hub.storage.base import StationStateUpdate

    update = StationStateUpdate(
        STATION, True, "2026-01-02T00:00:00Z", "1.0", 0, ("reloj / clock",), clock_offset_ms=250
    )
    assert store.update_station_state(update) is True
    station = store.get_station(STATION)
    assert station.warnings == ("reloj / clock",)
    assert (station.clock_offset_ms, station.clock_offset_known) == (250, True)


def test_a_batch_of_states_applies_each_only_if_newer_whatever_their_order(store: Any) -> None:
    from hub.storage.base import StationStateUpdate

    def state(online: bool, at: str, station: str = STATION) -> StationStateUpdate:
        return StationStateUpdate(station, online, at, "1.0", 0, ())

    applied = store.update_station_states(
        [
            state(True, "2026-01-02T00:00:02Z"),
            state(False, "2026-01-02T00:00:01Z"),  # older than the one before: ignored
            state(True, "2026-01-02T00:00:03Z", station="no-such-station"),
        ]
    )
    assert applied == [True, False, False]
    station = store.get_station(STATION)
    assert (station.online, station.state_at) == (True, "2026-01-02T00:00:02Z")
    assert store.update_station_states([]) == []


def test_the_central_station_lists_a_running_session_with_acks_and_limits(store: Any) -> None:
    from hub.storage import central_station

    event = events_pb2.Event(
        event_id=new_event_id(),
        station_id=STATION,
        unit_id=UNIT,
        device_id="monitor-1",
        case_id="tele-1",
        patient_id="p1",
        station_seq=1,
        schema_version=CONTRACT_VERSION,
    )
    event.occurred_at.GetCurrentTime()
    reading = event.vital_signs.readings.add(
        mdc_code=150456, mdc_refid="MDC_PULS_OXIM_SAT_O2", value=93.0, unit="%"
    )
    reading.measured_at.CopyFrom(event.occurred_at)
    event.vital_signs.mode = "stream"
    event.vital_signs.session_id = "sess-1"
    assert _ingest(store, event).accepted == 1
    central_station.set_limits(store, "sess-1", "spo2", 90.0, None, "ana", T0)
    [running] = central_station.running(store)
    assert (running.session_id, running.case_id) == ("sess-1", "tele-1")
    assert running.limits == {"spo2": (90.0, None)}
    assert [s.session_id for s in clinical_timeline.sessions(store, "tele-1")] == ["sess-1"]
