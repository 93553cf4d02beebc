"""Signed and scanned documents land on the case's document list as the events are ingested."""

from __future__ import annotations

import hashlib
import time

from fastapi.testclient import TestClient

from hub.ingest.pipeline import Incoming, process_batch
from hub.storage.sqlite import SQLiteStore
from hub.tokens import Role
from protos import CONTRACT_VERSION, events_pb2, topics
from protos.event_ids import new_event_id
from tests.hub.events import STATION, UNIT, batch_bytes


def _doc_event(seq: int, kind: str, document_id: str, pdf: bytes, **extra: object):
    event = events_pb2.Event(
        event_id=new_event_id(),
        station_id=STATION,
        unit_id=UNIT,
        case_id="case-9",
        patient_id="1234567890",
        station_seq=seq,
        schema_version=CONTRACT_VERSION,
    )
    event.occurred_at.FromNanoseconds(int((time.time() + seq) * 1e9))
    payload = getattr(event, kind)
    payload.document_id = document_id
    payload.document_type = str(extra.get("document_type", "SPS-53"))
    payload.body.sha256 = hashlib.sha256(pdf).digest()
    payload.body.size = len(pdf)
    payload.body.media_type = "application/pdf"
    if kind == "signed_document":
        payload.signer.subject = str(extra["signer"])
        payload.signer.role = str(extra["role"])
        payload.signer.level = events_pb2.PADES_B_T
        if "previous" in extra:
            payload.previous_sha256 = hashlib.sha256(extra["previous"]).digest()  # type: ignore[arg-type]
    else:
        payload.pages = 3
        payload.title = "Laboratorio externo"
    return event


def _ingest(store: SQLiteStore, *events: events_pb2.Event) -> None:
    outcome = process_batch(
        [Incoming(topics.events(UNIT, STATION), batch_bytes(*events), time.time())], store, 3600
    )
    assert outcome.accepted == len(events)


def test_two_signatures_and_a_scan_are_listed_per_case_and_type(
    store: SQLiteStore, client: TestClient, tokens: dict[Role, dict[str, str]]
) -> None:
    v1, v2, scan = b"%PDF sps53 signed once", b"%PDF sps53 signed twice", b"%PDF lab result"
    _ingest(
        store,
        _doc_event(1, "signed_document", "doc-1", v1, signer="Dra. Ana López", role="doctor"),
        _doc_event(
            2, "signed_document", "doc-1", v2, signer="Dr. Juan Pérez", role="director", previous=v1
        ),
        _doc_event(3, "scanned_document", "scan-1", scan, document_type="external_lab_result"),
    )
    reader = tokens[Role.READONLY]
    page = client.get("/v1/cases/case-9/documents", headers=reader).json()
    assert [d["document_id"] for d in page["items"]] == ["scan-1", "doc-1", "doc-1"]
    assert page["items"][0]["origin"] == "scanned" and page["items"][0]["pages"] == 3
    assert page["items"][0]["body_available"] is False  # the body is still on its way

    revisions = client.get("/v1/documents/doc-1", headers=reader).json()
    assert [r["signer_role"] for r in revisions] == ["doctor", "director"]
    assert revisions[1]["previous_sha256"] == hashlib.sha256(v1).hexdigest()
    assert revisions[1]["signature_level"] == "PADES_B_T"

    by_type = client.get(
        "/v1/documents", params={"document_type": "external_lab_result"}, headers=reader
    ).json()
    assert [d["sha256"] for d in by_type["items"]] == [hashlib.sha256(scan).hexdigest()]
    assert client.get("/v1/documents/nope", headers=reader).status_code == 404


def test_a_duplicate_delivery_does_not_list_a_document_twice(
    store: SQLiteStore, client: TestClient, tokens: dict[Role, dict[str, str]]
) -> None:
    event = _doc_event(1, "scanned_document", "scan-2", b"%PDF x")
    _ingest(store, event)
    process_batch(
        [Incoming(topics.events(UNIT, STATION), batch_bytes(event), time.time())], store, 3600
    )
    items = client.get("/v1/cases/case-9/documents", headers=tokens[Role.OPS]).json()["items"]
    assert len(items) == 1
