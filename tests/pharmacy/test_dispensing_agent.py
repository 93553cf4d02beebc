"""Dispensing at the agent: real scanner bytes over a pty through the real driver, checks, SSE,
the patient's fingerprint, one signed event on the case — over local HTTP and gRPC."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import httpx
import pytest
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from drivers.barcode.sim import EAN13, medicine_pack
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from protos import events_pb2, pharmacy_pb2, pharmacy_pb2_grpc
from protos.dispensing_signing import canonical_bytes
from tests.brokers import free_port
from tests.grpc_apps import app_channel
from tests.pharmacy.conftest import GTIN_AMOX, GTIN_IBU, GTIN_UNKNOWN

ORIGIN = "https://medi.example.test"


def yymmdd(days: int) -> str:
    return (datetime.now(UTC).astimezone().date() + timedelta(days=days)).strftime("%y%m%d")


@pytest.fixture
def agent(tmp_path: Path, catalogue_doc: dict) -> Iterator[AgentService]:
    agent = AgentService(
        AgentSettings(
            station_id="st-farmacia",
            unit_id="u1",
            data_dir=tmp_path / "agent",
            broker_url=f"mqtt://127.0.0.1:{free_port()}",  # offline: the hub is unreachable
            http_port=0,
            grpc_port=0,
            allowed_origins=[ORIGIN],
            devices=[
                {"device_id": "reader-1", "driver": "sim.fingerprint", "options": {"seed": 9}},
                {
                    "device_id": "scanner-1",
                    "driver": "sim.barcode",
                    "options": {"link": str(tmp_path / "ttyACM0")},
                },
            ],
            fingerprint={"hub_url": f"http://127.0.0.1:{free_port()}", "hub_timeout_s": 0.5},
        )
    )
    agent.start()
    assert agent.wait_ready(10)
    assert agent.pharmacy is not None
    agent.pharmacy.catalogue.replace(catalogue_doc)
    try:
        yield agent
    finally:
        agent.stop()


def _sse(client: httpx.Client, path: str, out: list[tuple[str, dict]], ready: threading.Event):
    with client.stream("GET", path) as response:
        kind = ""
        for line in response.iter_lines():
            if line.startswith(": connected"):
                ready.set()
            elif line.startswith("event: "):
                kind = line[7:]
            elif line.startswith("data: "):
                out.append((kind, json.loads(line[6:])))
                if kind == "end":
                    return


def _wait(pred, timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_scanned_packs_are_checked_streamed_and_confirmed_into_one_signed_event(agent):
    local = httpx.Client(base_url=agent.http_url, headers={"Origin": ORIGIN}, timeout=60)
    case = {"case_id": "c-77", "patient_id": "p-77"}
    enroll = {"device_id": "reader-1", **case, "finger": "RIGHT_INDEX"}
    assert local.post("/v1/fingerprint/enroll", json=enroll).status_code == 201
    session = {
        **case,
        "prescription_id": "rx-1",
        "lines": [
            {"product_code": "010101", "quantity": 2, "duration_days": 7},
            {"product_code": GTIN_IBU, "quantity": 1, "duration_days": 3},
        ],
        "pharmacist_id": "farm-9",
        "scanner_device_id": "scanner-1",
    }
    opened = local.post("/v1/pharmacy/sessions", json=session)
    assert opened.status_code == 201, opened.text
    sid = opened.json()["session_id"]
    second = local.post("/v1/pharmacy/sessions", json={**session, "case_id": "c-78"})
    assert (second.status_code, second.json()["code"]) == (409, "scanner_in_use")
    events: list[tuple[str, dict]] = []
    ready = threading.Event()
    watcher = threading.Thread(
        target=_sse, args=(local, f"/v1/pharmacy/sessions/{sid}/events", events, ready)
    )
    watcher.start()
    assert ready.wait(10)

    status = local.get("/v1/status").json()
    scanner = next(d for d in status["devices"] if d["device_id"] == "scanner-1")
    assert (scanner["family"], scanner["state"]) == ("barcode", "CONNECTED")
    sim = agent.devices.get("scanner-1").device.sim  # type: ignore[union-attr]
    good = medicine_pack(GTIN_AMOX, yymmdd(400), "L-OK", "SN-1")
    sim.scan(good)
    sim.scan(good)  # the same pack again
    sim.scan(medicine_pack(GTIN_AMOX, yymmdd(-1), "L-OLD", "SN-2"))
    sim.scan(medicine_pack(GTIN_AMOX, yymmdd(3), "L-SOON", "SN-3"))  # 7-day treatment
    sim.scan(medicine_pack(GTIN_UNKNOWN, yymmdd(400), "L-X", "SN-4"))
    sim.scan("0107501031311308", "]d2")  # bad check digit
    sim.scan(GTIN_IBU[1:], EAN13)  # linear EAN-13: no expiry, no serial
    _wait(lambda: len(events) >= 7)

    kinds = [(k, e["code"]) for k, e in events]
    assert kinds == [
        ("item", ""),
        ("refused", "duplicate_serial"),
        ("refused", "expired"),
        ("refused", "expires_during_treatment"),
        ("refused", "unknown_item"),
        ("unreadable", "unreadable_scan"),
        ("item", ""),
    ]
    first = events[0][1]["item"]
    assert (first["name"], first["lot"], first["serial"], first["institute_code"]) == (
        "Amoxicilina 500 mg, caja 21 cápsulas",
        "L-OK",
        "SN-1",
        "010101",
    )
    assert "VENCIDO" in events[2][1]["warning"] and "EXPIRED" in events[2][1]["warning"]
    assert "expiry not in the barcode" in events[6][1]["item"]["warning"]
    assert events[6][1]["differences"] == [
        "010101: prescribed 2, dispensed 1 (short 1) / recetado 2, despachado 1 (faltan 1)"
    ]

    # The page can also pass a scan it received; a refusal is a clear problem.
    again = local.post(f"/v1/pharmacy/sessions/{sid}/scans", json={"raw": "]d2" + good})
    assert (again.status_code, again.json()["code"]) == (409, "duplicate_serial")

    done = local.post(
        f"/v1/pharmacy/sessions/{sid}/finish", json={"fingerprint_device_id": "reader-1"}
    )
    assert done.status_code == 201, done.text
    watcher.join(10)
    assert events[-2][0] == "finished" and events[-1][0] == "end"

    rows = [events_pb2.Event.FromString(raw) for _, _, raw in agent.outbox.pending(0, 50)]
    dispensed = [e for e in rows if e.WhichOneof("payload") == "medication_dispensed"]
    confirmations = [e for e in rows if e.WhichOneof("payload") == "biometric_confirmation"]
    assert len(dispensed) == 1
    event = dispensed[0]
    m = event.medication_dispensed
    assert (event.case_id, event.patient_id, m.pharmacist_id) == ("c-77", "p-77", "farm-9")
    assert [(i.gtin, i.lot, i.serial) for i in m.items] == [
        (GTIN_AMOX, "L-OK", "SN-1"),
        (GTIN_IBU, "", ""),
    ]
    assert m.items[0].raw.startswith("]d2") and m.items[1].raw.startswith("]E0")
    assert confirmations[-1].biometric_confirmation.step == "pharmacy"
    assert (
        m.confirmation_event_id
        == confirmations[-1].event_id
        == done.json()["confirmation_event_id"]
    )
    assert m.confirmation_decision == events_pb2.MATCH
    assert [x.status for x in m.lines] == ["short", "complete"]
    key = load_pem_public_key(agent.identity.public_key_pem.encode())
    key.verify(m.station_signature, canonical_bytes(event), ec.ECDSA(hashes.SHA256()))  # type: ignore[union-attr,call-arg]

    closed = local.post(f"/v1/pharmacy/sessions/{sid}/scans", json={"raw": "]E0" + GTIN_IBU[1:]})
    assert (closed.status_code, closed.json()["code"]) == (409, "session_closed")


def test_a_pack_dispensed_once_is_refused_in_a_later_session_and_a_no_match_records_nothing(agent):
    local = httpx.Client(base_url=agent.http_url, headers={"Origin": ORIGIN}, timeout=60)
    case = {"case_id": "c-1", "patient_id": "p-1"}
    enroll = {"device_id": "reader-1", **case, "finger": "RIGHT_THUMB"}
    assert local.post("/v1/fingerprint/enroll", json=enroll).status_code == 201
    body = {
        **case,
        "lines": [{"product_code": "010101", "quantity": 1, "duration_days": 5}],
        "pharmacist_id": "farm-1",
    }
    pack = "]d2" + medicine_pack(GTIN_AMOX, yymmdd(90), "L1", "S-ONCE")
    bad_line = {**body, "lines": [{"product_code": "010101", "quantity": 0}]}
    assert local.post("/v1/pharmacy/sessions", json=bad_line).status_code == 422
    bad_case = {**body, "case_id": "c 1; DROP"}
    refused_case = local.post("/v1/pharmacy/sessions", json=bad_case)
    assert (refused_case.status_code, refused_case.json()["code"]) == (422, "invalid_case_id")
    sid = local.post("/v1/pharmacy/sessions", json=body).json()["session_id"]
    assert local.post(f"/v1/pharmacy/sessions/{sid}/scans", json={"raw": pack}).status_code == 201
    reader = agent.devices.get("reader-1").device
    reader.set_finger(4)  # type: ignore[union-attr]  # somebody else's finger
    refused = local.post(
        f"/v1/pharmacy/sessions/{sid}/finish", json={"fingerprint_device_id": "reader-1"}
    )
    assert (refused.status_code, refused.json()["code"]) == (409, "not_confirmed")
    assert "huella" in refused.json()["detail"]
    kinds = [
        events_pb2.Event.FromString(raw).WhichOneof("payload")
        for _, _, raw in agent.outbox.pending(0, 50)
    ]
    assert "medication_dispensed" not in kinds
    reader.set_finger(0)  # type: ignore[union-attr]
    ok = local.post(
        f"/v1/pharmacy/sessions/{sid}/finish", json={"fingerprint_device_id": "reader-1"}
    )
    assert ok.status_code == 201, ok.text

    sid2 = local.post("/v1/pharmacy/sessions", json=body).json()["session_id"]
    again = local.post(f"/v1/pharmacy/sessions/{sid2}/scans", json={"raw": pack})
    assert (again.status_code, again.json()["code"]) == (409, "duplicate_serial")
    assert "already dispensed" in again.json()["detail"]


def test_other_origins_and_unpaired_grpc_callers_are_refused_paired_grpc_works(agent):
    body = {
        "case_id": "c-2",
        "patient_id": "p-2",
        "lines": [{"product_code": "010101", "quantity": 1}],
        "pharmacist_id": "farm-1",
    }
    evil = httpx.post(
        f"{agent.http_url}/v1/pharmacy/sessions", json=body, headers={"Origin": "https://evil.test"}
    )
    assert evil.status_code == 403
    with grpc.insecure_channel(agent.grpc_target) as bare:
        with pytest.raises(grpc.RpcError) as err:
            pharmacy_pb2_grpc.PharmacyStub(bare).OpenSession(
                pharmacy_pb2.OpenDispensingRequest(**body), timeout=10
            )
        assert err.value.code() == grpc.StatusCode.UNAUTHENTICATED
    with app_channel(agent) as channel:
        stub = pharmacy_pb2_grpc.PharmacyStub(channel)
        lines = [pharmacy_pb2.PrescriptionLine(product_code="010101", quantity=1)]
        s = stub.OpenSession(
            pharmacy_pb2.OpenDispensingRequest(
                case_id="c-2", patient_id="p-2", lines=lines, pharmacist_id="farm-1"
            ),
            timeout=10,
        )
        watch = stub.WatchSession(pharmacy_pb2.DispensingRef(session_id=s.session_id), timeout=20)
        time.sleep(0.3)
        pack = "]d2" + medicine_pack(GTIN_AMOX, yymmdd(30), "L9", "S9")
        got = stub.Scan(pharmacy_pb2.ScanItemRequest(session_id=s.session_id, raw=pack), timeout=10)
        assert got.kind == "item" and got.item.lot == "L9"
        with pytest.raises(grpc.RpcError) as bad:
            stub.Scan(
                pharmacy_pb2.ScanItemRequest(session_id=s.session_id, raw="]d2xx"), timeout=10
            )
        assert bad.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert "unreadable_scan" in bad.value.details()
        stub.CancelSession(pharmacy_pb2.DispensingRef(session_id=s.session_id), timeout=10)
        assert [u.kind for u in watch] == ["item", "unreadable", "cancelled"]


def test_hub_unreachable_keeps_the_cached_catalogue_and_says_why(agent):
    local = httpx.Client(base_url=agent.http_url, headers={"Origin": ORIGIN}, timeout=60)
    agent.settings.hub_url = f"http://127.0.0.1:{free_port()}"  # nobody listens there
    refused = local.post("/v1/pharmacy/catalogue/refresh", json={})
    assert (refused.status_code, refused.json()["code"]) == (502, "catalogue_unavailable")
    assert "2026-12-01" in refused.json()["detail"]  # the copy still in use is named
    info = local.get("/v1/pharmacy/catalogue").json()
    assert (info["version"], info["items"]) == ("2026-12-01", 2)
    assert "ConnectError" in info["last_error"]


def test_a_pack_scanned_while_the_patient_confirms_is_refused_and_not_in_the_event(agent):
    local = httpx.Client(base_url=agent.http_url, headers={"Origin": ORIGIN}, timeout=60)
    case = {"case_id": "c-5", "patient_id": "p-5"}
    enroll = {"device_id": "reader-1", **case, "finger": "LEFT_INDEX"}
    assert local.post("/v1/fingerprint/enroll", json=enroll).status_code == 201
    body = {
        **case,
        "lines": [{"product_code": "010101", "quantity": 2, "duration_days": 5}],
        "pharmacist_id": "farm-5",
        "scanner_device_id": "scanner-1",
    }
    sid = local.post("/v1/pharmacy/sessions", json=body).json()["session_id"]
    sim = agent.devices.get("scanner-1").device.sim  # type: ignore[union-attr]
    sim.scan(medicine_pack(GTIN_AMOX, yymmdd(200), "L5", "S5-1"))
    _wait(lambda: len(local.get(f"/v1/pharmacy/sessions/{sid}").json()["items"]) == 1)

    reader = agent.devices.get("reader-1").device
    capture = reader.capture  # type: ignore[union-attr]

    def finger_while_a_pack_is_scanned(timeout_s: float):  # type: ignore[no-untyped-def]
        sim.scan(medicine_pack(GTIN_AMOX, yymmdd(200), "L5", "S5-2"))
        _wait(lambda: agent.pharmacy.get(sid).refusals)  # type: ignore[union-attr]
        return capture(timeout_s)

    reader.capture = finger_while_a_pack_is_scanned  # type: ignore[union-attr]
    done = local.post(
        f"/v1/pharmacy/sessions/{sid}/finish", json={"fingerprint_device_id": "reader-1"}
    )
    assert done.status_code == 201, done.text
    session = done.json()["session"]
    assert [i["serial"] for i in session["items"]] == ["S5-1"]
    assert session["refusals"][0]["code"] == "session_closed"
    assert "confirmación" in session["refusals"][0]["warning"]


def test_a_watcher_is_woken_by_each_update_and_a_closed_loop_does_not_stop_the_scanner() -> None:
    """The SSE stream waits for the publisher's wake-up instead of polling every 10 ms; the
    publishing (scanner) thread must never fail because a watcher's event loop is gone."""
    import asyncio

    from edge_agent.capabilities.pharmacy.service import Session, Update

    session = Session("s-1", "c-1", "p-1", "rx-1", "farm-9", "scanner-1", [])
    woken: list[int] = []
    q = session.subscribe(on_put=lambda: woken.append(q.qsize()))
    update = Update("s-1", "item")
    q.put_nowait(update)
    q.put_nowait(None)
    assert woken == [1, 2] and q.get_nowait() is update and q.get_nowait() is None

    loop = asyncio.new_event_loop()
    event = asyncio.Event()
    closed = session.subscribe(on_put=lambda: loop.call_soon_threadsafe(event.set))
    loop.close()
    closed.put_nowait(update)  # RuntimeError('Event loop is closed') swallowed
    assert closed.get_nowait() is update


