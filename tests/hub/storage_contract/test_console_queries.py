"""The console's read models outside the Store class, on SQLite and PostgreSQL alike: the
central station (running sessions, latest readings, acknowledgements, limits, unit filter,
stopped and stale sessions), the clinical timeline (stream batches summarised, cursor paging,
the live view's tail), the fleet search (text, unit, state, problem, paging, totals) and the
console facts (patients of several cases, time zones)."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub.ingest.pipeline import Incoming, process_batch
from hub.storage import central_station, clinical_timeline
from hub.storage.console_facts import ConsoleFacts, PatientFacts
from hub.storage.fleet_search import FleetQuery, search
from protos import CONTRACT_VERSION, events_pb2, topics
from protos.event_ids import new_event_id
from provisioning.registry import Unit
from tests.hub.events import STATION, UNIT

T0 = "2026-01-01T00:00:00.000000Z"
OTHER_UNIT, OTHER_STATION = "unit-2", "station-2"
_seqs: dict[str, int] = {}


@pytest.fixture(autouse=True)
def _stations(store: Any) -> None:
    _seqs.clear()
    store.register_station(STATION, UNIT, T0)
    store.register_station(OTHER_STATION, OTHER_UNIT, T0)


def _event(station: str, unit: str, case_id: str, at: float) -> events_pb2.Event:
    _seqs[station] = _seqs.get(station, 0) + 1
    event = events_pb2.Event(
        event_id=new_event_id(),
        station_id=station,
        unit_id=unit,
        device_id="monitor-1",
        case_id=case_id,
        patient_id="p1",
        station_seq=_seqs[station],
        schema_version=CONTRACT_VERSION,
    )
    event.occurred_at.FromNanoseconds(int(at * 1e9))
    return event


def _vitals(
    station: str, unit: str, case_id: str, at: float, mode: str, session: str, **values: float
) -> events_pb2.Event:
    event = _event(station, unit, case_id, at)
    codes = {
        "spo2": (150456, "MDC_PULS_OXIM_SAT_O2", "%"),
        "hr": (147842, "MDC_ECG_HEART_RATE", "/min"),
    }
    for name, value in values.items():
        code, refid, unit_code = codes[name]
        r = event.vital_signs.readings.add(
            mdc_code=code, mdc_refid=refid, value=value, unit=unit_code
        )
        r.measured_at.CopyFrom(event.occurred_at)
    event.vital_signs.mode = mode
    event.vital_signs.session_id = session
    return event


def _ingest(store: Any, *events: events_pb2.Event) -> None:
    by_station: dict[tuple[str, str], list[events_pb2.Event]] = {}
    for e in events:
        by_station.setdefault((e.unit_id, e.station_id), []).append(e)
    for (unit, station), group in by_station.items():
        batch = events_pb2.EventBatch(events=[e.SerializeToString() for e in group])
        batch.sent_at.GetCurrentTime()
        msg = Incoming(topics.events(unit, station), batch.SerializeToString(), time.time())
        assert process_batch([msg], store, 366 * 24 * 3600).accepted == len(group)


def test_the_central_station_shows_running_sessions_only_with_their_latest_state(
    store: Any,
) -> None:
    now = time.time()
    _ingest(
        store,
        _vitals(STATION, UNIT, "tele-1", now - 30, "session_start", "s-run", spo2=95.0),
        _vitals(STATION, UNIT, "tele-1", now - 20, "stream", "s-run", spo2=92.0, hr=80.0),
        _vitals(STATION, UNIT, "tele-1", now - 10, "stream", "s-run", spo2=89.0),
        _vitals(STATION, UNIT, "tele-2", now - 30, "session_start", "s-done", spo2=97.0),
        _vitals(STATION, UNIT, "tele-2", now - 5, "session_stop", "s-done", spo2=97.0),
        _vitals(STATION, UNIT, "tele-3", now - 3600, "stream", "s-stale", spo2=96.0),
        _vitals(OTHER_STATION, OTHER_UNIT, "tele-4", now - 15, "stream", "s-other", hr=70.0),
    )
    central_station.set_limits(store, "s-run", "spo2", 90.0, None, "ana", T0)
    central_station.set_limits(store, "s-run", "spo2", 88.0, 100.0, "luis", T0)  # latest wins
    central_station.acknowledge(store, "s-run", "tele-1", "spo2", 89.0, "ana", "2026-01-01T00:01")
    central_station.acknowledge(store, "s-run", "tele-1", "spo2", 89.0, "ana", "2026-01-01T00:02")
    running = {r.session_id: r for r in central_station.running(store)}
    assert set(running) == {"s-run", "s-other"}  # stopped and stale sessions are not running
    run = running["s-run"]
    assert (run.case_id, run.unit_id, run.station_id) == ("tele-1", UNIT, STATION)
    assert {p: v for p, (v, _at) in run.latest.items()} == {"spo2": 89.0, "heart_rate": 80.0}
    assert run.acked == {"spo2": "2026-01-01T00:02"}
    assert run.limits == {"spo2": (88.0, 100.0)}
    assert [r.session_id for r in central_station.running(store, OTHER_UNIT)] == ["s-other"]
    later = datetime.now(UTC) + timedelta(hours=1)
    assert central_station.running(store, now=later) == []


def test_the_clinical_timeline_summarises_streams_and_pages_the_rest(store: Any) -> None:
    now = time.time()
    spots = [_vitals(STATION, UNIT, "c1", now - 100 + i, "spot", "", spo2=97.0) for i in range(5)]
    stream = [
        _vitals(STATION, UNIT, "c1", now - 50, "session_start", "s1", spo2=95.0, hr=60.0),
        _vitals(STATION, UNIT, "c1", now - 40, "stream", "s1", spo2=91.0, hr=72.0),
        _vitals(STATION, UNIT, "c1", now - 30, "session_stop", "s1", spo2=93.0),
    ]
    _ingest(store, *spots, *stream)
    first = clinical_timeline.timeline(store, "c1", 3, None)
    assert [e.event_id for e in first.items] == [e.event_id for e in reversed(spots[2:])]
    assert first.next_cursor is not None
    second = clinical_timeline.timeline(store, "c1", 3, first.next_cursor)
    assert [e.event_id for e in second.items] == [e.event_id for e in reversed(spots[:2])]
    assert second.next_cursor is None
    assert clinical_timeline.kinds(store, "c1") == {"vital_signs": 5}  # batches not counted
    [summary] = clinical_timeline.sessions(store, "c1")
    assert (summary.session_id, summary.batches, summary.station_id) == ("s1", 3, STATION)
    assert summary.ended_at is not None and summary.ended_at > summary.started_at
    assert summary.parameters["spo2"][1:] == (3, 91.0, 95.0)
    assert summary.parameters["heart_rate"][1:] == (2, 60.0, 72.0)
    tail = clinical_timeline.session_tail(store, "s1", seconds=15)
    assert [(r["parameter"], r["value"]) for r in tail] == [
        ("spo2", 91.0),
        ("heart_rate", 72.0),
        ("spo2", 93.0),
    ]
    assert clinical_timeline.session_tail(store, "no-such-session") == []


def test_the_fleet_search_filters_counts_and_pages(store: Any) -> None:
    store.registry().add_unit(Unit(OTHER_UNIT, "Hospital Regional de Cobán"), T0)
    store.register_station("station-3", UNIT, T0)
    store.retire_station("station-3", T0)
    status = _event(OTHER_STATION, OTHER_UNIT, "", time.time())
    status.device_status.family = "vitals"
    status.device_status.state = events_pb2.ERROR
    _ingest(store, status)
    store.render_pending_payloads(100)
    everyone = search(store, FleetQuery())
    assert everyone.station_ids == [STATION, "station-3", OTHER_STATION]  # by unit, station
    assert everyone.totals == {"online": 0, "offline": 2, "retired": 1, "problem": 1}
    assert everyone.event_counts == {OTHER_STATION: 1}
    assert search(store, FleetQuery(text="cobán")).station_ids == [OTHER_STATION]  # unit name
    assert search(store, FleetQuery(unit=UNIT)).station_ids == [STATION, "station-3"]
    assert search(store, FleetQuery(state="retired")).station_ids == ["station-3"]
    assert search(store, FleetQuery(state="offline")).matching == 2
    assert search(store, FleetQuery(problem=True)).problem_ids == {OTHER_STATION}
    page = search(store, FleetQuery(per_page=2, page=2))
    assert (page.station_ids, page.matching) == ([OTHER_STATION], 3)


def test_console_facts_answer_for_several_cases_and_refuse_an_unknown_zone(store: Any) -> None:
    facts = ConsoleFacts(store)
    facts.set_patient("a", PatientFacts("Ana López", "female", "1990-01-01"))
    facts.set_patient("b", PatientFacts("Luis Ruiz", "male", ""))
    assert facts.patients([]) == {}
    assert set(facts.patients(["a", "b", "c"])) == {"a", "b"}
    assert not facts.patient("c")
    with pytest.raises(ValueError, match="Mars/Olympus"):
        facts.set_time_zone(UNIT, "Mars/Olympus")
    assert facts.time_zones() == {}


def test_the_fingerprint_vault_keeps_templates_encrypted_and_gives_the_newest(store: Any) -> None:
    import hashlib
    import os

    from hub.storage.biometrics import VaultingStore

    vaulting = VaultingStore(store, store.template_vault(os.urandom(32)))
    templates = []
    for n, template in enumerate((b"first-template", b"second-template")):
        event = _event(STATION, UNIT, "c-enrol", time.time() - 60 + n)
        e = event.biometric_enrollment
        e.finger, e.template_format = events_pb2.RIGHT_INDEX, "ISO/IEC 19794-2:2011"
        e.template, e.template_sha256 = template, hashlib.sha256(template).digest()
        templates.append(event)
    _ingest(vaulting, *templates)
    [newest] = vaulting.vault.latest("p1")
    assert (newest.event_id, newest.template) == (templates[1].event_id, b"second-template")
    rows = store._conn().execute("SELECT ciphertext FROM fingerprint_templates").fetchall()
    assert len(rows) == 2 and all(b"template" not in bytes(r[0]) for r in rows)
    [raw] = (
        store._conn()
        .execute("SELECT raw FROM events WHERE event_id = ?", (templates[0].event_id,))
        .fetchone()
    )
    assert events_pb2.Event.FromString(bytes(raw)).biometric_enrollment.template == b""
