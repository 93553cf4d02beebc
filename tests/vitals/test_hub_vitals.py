"""Hub: readings per case and parameter from ingested events; FHIR R4B and HL7 v2 exports."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import hl7
import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.observation import Observation

from hub.ingest.pipeline import Incoming, process_batch
from hub.storage.sqlite import SQLiteStore
from hub.tokens import Role
from hub.vitals import fhir
from hub.vitals.service import VitalsHub
from protos import CONTRACT_VERSION, events_pb2, topics
from protos.event_ids import new_event_id
from tests.hub.conftest import client, store, tokens  # noqa: F401 - fixtures
from tests.hub.events import STATION, UNIT

T0 = 1_760_000_000.0  # 2025-10-09T08:53:20Z
CASE = "case-7"
PATIENT = "1234567890101"


def vital_event(
    seq: int,
    readings: list[tuple[int, str, float, str]],
    *,
    mode: str = "spot",
    session_id: str = "",
    at: float = T0,
    rejected: list[tuple[int, float, str, str]] = (),  # type: ignore[assignment]
) -> events_pb2.Event:
    event = events_pb2.Event(
        event_id=new_event_id(),
        station_id=STATION,
        unit_id=UNIT,
        device_id="monitor-1",
        case_id=CASE,
        patient_id=PATIENT,
        station_seq=seq,
        schema_version=CONTRACT_VERSION,
    )
    event.occurred_at.FromNanoseconds(int(at * 1e9))
    obs = event.vital_signs
    obs.mode, obs.session_id = mode, session_id
    obs.monitor.model, obs.monitor.vendor, obs.monitor.eui64 = "Rad-8", "Masimo", "00A0C9FFFE000001"
    for code, refid, value, unit in readings:
        r = obs.readings.add(mdc_code=code, mdc_refid=refid, value=value, unit=unit)
        r.measured_at.CopyFrom(event.occurred_at)
    for code, value, unit, reason in rejected:
        x = obs.rejected.add(reason_code=reason, reason="why / por qué")
        x.reading.mdc_code, x.reading.value, x.reading.unit = code, value, unit
        x.reading.measured_at.CopyFrom(event.occurred_at)
    return event


def ingest(hub_store: SQLiteStore, vitals: VitalsHub, events: list[events_pb2.Event]) -> None:
    batch = events_pb2.EventBatch(events=[e.SerializeToString() for e in events])
    batch.sent_at.FromNanoseconds(time.time_ns())
    outcome = process_batch(
        [Incoming(topics.events(UNIT, STATION), batch.SerializeToString(), time.time(), 1, 1)],
        hub_store,
        max_skew_s=10**9,
    )
    assert outcome.accepted == len(events)
    vitals.on_commit(outcome.stored)


@pytest.fixture
def filled(store: SQLiteStore, client: TestClient, tokens: dict) -> VitalsHub:  # noqa: F811
    vitals = VitalsHub(Path(store.path))
    client.app.state.vitals = vitals  # type: ignore[attr-defined]
    r = client.post(
        "/v1/cases",
        json={"case_id": CASE, "patient_id": PATIENT, "unit_id": UNIT},
        headers=tokens[Role.CLINICAL],
    )
    assert r.status_code == 201, r.text
    ingest(
        store,
        vitals,
        [
            vital_event(
                1,
                [
                    (150021, "MDC_PRESS_BLD_NONINV_SYS", 121, "mm[Hg]"),
                    (150022, "MDC_PRESS_BLD_NONINV_DIA", 79, "mm[Hg]"),
                    (150456, "MDC_PULS_OXIM_SAT_O2", 97, "%"),
                    (149530, "MDC_PULS_OXIM_PULS_RATE", 71, "/min"),
                ],
                rejected=[(150456, 140, "%", "impossible_value")],
            ),
            vital_event(2, [], mode="session_start", session_id="s-1", at=T0 + 60),
            vital_event(
                3,
                [(150456, "MDC_PULS_OXIM_SAT_O2", 95, "%"), (150364, "MDC_TEMP_BODY", 37.4, "Cel")],
                mode="stream",
                session_id="s-1",
                at=T0 + 61,
            ),
            vital_event(4, [], mode="session_stop", session_id="s-1", at=T0 + 120),
        ],
    )
    return vitals


def test_case_readings_per_parameter_with_rejections_and_sessions(
    client: TestClient,  # noqa: F811
    tokens: dict,  # noqa: F811
    filled: VitalsHub,
) -> None:
    body = client.get(f"/v1/cases/{CASE}/vitals", headers=tokens[Role.READONLY]).json()
    spo2 = [(x["value"], x["mode"], x["measured_at"]) for x in body["parameters"]["spo2"]]
    assert spo2 == [
        (97.0, "spot", "2025-10-09T08:53:20.000Z"),
        (95.0, "stream", "2025-10-09T08:54:21.000Z"),
    ]
    assert sorted(body["parameters"]) == [
        "body_temperature",
        "bp_diastolic",
        "bp_systolic",
        "heart_rate",
        "spo2",
    ]
    assert [(x["value"], x["reason_code"]) for x in body["rejected"]] == [
        (140.0, "impossible_value")
    ]
    assert body["sessions"] == [
        {
            "session_id": "s-1",
            "device_id": "monitor-1",
            "station_id": STATION,
            "started_at": "2025-10-09T08:54:20.000Z",
            "stopped_at": "2025-10-09T08:55:20.000Z",
        }
    ]
    ranged = client.get(
        f"/v1/cases/{CASE}/vitals",
        params={"since": "2025-10-09T08:54:00Z", "parameter": "spo2"},
        headers=tokens[Role.READONLY],
    ).json()
    assert [x["value"] for x in ranged["parameters"]["spo2"]] == [95.0]


def test_fhir_export_parses_back_with_vital_signs_profile(
    client: TestClient,  # noqa: F811
    tokens: dict,  # noqa: F811
    filled: VitalsHub,
) -> None:
    r = client.get(f"/v1/cases/{CASE}/vitals/fhir", headers=tokens[Role.READONLY])
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/fhir+json")
    bundle = Bundle.model_validate_json(r.text)
    resources = [e.resource for e in bundle.entry]
    obs = [x for x in resources if x.__resource_type__ == "Observation"]
    summary = sorted(
        (
            o.code.coding[0].code,
            float(o.valueQuantity.value) if o.valueQuantity else None,
            o.valueQuantity.code if o.valueQuantity else None,
            tuple((c.code.coding[0].code, float(c.valueQuantity.value)) for c in o.component or ()),
        )
        for o in obs
    )
    assert summary == [
        ("59408-5", 95, "%", ()),
        ("59408-5", 97, "%", ()),
        ("8310-5", 37.4, "Cel", ()),
        ("85354-9", None, None, (("8480-6", 121), ("8462-4", 79))),
        ("8867-4", 71, "/min", ()),
    ]
    spo2 = next(o for o in obs if o.code.coding[0].code == "59408-5")
    assert [c.code for c in spo2.code.coding] == ["59408-5", "2708-6"]
    assert "http://hl7.org/fhir/StructureDefinition/oxygensat" in spo2.meta.profile
    assert all(o.subject.identifier.value == PATIENT for o in obs)
    assert all(o.category[0].coding[0].code == "vital-signs" for o in obs)
    devices = {e.fullUrl: e.resource for e in bundle.entry}
    assert all(devices[o.device.reference].identifier[0].value == "00A0C9FFFE000001" for o in obs)
    [use] = [x for x in resources if x.__resource_type__ == "DeviceUseStatement"]
    assert (str(use.timingPeriod.start), str(use.timingPeriod.end)) == (
        "2025-10-09 08:54:20+00:00",
        "2025-10-09 08:55:20+00:00",
    )
    for o in obs:
        fhir.check_observation(Observation.model_validate(o.model_dump()))


def test_own_fhir_checks_refuse_wrong_unit_and_missing_subject() -> None:
    base = {
        "resourceType": "Observation",
        "id": "x",
        "status": "final",
        "category": [fhir.CATEGORY],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8867-4"}]},
        "effectiveDateTime": "2025-01-01T00:00:00Z",
        "valueQuantity": {
            "value": 70,
            "unit": "%",
            "system": "http://unitsofmeasure.org",
            "code": "%",
        },
    }
    with pytest.raises(fhir.ExportError) as caught:
        fhir.check_observation(Observation.model_validate(base))
    assert (
        "unit http://unitsofmeasure.org|% is not http://unitsofmeasure.org|/min"
        in caught.value.reason
    )
    assert "no subject" in caught.value.reason


def test_hl7_export_parses_back_as_pcd01_oru(
    client: TestClient,  # noqa: F811
    tokens: dict,  # noqa: F811
    filled: VitalsHub,
) -> None:
    r = client.get(f"/v1/cases/{CASE}/vitals/hl7", headers=tokens[Role.READONLY])
    assert r.status_code == 200
    batch = hl7.parse_batch(r.text)
    assert len(batch) == 2  # the spot set and the one stream batch with readings
    first = batch[0]
    assert str(first.segment("MSH")[9]) == "ORU^R01^ORU_R01"
    assert str(first.segment("PID")[3]).startswith(PATIENT)
    assert str(first.segment("PV1")[19]).startswith(CASE)
    rows = [
        (str(o[3]).split("^")[0], str(o[5]), str(o[6]).split("^")[0], str(o[14]), str(o[18]))
        for o in first.segments("OBX")
        if str(o[5])
    ]
    assert rows == [
        (
            "150021",
            "121",
            "mm[Hg]",
            "20251009085320.000+0000",
            "00A0C9FFFE000001^^00A0C9FFFE000001^EUI-64",
        ),
        (
            "150022",
            "79",
            "mm[Hg]",
            "20251009085320.000+0000",
            "00A0C9FFFE000001^^00A0C9FFFE000001^EUI-64",
        ),
        (
            "150456",
            "97",
            "%",
            "20251009085320.000+0000",
            "00A0C9FFFE000001^^00A0C9FFFE000001^EUI-64",
        ),
        (
            "149530",
            "71",
            "/min",
            "20251009085320.000+0000",
            "00A0C9FFFE000001^^00A0C9FFFE000001^EUI-64",
        ),
    ]
    ranged = client.get(
        "/v1/vitals/hl7",
        params={"since": "2025-10-09T08:54:00Z", "until": "2025-10-09T09:00:00Z"},
        headers=tokens[Role.READONLY],
    )
    [only] = hl7.parse_batch(ranged.text)
    assert [str(o[5]) for o in only.segments("OBX") if str(o[5])] == ["95", "37.4"]


def test_readings_are_stored_in_the_ingest_commit_so_a_crash_before_the_hook_loses_none(
    store: SQLiteStore,  # noqa: F811
) -> None:
    event = vital_event(1, [(150456, "MDC_PULS_OXIM_SAT_O2", 93, "%")])
    batch = events_pb2.EventBatch(events=[event.SerializeToString()])
    process_batch(
        [Incoming(topics.events(UNIT, STATION), batch.SerializeToString(), time.time(), 1, 1)],
        store,
        max_skew_s=10**9,
    )  # committed; the after-commit hook never ran (the hub "crashed" here)
    vitals = VitalsHub(Path(store.path))  # a restarted hub: no start-time scan of events
    assert [(r.parameter, r.value) for r in vitals.readings.readings(CASE, None, None)] == [
        ("spo2", 93.0)
    ]
    vitals.on_commit([])  # the hook only feeds live subscribers
    # The same event delivered again is a duplicate: still one reading.
    process_batch(
        [Incoming(topics.events(UNIT, STATION), batch.SerializeToString(), time.time(), 1, 1)],
        store,
        max_skew_s=10**9,
    )
    assert len(vitals.readings.readings(CASE, None, None)) == 1


def test_migration_301_derives_sets_of_events_stored_before_the_projection(
    store: SQLiteStore,  # noqa: F811
) -> None:
    events = [
        vital_event(1, [(150456, "MDC_PULS_OXIM_SAT_O2", 93, "%")]),
        vital_event(2, [(149530, "MDC_PULS_OXIM_PULS_RATE", 71, "/min")], at=T0 + 5),
    ]
    batch = events_pb2.EventBatch(events=[e.SerializeToString() for e in events])
    process_batch(
        [Incoming(topics.events(UNIT, STATION), batch.SerializeToString(), time.time(), 1, 1)],
        store,
        max_skew_s=10**9,
    )
    # As a hub of the previous version left it: events stored, no readings, 301 not applied.
    con = sqlite3.connect(store.path)
    with con:
        con.execute("DELETE FROM vital_readings")
        con.execute("DELETE FROM vital_sets")
        con.execute("DELETE FROM schema_migrations WHERE version = 301")
    con.close()
    vitals = VitalsHub(Path(store.path))
    assert vitals.readings.readings(CASE, None, None) == []
    store.migrate()
    assert [(r.parameter, r.value) for r in vitals.readings.readings(CASE, None, None)] == [
        ("spo2", 93.0),
        ("heart_rate", 71.0),
    ]


def test_case_shows_rejections_flags_and_who_assigned_readings_from_the_inbox(
    store: SQLiteStore,  # noqa: F811
    client: TestClient,  # noqa: F811
    tokens: dict,  # noqa: F811
    filled: VitalsHub,
) -> None:
    from hub.web.auth import LocalUsers, WebRole, WebUser
    from hub.web.session import COOKIE

    lone = vital_event(5, [(150021, "MDC_PRESS_BLD_NONINV_SYS", 118, "mm[Hg]")], at=T0 + 200)
    lone.vital_signs.readings[0].flags.append("bp_incomplete")
    lone.vital_signs.rejected.add(
        reason_code="not_a_number", reason="OBX 2: value is not a number / el valor no es un número"
    ).reading.mdc_code = 149530
    assigned = vital_event(6, [(150456, "MDC_PULS_OXIM_SAT_O2", 82, "%")], at=T0 + 300)
    assigned.vital_signs.mode = "assigned"
    assigned.vital_signs.operator_id = assigned.vital_signs.assigned_by = "Enf. María López"
    assigned.vital_signs.inbox_reason = "before_start"
    ingest(store, filled, [lone, assigned])

    body = client.get(f"/v1/cases/{CASE}/vitals", headers=tokens[Role.READONLY]).json()
    by_value = {x["value"]: x for x in body["parameters"]["spo2"]}
    assert by_value[82.0]["mode"] == "assigned"
    assert by_value[82.0]["assigned_by"] == "Enf. María López"
    assert "assigned_by" not in by_value[97.0]
    assert [x["flags"] for x in body["parameters"]["bp_systolic"]] == [[], ["bp_incomplete"]]

    console = client.app.state.console  # type: ignore[attr-defined]
    # A session is only good for a user who exists and is enabled (issue 17: disabling ends it).
    LocalUsers(store).add("dra-ruiz", WebRole.CLINICIAN, "correct horse battery")
    cookie = console.codec.encode(console.codec.new(WebUser("dra-ruiz", WebRole.CLINICIAN), "es"))
    client.cookies.set(COOKIE, cookie)
    page = client.get(f"/console/cases/{CASE}")
    assert page.status_code == 200, page.text
    html = page.text
    assert 'data-assigned-by="Enf. María López"' in html
    assert "Asignada desde lecturas sin asignar por Enf. María López" in html
    assert "Presión arterial incompleta" in html
    assert 'data-reason="not_a_number"' in html
    assert "el valor no es un número" in html
