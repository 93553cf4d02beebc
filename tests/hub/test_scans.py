"""Scanned documents at the hub: their details listed by case, type and station; origin filter."""

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


def _scan(seq: int, pdf: bytes, document_type: str, case_id: str = "case-s") -> events_pb2.Event:
    event = events_pb2.Event(
        event_id=new_event_id(),
        station_id=STATION,
        unit_id=UNIT,
        device_id="scanner-1",
        case_id=case_id,
        patient_id="1234567890",
        station_seq=seq,
        schema_version=CONTRACT_VERSION,
    )
    event.occurred_at.FromNanoseconds(int((time.time() + seq) * 1e9))
    d = event.scanned_document
    d.document_id, d.document_type, d.title = f"scan-{seq}", document_type, f"Scan {seq}"
    d.body.sha256, d.body.size = hashlib.sha256(pdf).digest(), len(pdf)
    d.body.media_type = "application/pdf"
    d.pages, d.resolution_dpi, d.mode, d.source, d.blank_pages_dropped = 4, 300, "gray", "duplex", 2
    d.scanner.model, d.scanner.serial, d.scanner.driver = "MFP 9000", "SN-1", "escl"
    return event


def _signed(seq: int, pdf: bytes) -> events_pb2.Event:
    event = _scan(seq, pdf, "SPS-53")
    signed = events_pb2.SignedDocument(document_type="SPS-53", document_id="doc-s")
    signed.body.CopyFrom(event.scanned_document.body)
    event.signed_document.CopyFrom(signed)
    return event


def test_scans_list_with_details_and_documents_filter_by_origin(
    store: SQLiteStore, client: TestClient, tokens: dict[Role, dict[str, str]]
) -> None:
    events = [
        _scan(1, b"%PDF lab", "external_lab_result"),
        _scan(2, b"%PDF referral", "referral"),
        _signed(3, b"%PDF signed"),
    ]
    outcome = process_batch(
        [Incoming(topics.events(UNIT, STATION), batch_bytes(*events), time.time())], store, 3600
    )
    assert outcome.accepted == 3
    reader = tokens[Role.READONLY]

    page = client.get("/v1/scans", params={"case_id": "case-s"}, headers=reader).json()
    assert [s["document_id"] for s in page["items"]] == ["scan-2", "scan-1"]
    first = page["items"][1]
    assert (first["resolution_dpi"], first["mode"], first["source"]) == (300, "gray", "duplex")
    assert (first["blank_pages_dropped"], first["pages"], first["scanner_model"]) == (
        2,
        4,
        "MFP 9000",
    )
    assert first["document_type_label"].startswith("External laboratory result / ")
    assert first["body_available"] is False

    by_type = client.get("/v1/scans", params={"document_type": "referral"}, headers=reader).json()
    assert [s["document_id"] for s in by_type["items"]] == ["scan-2"]

    scanned = client.get("/v1/documents", params={"origin": "scanned"}, headers=reader).json()
    assert sorted(d["document_id"] for d in scanned["items"]) == ["scan-1", "scan-2"]
    signed = client.get("/v1/documents", params={"origin": "signed"}, headers=reader).json()
    assert [d["document_id"] for d in signed["items"]] == ["doc-s"]
    bad = client.get("/v1/documents", params={"origin": "faxed"}, headers=reader)
    assert bad.status_code == 422
    types = client.get("/v1/scan-types", headers=reader).json()
    assert "referral" in types and "external_lab_result" in types
