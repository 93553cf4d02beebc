"""Exports keep every reading of every source: a PCD-01 gateway's ECG and pulse oximeter → hub.

A monitor gateway sends one ORU^R01 holding a heart rate from its ECG module
and another from its pulse oximeter (two EUI-64s in OBX-18), SpO2, a blood
pressure cycle and a temperature with an abnormal flag. The agent's own parser
and mapping turn it into the event; the hub ingests it into a real SQLite file;
both exports are read back with libraries the hub does not use for writing:
the FHIR Bundle with R4B (fhir.resources) and R4 (fhirclient's 4.0.1 models),
the HL7 batch with python-hl7.
"""

from __future__ import annotations

import dataclasses
import json
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import hl7
import pytest
from fastapi.testclient import TestClient
from fhir.resources.R4B.bundle import Bundle as BundleR4B
from fhirclient.models.bundle import Bundle as BundleR4

from drivers.vitals.hl7_pcd01 import parse_oru
from edge_agent.capabilities.vitals.mapping import map_readings
from edge_agent.capabilities.vitals.settle import UNSETTLED
from hub.storage.sqlite import SQLiteStore
from hub.tokens import Role
from hub.vitals.service import VitalsHub
from protos import CONTRACT_VERSION, events_pb2
from protos.event_ids import new_event_id
from tests.hub.conftest import client, store, tokens  # noqa: F401 - fixtures
from tests.hub.events import STATION, UNIT
from tests.vitals.test_hub_vitals import CASE, PATIENT, ingest

GATEWAY = "0012AB0000000001"  # the gateway (MSH-3), also the set's monitor
ECG = "0012AB00000000EC"
OXIMETER = "0012AB0000000502"
# HL7 v2.6 table 0078 as published (Interpretation Codes); the test's own copy.
HL7_0078 = {"L", "H", "LL", "HH", "<", ">", "N", "A", "AA", "U", "D", "B", "W", "S", "R", "I"} | {
    "MS",
    "VS",
}

ORU = "\r".join(
    [
        f"MSH|^~\\&|GW^{GATEWAY}^EUI-64||||20251009085320+0000||ORU^R01^ORU_R01|M-1|P|2.6|||NE|AL"
        "|||||IHE_PCD_001^IHE PCD^1.3.6.1.4.1.19376.1.6.1.1.1^ISO",
        f"PID|||{PATIENT}^^^IGSS^PI",
        "OBR|1|M-1^GW||182777000^monitoring of patient^SNOMED-CT|||20251009085320+0000",
        f"OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X|||||||{ECG}^^{ECG}^EUI-64",
        "OBX|2|NM|147842^MDC_ECG_HEART_RATE^MDC|1.5.1.1|72|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R|||"
        f"20251009085318+0000||||{ECG}^^{ECG}^EUI-64",
        "OBX|3|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.13.1.1|124|266016^MDC_DIM_MMHG^MDC|||||R|||"
        f"20251009085310+0000||||{ECG}^^{ECG}^EUI-64",
        "OBX|4|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC|1.13.1.2|81|266016^MDC_DIM_MMHG^MDC|||||R|||"
        f"20251009085310+0000||||{ECG}^^{ECG}^EUI-64",
        "OBX|5|NM|150023^MDC_PRESS_BLD_NONINV_MEAN^MDC|1.13.1.3|95|266016^MDC_DIM_MMHG^MDC|||||R|||"
        f"20251009085310+0000||||{ECG}^^{ECG}^EUI-64",
        "OBX|6|NM|150364^MDC_TEMP_BODY^MDC|1.20.1.1|38.6|268192^MDC_DIM_DEGC^MDC||H||||R|||"
        f"20251009085315+0000||||{ECG}^^{ECG}^EUI-64",
        f"OBX|7||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|2.0.0.0|||||||X|||||||{OXIMETER}^^"
        f"{OXIMETER}^EUI-64",
        "OBX|8|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|2.1.1.1|96|262688^MDC_DIM_PERCENT^MDC|||||R|||"
        f"20251009085319+0000||||{OXIMETER}^^{OXIMETER}^EUI-64",
        "OBX|9|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|2.1.1.2|74|264864^MDC_DIM_BEAT_PER_MIN^MDC|||"
        f"||R|||20251009085319+0000||||{OXIMETER}^^{OXIMETER}^EUI-64",
    ]
)


