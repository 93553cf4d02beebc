"""Pharmacy at the hub: dispensed items on the case, FHIR MedicationDispense, recall, catalogue."""

from __future__ import annotations

import time
from pathlib import Path

from fastapi.testclient import TestClient
from fhirclient.models.bundle import Bundle as BundleR4

from edge_agent.capabilities.pharmacy.catalogue import Catalogue
from hub.ingest.pipeline import Incoming, process_batch
from hub.storage.sqlite import SQLiteStore
from hub.tokens import Role
from protos import CONTRACT_VERSION, events_pb2, topics
from protos.event_ids import new_event_id
from tests.hub.events import STATION, UNIT, batch_bytes

GTIN = "07501031311309"


def _dispensed(seq: int, case_id: str, patient_id: str, lot: str, serial: str) -> events_pb2.Event:
    event = events_pb2.Event(
        event_id=new_event_id(),
        station_id=STATION,
        unit_id=UNIT,
        case_id=case_id,
        patient_id=patient_id,
        station_seq=seq,
        schema_version=CONTRACT_VERSION,
    )
    event.occurred_at.FromNanoseconds(int((time.time() + seq) * 1e9))
    m = event.medication_dispensed
    m.session_id, m.prescription_id, m.pharmacist_id = f"s-{seq}", f"rx-{seq}", "farm-9"
    m.confirmation_event_id, m.confirmation_decision = new_event_id(), events_pb2.MATCH
    m.items.add(
        gtin=GTIN,
        institute_code="010101",
        name="Amoxicilina 500 mg",
        lot=lot,
        expiry="2027-05-31",
        serial=serial,
        quantity=1,
        raw="]d2...",
    )
    m.lines.add(
        product_code="010101",
        quantity_prescribed=2,
        duration_days=7,
        quantity_dispensed=1,
        status="short",
    )
    m.differences.append("010101: prescribed 2, dispensed 1 (short 1)")
    return event


def test_dispensings_show_on_the_case_export_as_fhir_and_answer_a_lot_recall(
    store: SQLiteStore, client: TestClient, tokens: dict[Role, dict[str, str]]
) -> None:
    clinical = tokens[Role.CLINICAL]
    for case_id, patient in (("c-a", "p-a"), ("c-b", "p-b"), ("c-c", "p-c")):
        body = {"case_id": case_id, "patient_id": patient, "unit_id": UNIT}
        assert client.post("/v1/cases", json=body, headers=clinical).status_code == 201
    events = [
        _dispensed(1, "c-a", "p-a", "LOT-X", "S1"),
        _dispensed(2, "c-b", "p-b", "LOT-X", "S2"),
        _dispensed(3, "c-c", "p-c", "LOT-Y", "S3"),
    ]
    outcome = process_batch(
        [Incoming(topics.events(UNIT, STATION), batch_bytes(*events), time.time())], store, 3600
    )
    assert outcome.accepted == 3
    reader = tokens[Role.READONLY]

    on_case = client.get("/v1/cases/c-a/dispensed", headers=reader).json()
    assert len(on_case) == 1
    d = on_case[0]
    assert (d["pharmacist_id"], d["confirmation_decision"]) == ("farm-9", "MATCH")
    # Unsigned here: the station's MATCH is not shown as verified.
    assert d["verification"]["verified"] is False
    assert d["verification"]["problem"] == "bad_algorithm"
    assert d["verification"]["reason"].startswith("NOT verified")
    assert [(i["gtin"], i["lot"], i["serial"]) for i in d["items"]] == [(GTIN, "LOT-X", "S1")]
    assert d["differences"] == ["010101: prescribed 2, dispensed 1 (short 1)"]

    recall = client.get("/v1/pharmacy/recall", params={"lot": "LOT-X"}, headers=reader).json()
    assert recall["patients"] == ["p-a", "p-b"]
    assert {i["case_id"] for i in recall["items"]} == {"c-a", "c-b"}
    other_gtin = client.get(
        "/v1/pharmacy/recall", params={"lot": "LOT-X", "gtin": "07501031311316"}, headers=reader
    ).json()
    assert other_gtin["patients"] == []
    assert client.get("/v1/pharmacy/recall", params={"lot": ""}, headers=reader).status_code == 422

    bundle = client.get("/v1/cases/c-a/fhir/medication-dispense", headers=reader).json()
    assert bundle["resourceType"] == "Bundle"
    r4 = BundleR4(bundle, strict=True)  # FHIR R4 (4.0.1) models, as well as R4B
    assert [type(e.resource).__name__ for e in r4.entry] == ["MedicationDispense"]
    assert bundle["entry"][0]["fullUrl"].startswith("urn:uuid:")
    md = bundle["entry"][0]["resource"]
    assert md["resourceType"] == "MedicationDispense" and md["status"] == "completed"
    assert md["medicationReference"]["reference"] == "#med"
    med = md["contained"][0]
    assert med["code"]["coding"][0] == {
        "system": "https://www.gs1.org/gtin",
        "code": GTIN,
        "display": "Amoxicilina 500 mg",
    }
    assert med["batch"]["lotNumber"] == "LOT-X"
    assert med["batch"]["expirationDate"].startswith("2027-05-31")
    assert md["subject"]["identifier"]["value"] == "p-a"
    assert md["performer"][0]["actor"]["identifier"]["value"] == "farm-9"
    assert any("NOT verified" in n["text"] for n in md["note"])

    assert client.get("/v1/cases/nope/dispensed", headers=reader).status_code == 404