def test_back_to_back_sessions_on_one_scanner_lose_no_scan(agent, caplog):
    """The next patient's session opens right after the last one is cancelled, and the first
    pack is scanned at once: it lands in the new session, and the port is never read by two
    threads at a time (which pyserial reports as a vanished reader)."""
    local = httpx.Client(base_url=agent.http_url, headers={"Origin": ORIGIN}, timeout=30)
    body = {
        "case_id": "c-next",
        "patient_id": "p-next",
        "lines": [{"product_code": "010101", "quantity": 5, "duration_days": 5}],
        "pharmacist_id": "farm-1",
        "scanner_device_id": "scanner-1",
    }
    sim = agent.devices.get("scanner-1").device.sim  # type: ignore[union-attr]
    sid = local.post("/v1/pharmacy/sessions", json=body).json()["session_id"]
    time.sleep(0.1)  # its reader is inside a read window
    for i in range(5):
        assert local.post(f"/v1/pharmacy/sessions/{sid}/cancel", json={}).status_code == 200
        opened = local.post("/v1/pharmacy/sessions", json=body)
        assert opened.status_code == 201, opened.text
        sid = opened.json()["session_id"]
        sim.scan(medicine_pack(GTIN_AMOX, yymmdd(90), "L-NEXT", f"S-NEXT-{i}"))
        _wait(lambda s=sid: local.get(f"/v1/pharmacy/sessions/{s}").json()["items"] != [], 5)
        [item] = local.get(f"/v1/pharmacy/sessions/{sid}").json()["items"]
        assert item["serial"] == f"S-NEXT-{i}"
    assert "vanished" not in caplog.text