def event_from_gateway() -> tuple[events_pb2.Event, list[events_pb2.Reading]]:
    """What the agent records from the ORU (its parser and mapping; SpO2 left unsettled)."""
    oru = parse_oru(ORU)
    readings = [
        dataclasses.replace(r, flags=(*r.flags, UNSETTLED)) if r.mdc_code == 150456 else r
        for r in oru.readings
    ]
    accepted, rejected = map_readings(readings)
    assert rejected == []
    event = events_pb2.Event(
        event_id=new_event_id(),
        station_id=STATION,
        unit_id=UNIT,
        device_id="hl7-gw",
        case_id=CASE,
        patient_id=PATIENT,
        station_seq=1,
        schema_version=CONTRACT_VERSION,
    )
    event.occurred_at.FromDatetime(datetime(2025, 10, 9, 8, 53, 20, tzinfo=UTC))
    obs = event.vital_signs
    obs.mode = "spot"
    obs.monitor.model, obs.monitor.vendor, obs.monitor.eui64 = "GW-1", "Acme", GATEWAY
    obs.readings.extend(accepted)
    return event, accepted


@pytest.fixture
def exported(
    store: SQLiteStore,  # noqa: F811
    client: TestClient,  # noqa: F811
    tokens: dict,  # noqa: F811
) -> tuple[TestClient, dict, list[events_pb2.Reading]]:
    vitals = VitalsHub(Path(store.path))
    client.app.state.vitals = vitals  # type: ignore[attr-defined]
    r = client.post(
        "/v1/cases",
        json={"case_id": CASE, "patient_id": PATIENT, "unit_id": UNIT},
        headers=tokens[Role.CLINICAL],
    )
    assert r.status_code == 201, r.text
    event, readings = event_from_gateway()
    ingest(store, vitals, [event])
    return client, tokens[Role.READONLY], readings


def _iso(ts: Any) -> str:
    return ts.ToDatetime(tzinfo=UTC).strftime("%Y-%m-%dT%H:%M:%S")