def test_catalogue_is_loaded_by_ops_checked_whole_and_fetched_by_a_station(
    client: TestClient, tokens: dict[Role, dict[str, str]], tmp_path: Path
) -> None:
    doc = {
        "version": "2026-12",
        "items": [{"gtin": "7501031311309", "institute_code": "010101", "name": "Amoxicilina"}],
    }
    assert client.get("/v1/pharmacy/catalogue", headers=tokens[Role.STATION]).status_code == 404
    bad = {"version": "x", "items": [*doc["items"], {"gtin": "7501031311308", "name": "y"}]}
    refused = client.put("/v1/pharmacy/catalogue", json=bad, headers=tokens[Role.OPS])
    assert refused.status_code == 422 and "item 1" in refused.json()["detail"]
    assert (
        client.put("/v1/pharmacy/catalogue", json=doc, headers=tokens[Role.CLINICAL]).status_code
        == 403
    )
    ok = client.put("/v1/pharmacy/catalogue", json=doc, headers=tokens[Role.OPS])
    assert ok.json() == {"version": "2026-12", "items": 1}

    station = Catalogue(tmp_path / "pharmacy.sqlite3")
    client.headers.update(tokens[Role.STATION])
    assert station.fetch(client) == 1
    assert station.version() == "2026-12"
    product = station.lookup(GTIN)
    assert product is not None and product.institute_code == "010101"
    station.close()


def test_case_page_lists_what_was_handed_over_by_whom(
    store: SQLiteStore, client: TestClient, tokens: dict[Role, dict[str, str]]
) -> None:
    import re

    from hub.ingest.timefmt import now_iso
    from hub.storage.web_users import WebUserStore
    from hub.web.auth import hash_password

    body = {"case_id": "c-w", "patient_id": "p-w", "unit_id": UNIT}
    client.post("/v1/cases", json=body, headers=tokens[Role.CLINICAL])
    event = _dispensed(1, "c-w", "p-w", "LOT-W", "SW")
    event.medication_dispensed.items[0].warning = "no serial number / sin número de serie"
    process_batch(
        [Incoming(topics.events(UNIT, STATION), batch_bytes(event), time.time())], store, 3600
    )
    WebUserStore(store).add("ana", "clinician", hash_password("ana-password-1"), now_iso())
    page = client.get("/console/login", headers={"Accept-Language": "en"}).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf is not None
    client.post(
        "/console/login",
        data={"csrf": csrf.group(1), "name": "ana", "password": "ana-password-1", "next": "/"},
    )
    html = client.get("/console/cases/c-w", headers={"Accept-Language": "en"}).text
    section = html[html.index('id="dispensed"') : html.index('id="vitals"')]
    assert "Dispensed medicines (1)" in section
    assert 'data-lot="LOT-W"' in section and "farm-9" in section
    assert 'data-confirmation="bad_algorithm"' in section and "NOT verified" in section
    assert "sin número de serie" in section
    assert "prescribed 2, dispensed 1" in section

    # The cases list says it too: what was given, when (the unit's local time), by whom.
    other = {"case_id": "c-none", "patient_id": "p-none", "unit_id": UNIT}
    client.post("/v1/cases", json=other, headers=tokens[Role.CLINICAL])
    listing = client.get("/console/cases", headers={"Accept-Language": "en"}).text
    assert "Medicines dispensed" in listing
    row = listing[listing.index('data-case="c-w"') :]
    row = row[: row.index("</tr>")]
    cell = re.search(r'<div data-dispensing="([^"]+)">(.*?)</div>', row, re.S)
    assert cell is not None and cell.group(1) == event.event_id
    assert "Amoxicilina 500 mg × 1" in cell.group(2) and "farm-9" in cell.group(2)
    from hub.ingest.timefmt import iso_utc
    from hub.web.localtime import Local

    at = iso_utc(event.occurred_at.seconds, event.occurred_at.nanos)
    assert Local("en", "America/Guatemala").when(at) in cell.group(2)
    none_row = listing[listing.index('data-case="c-none"') :]
    assert "data-dispensing" not in none_row[: none_row.index("</tr>")]