def test_fhir_keeps_both_heart_rates_each_with_its_device_and_method_in_r4_and_r4b(
    exported: tuple[TestClient, dict, list[events_pb2.Reading]],
) -> None:
    api, headers, _ = exported
    r = api.get(f"/v1/cases/{CASE}/vitals/fhir", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()

    # Structure: the same Bundle is valid R4B (fhir.resources) and R4 (fhirclient, 4.0.1).
    BundleR4B.model_validate(body)
    r4 = BundleR4(body, strict=True)
    assert {type(e.resource).__name__ for e in r4.entry} == {"Observation", "Device"}

    # fullUrls: urn:uuid: + an RFC 4122 UUID, unique; every reference resolves in the Bundle.
    urls = [e["fullUrl"] for e in body["entry"]]
    assert len(set(urls)) == len(urls)
    for url in urls:
        assert url.startswith("urn:uuid:")
        parsed = uuid.UUID(url.removeprefix("urn:uuid:"))
        assert str(parsed) == url.removeprefix("urn:uuid:")
        assert parsed.variant == uuid.RFC_4122 and parsed.version in (4, 5)
    by_url = {e["fullUrl"]: e["resource"] for e in body["entry"]}

    def device_of(o: dict) -> str:
        device = by_url[o["device"]["reference"]]
        assert device["resourceType"] == "Device"
        (ident,) = device["identifier"]
        return str(ident["value"])

    obs = [x for x in by_url.values() if x["resourceType"] == "Observation"]
    heart = sorted(
        (
            o["method"]["coding"][0]["code"],
            o["method"]["coding"][0]["system"],
            o["valueQuantity"]["value"],
            device_of(o),
        )
        for o in obs
        if o["code"]["coding"][0]["code"] == "8867-4"
    )
    assert heart == [
        ("147842", "urn:iso:std:iso:11073:10101", 72, ECG),
        ("149530", "urn:iso:std:iso:11073:10101", 74, OXIMETER),
    ]
    (bp,) = [o for o in obs if o["code"]["coding"][0]["code"] == "85354-9"]
    assert [
        (c["code"]["coding"][0]["code"], c["valueQuantity"]["value"]) for c in bp["component"]
    ] == [
        ("8480-6", 124),
        ("8462-4", 81),
        ("8478-0", 95),
    ]
    assert device_of(bp) == ECG
    (spo2,) = [o for o in obs if o["code"]["coding"][0]["code"] == "59408-5"]
    assert device_of(spo2) == OXIMETER
    assert len(obs) == 5  # 2 heart rates, BP panel, SpO2, temperature: nothing merged


def test_fhir_keeps_two_readings_of_one_code_at_one_instant_and_a_half_pressure() -> None:
    from hub.storage.readings import StoredReading, VitalSet
    from hub.vitals import fhir

    at = "2025-10-09T08:53:20.000Z"
    vset = VitalSet("e-1", CASE, PATIENT, STATION, UNIT, "m-1", "stream", "s", at, "", {})

    def reading(code: int, key: str, value: float, unit: str) -> StoredReading:
        loinc = {"heart_rate": "8867-4", "bp_systolic": "8480-6"}[key]
        return StoredReading(
            "e-1", CASE, key, code, "", loinc, value, unit, at, "", (), "accepted", "", ""
        )

    readings = [
        reading(149530, "heart_rate", 70, "/min"),
        reading(149530, "heart_rate", 71, "/min"),
        reading(150021, "bp_systolic", 120, "mm[Hg]"),
    ]
    body = json.loads(fhir.bundle([(vset, readings)], []).model_dump_json(exclude_none=True))
    values = sorted(
        (e["resource"]["code"]["coding"][0]["code"], e["resource"]["valueQuantity"]["value"])
        for e in body["entry"]
        if e["resource"]["resourceType"] == "Observation"
    )
    assert values == [("8480-6", 120), ("8867-4", 70), ("8867-4", 71)]
    BundleR4(body, strict=True)


def test_hl7_export_is_pcd01_and_reads_back_to_the_same_readings(
    exported: tuple[TestClient, dict, list[events_pb2.Reading]],
) -> None:
    api, headers, sent = exported
    r = api.get(f"/v1/cases/{CASE}/vitals/hl7", headers=headers)
    assert r.status_code == 200, r.text
    (message,) = hl7.parse_batch(r.text)
    msh = message.segment("MSH")
    assert str(msh[9]) == "ORU^R01^ORU_R01" and str(msh[12]) == "2.6"
    profile = msh[21]
    assert [str(profile[0][i]) for i in range(4)] == [
        "IHE_PCD_001",
        "IHE PCD",
        "1.3.6.1.4.1.19376.1.6.1.1.1",
        "ISO",
    ]

    rows: list[tuple[int, str, float, str, str, str, tuple[str, ...], list[str]]] = []
    containments = []
    segments = list(message)
    for i, seg in enumerate(segments):
        if str(seg[0]) != "OBX":
            continue
        containments.append(str(seg[4]))
        for flag in str(seg[8]).split("~") if str(seg[8]) else []:
            assert flag in HL7_0078, f"OBX-8 {flag!r} is not an HL7 table 0078 code"
        if str(seg[2]) != "NM":
            continue
        notes = []
        for nxt in segments[i + 1 :]:
            if str(nxt[0]) != "NTE":
                break
            notes.append(str(nxt[3]).split(":")[0])
            assert str(nxt[4]) == "RE^Remark^HL70364"
        assert str(seg[17]) == "AMEAS^auto-measurement^MDC"
        at = hl7.parse_datetime(str(seg[14])).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S")
        rows.append(
            (
                int(str(seg[3][0][0])),
                str(seg[3][0][1]),
                float(str(seg[5])),
                str(seg[6][0][0]),
                at,
                str(seg[18][0][0]),
                tuple(str(seg[8]).split("~")) if str(seg[8]) else (),
                notes,
            )
        )
    assert len(set(containments)) == len(containments)  # OBX-4 unique in the message

    def expected(x: events_pb2.Reading) -> tuple:
        abnormal = tuple(f for f in x.flags if f in HL7_0078)
        status = [f for f in x.flags if f not in HL7_0078]
        return (
            x.mdc_code,
            x.mdc_refid,
            x.value,
            x.unit,
            _iso(x.measured_at),
            x.equipment,
            abnormal,
            status,
        )

    assert sorted(rows) == sorted(expected(x) for x in sent)
    # What the agent recorded is what was sent: canonical units, both devices, the flags.
    assert {(x.mdc_code, x.equipment) for x in sent} >= {(147842, ECG), (149530, OXIMETER)}
    assert [(x.mdc_code, tuple(x.flags)) for x in sent if x.flags] == [
        (150364, ("H",)),
        (150456, (UNSETTLED,)),
    ]


def test_a_bp_panel_component_without_a_code_is_an_export_problem_not_a_crash() -> None:
    from fhir.resources.R4B.observation import Observation

    from hub.vitals.fhir import ExportError, check_observation

    def component(code: str | None, value: float) -> dict[str, Any]:
        coding = [{"system": "http://loinc.org", "code": code}] if code else []
        return {
            "code": {"coding": coding, "text": "presión"},
            "valueQuantity": {
                "value": value,
                "unit": "mmHg",
                "system": "http://unitsofmeasure.org",
                "code": "mm[Hg]",
            },
        }

    def panel(*components: dict[str, Any]) -> Observation:
        return Observation.model_validate(
            {
                "status": "final",
                "category": [{"coding": [{"code": "vital-signs"}]}],
                "code": {"coding": [{"system": "http://loinc.org", "code": "85354-9"}]},
                "subject": {"reference": "Patient/p-1"},
                "effectiveDateTime": "2025-10-09T08:53:20Z",
                "component": list(components),
            }
        )

    check_observation(panel(component("8480-6", 120), component("8462-4", 80)))
    with pytest.raises(ExportError, match="BP panel without component 8462-4"):
        check_observation(panel(component("8480-6", 120), component(None, 80)))