def test_dispensing_is_verified_only_with_a_valid_signature_and_a_pharmacy_match(
    store: SQLiteStore, client: TestClient, tokens: dict[Role, dict[str, str]], tmp_path: Path
) -> None:
    from edge_agent.identity import StationIdentity
    from protos.biometric_signing import SIGNATURE_ALGORITHM
    from protos.biometric_signing import canonical_bytes as confirmation_bytes
    from protos.dispensing_signing import canonical_bytes

    identity = StationIdentity.load_or_create(tmp_path / "station")
    key = {"public_key_pem": identity.public_key_pem}
    assert client.put(f"/v1/stations/{STATION}/key", json=key, headers=tokens[Role.OPS]).is_success
    time.sleep(0.01)

    def confirmation(seq: int, case_id: str, decision: int) -> events_pb2.Event:
        event = events_pb2.Event(
            event_id=new_event_id(),
            station_id=STATION,
            unit_id=UNIT,
            device_id="reader-1",
            case_id=case_id,
            patient_id=f"p-{case_id}",
            station_seq=seq,
            schema_version=CONTRACT_VERSION,
        )
        event.occurred_at.FromNanoseconds(time.time_ns())
        c = event.biometric_confirmation
        c.step, c.decision, c.score, c.threshold = "pharmacy", decision, 90.0, 40.0  # type: ignore[assignment]
        c.signature_algorithm = SIGNATURE_ALGORITHM
        c.station_signature = identity.sign(confirmation_bytes(event))
        return event

    def dispensed(seq: int, case_id: str, conf: events_pb2.Event | None) -> events_pb2.Event:
        event = _dispensed(seq, case_id, f"p-{case_id}", f"LOT-{case_id}", f"S-{case_id}")
        m = event.medication_dispensed
        m.confirmation_event_id = conf.event_id if conf else new_event_id()
        m.signature_algorithm = SIGNATURE_ALGORITHM
        m.station_signature = identity.sign(canonical_bytes(event))
        return event

    cases = {"ok": 1, "tampered": 1, "missing": 0, "nomatch": 1}
    events: list[events_pb2.Event] = []
    seq = 10
    for case_id, with_confirmation in cases.items():
        body = {"case_id": case_id, "patient_id": f"p-{case_id}", "unit_id": UNIT}
        client.post("/v1/cases", json=body, headers=tokens[Role.CLINICAL])
        conf = None
        if with_confirmation:
            decision = events_pb2.NO_MATCH if case_id == "nomatch" else events_pb2.MATCH
            conf = confirmation(seq, case_id, decision)
            events.append(conf)
            seq += 1
        events.append(dispensed(seq, case_id, conf))
        seq += 1
    events[3].medication_dispensed.items[0].lot = "LOT-OTHER"  # changed after signing
    outcome = process_batch(
        [Incoming(topics.events(UNIT, STATION), batch_bytes(*events), time.time())], store, 3600
    )
    assert outcome.accepted == len(events)
    reader = tokens[Role.READONLY]
    problems = {
        case_id: client.get(f"/v1/cases/{case_id}/dispensed", headers=reader).json()[0][
            "verification"
        ]["problem"]
        for case_id in cases
    }
    assert problems == {
        "ok": "",
        "tampered": "bad_signature",
        "missing": "confirmation_missing",
        "nomatch": "confirmation_no_match",
    }
