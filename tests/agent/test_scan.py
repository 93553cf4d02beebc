"""Scanning at the station: test:0 and the eSCL simulator → one PDF → body + ScannedDocument."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import grpc
import httpx
import pytest

from drivers.scanner.escl_sim import EsclSimulator
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from protos import events_pb2, scanning_pb2, scanning_pb2_grpc
from tests.agent.conftest import ALLOWED_ORIGIN
from tests.grpc_apps import app_channel
from tests.scanning import pdf_pages, sane_device

HEADERS = {"Origin": ALLOWED_ORIGIN, "Content-Type": "application/json"}
CASE = {"case_id": "C-2025-7", "patient_id": "1234567890101"}


@pytest.fixture
def sim() -> Iterator[EsclSimulator]:
    with EsclSimulator() as s:
        yield s


@pytest.fixture
def agent(
    make_settings: Callable[..., AgentSettings],
    start_agent: Callable[[AgentSettings], AgentService],
    sim: EsclSimulator,
) -> AgentService:
    devices = [
        {"device_id": "scanner-1", "driver": "sane", "options": sane_device()},
        {
            "device_id": "scanner-jam",
            "driver": "sane",
            "options": sane_device(**{"read-return-value": "SANE_STATUS_JAMMED"}),
        },
        {
            "device_id": "scanner-empty",
            "driver": "sane",
            "options": sane_device(**{"read-return-value": "SANE_STATUS_NO_DOCS"}),
        },
        {"device_id": "mfp-1", "driver": "escl", "options": {"url": sim.url, "timeout_s": 10}},
    ]
    return start_agent(make_settings(devices=devices, device_poll_s=30))


def outbox_events(agent: AgentService) -> list[events_pb2.Event]:
    return [events_pb2.Event.FromString(body) for _, _, body in agent.outbox.pending(0, 1000)]


def scan(agent: AgentService, wait: bool = True, **body: Any) -> httpx.Response:
    payload = {**CASE, "document_type": "external_lab_result", **body}
    return httpx.post(
        f"{agent.http_url}/v1/scans",
        params={"wait": "true"} if wait else {},
        json=payload,
        headers=HEADERS,
        timeout=60,
    )


def test_flatbed_scan_from_test0_records_one_page_pdf_body_then_event(agent: AgentService) -> None:
    r = scan(agent, device_id="scanner-1", resolution_dpi=150, title="Hemograma externo")
    assert r.status_code == 201, r.text
    job = r.json()
    assert job["state"] == "done" and job["pages_scanned"] == 1
    result = job["result"]
    pdf = agent.bodies.bodies.read(result["sha256"])
    assert hashlib.sha256(pdf).hexdigest() == result["sha256"] and len(pdf) == result["size"]
    assert pdf.startswith(b"%PDF-")
    ((filt, _data),) = pdf_pages(pdf)
    assert filt == "/DCTDecode"  # grey pages go in as JPEG

    (event,) = [e for e in outbox_events(agent) if e.WhichOneof("payload") == "scanned_document"]
    doc = event.scanned_document
    assert (event.event_id, event.case_id, event.device_id) == (
        result["event_id"],
        "C-2025-7",
        "scanner-1",
    )
    assert doc.body.sha256.hex() == result["sha256"] and doc.body.size == len(pdf)
    assert (doc.pages, doc.resolution_dpi, doc.mode, doc.source) == (1, 150, "gray", "flatbed")
    assert (doc.document_type, doc.title, doc.document_id) == (
        "external_lab_result",
        "Hemograma externo",
        result["document_id"],
    )
    assert doc.scanner.model == "frontend-tester" and doc.scanner.driver == "sane"


def test_feeder_scan_of_ten_sheets_is_one_pdf_of_ten_pages(agent: AgentService) -> None:
    r = scan(agent, device_id="scanner-1", source="feeder", resolution_dpi=75, expected_pages=10)
    assert r.status_code == 201, r.text
    assert r.json()["result"]["pages"] == 10
    pdf = agent.bodies.bodies.read(r.json()["result"]["sha256"])
    assert len(pdf_pages(pdf)) == 10


def test_lineart_pages_are_ccitt_g4(agent: AgentService) -> None:
    r = scan(agent, device_id="scanner-1", mode="lineart", resolution_dpi=150)
    assert r.status_code == 201, r.text
    ((filt, _),) = pdf_pages(agent.bodies.bodies.read(r.json()["result"]["sha256"]))
    assert filt == "/CCITTFaxDecode"


@pytest.mark.parametrize(
    ("device", "code"), [("scanner-jam", "paper_jam"), ("scanner-empty", "feeder_empty")]
)
def test_jam_and_empty_feeder_are_problems_and_device_status_events_and_no_document(
    agent: AgentService, device: str, code: str
) -> None:
    r = scan(agent, device_id=device, source="feeder", resolution_dpi=75)
    assert r.status_code == 409
    problem = r.json()
    assert problem["code"] == code and r.headers["content-type"] == "application/problem+json"
    events = outbox_events(agent)
    assert [e for e in events if e.WhichOneof("payload") == "scanned_document"] == []
    status = [
        e.device_status
        for e in events
        if e.WhichOneof("payload") == "device_status" and e.device_id == device
    ]
    assert [(s.state, s.error_code) for s in status][-1] == (events_pb2.ERROR, code)
    assert status[-1].family == "scanner"


def test_escl_duplex_with_blank_backs_dropped_keeps_the_jpegs_untouched(
    agent: AgentService, sim: EsclSimulator
) -> None:
    sim.state.sheets_in_feeder = 3
    r = scan(agent, device_id="mfp-1", source="duplex", resolution_dpi=100, drop_blank_pages=True)
    assert r.status_code == 201, r.text
    result = r.json()["result"]
    assert (result["pages"], result["blank_pages_dropped"]) == (3, 3)
    pages = pdf_pages(agent.bodies.bodies.read(result["sha256"]))
    assert [f for f, _ in pages] == ["/DCTDecode"] * 3
    assert all(data[:3] == b"\xff\xd8\xff" for _, data in pages)
    (event,) = [e for e in outbox_events(agent) if e.WhichOneof("payload") == "scanned_document"]
    assert event.scanned_document.source == "duplex"
    assert event.scanned_document.blank_pages_dropped == 3
    assert event.scanned_document.scanner.serial == "SIM-ESCL-1"


def test_escl_scanner_vanishing_mid_job_fails_the_scan_as_device_gone(
    agent: AgentService, sim: EsclSimulator
) -> None:
    sim.state.sheets_in_feeder, sim.state.page_delay_s = 6, 0.3
    r = scan(agent, wait=False, device_id="mfp-1", source="feeder", resolution_dpi=75)
    assert r.status_code == 202
    job_url = f"{agent.http_url}{r.headers['location']}"
    with httpx.stream("GET", f"{job_url}/events", timeout=30) as stream:
        progress = []
        for line in stream.iter_lines():
            if line.startswith("data: "):
                snap = json.loads(line[6:])
                progress.append(snap["pages_scanned"])
                if snap["pages_scanned"] == 2 and snap["state"] == "scanning":
                    sim.stop()
                if snap["state"] in ("done", "failed", "cancelled"):
                    break
    assert snap["state"] == "failed" and snap["error"]["code"] == "device_gone"
    assert 2 in progress
    events = outbox_events(agent)
    assert [e for e in events if e.WhichOneof("payload") == "scanned_document"] == []
    gone = [e.device_status for e in events if e.WhichOneof("payload") == "device_status"]
    assert (gone[-1].state, gone[-1].error_code) == (events_pb2.DISCONNECTED, "device_gone")


def test_bad_requests_touch_no_device(agent: AgentService) -> None:
    r = scan(agent, device_id="scanner-1", document_type="recipe_of_grandma")
    assert (r.status_code, r.json()["code"]) == (422, "unknown_document_type")
    r = scan(agent, device_id="scanner-1", source="duplex")
    assert r.status_code == 201 or r.json()["code"] == "unsupported_setting"
    r = scan(agent, device_id="scanner-1", case_id="")
    assert (r.status_code, r.json()["code"]) == (422, "missing_field")


def test_scanners_are_listed_with_capabilities(agent: AgentService) -> None:
    listed = {s["device_id"]: s for s in httpx.get(f"{agent.http_url}/v1/scanners").json()}
    assert sorted(listed) == ["mfp-1", "scanner-1", "scanner-empty", "scanner-jam"]
    assert listed["mfp-1"]["capabilities"]["sources"] == ["flatbed", "feeder", "duplex"]
    assert listed["scanner-1"]["capabilities"]["modes"] == ["gray", "color", "lineart"]


def test_grpc_scan_streams_page_n_of_m_then_the_result(agent: AgentService) -> None:
    with app_channel(agent) as channel:
        stub = scanning_pb2_grpc.ScanningStub(channel)
        updates = list(
            stub.Scan(
                scanning_pb2.ScanRequest(
                    device_id="scanner-1",
                    document_type="referral",
                    source="feeder",
                    resolution_dpi=75,
                    max_pages=4,
                    **CASE,
                ),
                timeout=60,
            )
        )
        assert updates[-1].state == "done" and updates[-1].result.pages == 4
        assert updates[-1].result.body.media_type == "application/pdf"
        seen = [(u.pages_scanned, u.pages_expected) for u in updates if u.state == "scanning"]
        assert seen and all(m == 4 for _, m in seen) and seen[-1][0] <= 4
        with pytest.raises(grpc.RpcError) as raised:
            list(
                stub.Scan(
                    scanning_pb2.ScanRequest(
                        device_id="scanner-jam",
                        document_type="referral",
                        source="feeder",
                        **CASE,
                    ),
                    timeout=60,
                )
            )
        assert raised.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert raised.value.details().startswith("paper_jam: ")


def test_a_scan_shows_on_the_agents_page_with_the_site_and_case(agent: AgentService) -> None:
    r = scan(agent, device_id="scanner-1", resolution_dpi=75)
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the page follows the job from its own thread
        recent = httpx.get(f"{agent.http_url}/v1/activity", timeout=10).json()["recent"]
        if recent:
            break
        time.sleep(0.05)
    assert [(a["action"], a["origin"], a["case_id"], a["state"]) for a in recent] == [
        ("scan", ALLOWED_ORIGIN, CASE["case_id"], "done")
    ]


def test_feeder_yielding_other_than_the_expected_pages_says_so_at_the_station(
    agent: AgentService,
) -> None:
    # SANE test:0's feeder holds 10 sheets; the person said 12.
    r = scan(agent, device_id="scanner-1", source="feeder", resolution_dpi=75, expected_pages=12)
    assert r.status_code == 201, r.text
    result = r.json()["result"]
    assert (result["pages"], result["expected_pages"]) == (10, 12)
    assert result["page_count_note"].startswith("10 de 12 páginas esperadas")
    assert "10 of 12 expected pages" in result["page_count_note"]
    (event,) = [e for e in outbox_events(agent) if e.WhichOneof("payload") == "scanned_document"]
    assert (event.scanned_document.pages, event.scanned_document.expected_pages) == (10, 12)

    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the agent's page follows the job from its own thread
        recent = httpx.get(f"{agent.http_url}/v1/activity", timeout=10).json()["recent"]
        if recent:
            break
        time.sleep(0.05)
    assert [(a["action"], a["state"], a["note"]) for a in recent] == [
        ("scan", "done", result["page_count_note"])
    ]

    # Said right, or not said: no words.
    r = scan(agent, device_id="scanner-1", source="feeder", resolution_dpi=75, expected_pages=10)
    assert (r.json()["result"]["expected_pages"], r.json()["result"]["page_count_note"]) == (10, "")
    r = scan(agent, device_id="scanner-1", source="feeder", resolution_dpi=75, max_pages=2)
    assert (r.json()["result"]["expected_pages"], r.json()["result"]["page_count_note"]) == (0, "")


def test_grpc_scan_result_carries_the_expected_pages_and_the_words(agent: AgentService) -> None:
    with app_channel(agent) as channel:
        stub = scanning_pb2_grpc.ScanningStub(channel)
        updates = list(
            stub.Scan(
                scanning_pb2.ScanRequest(
                    device_id="scanner-1",
                    document_type="referral",
                    source="feeder",
                    resolution_dpi=75,
                    max_pages=3,
                    expected_pages=5,
                    **CASE,
                ),
                timeout=60,
            )
        )
    result = updates[-1].result
    assert (updates[-1].state, result.pages, result.expected_pages) == ("done", 3, 5)
    assert "3 of 5 expected pages" in result.page_count_note


def test_scan_progress_streams_as_server_sent_events_to_every_watcher(agent: AgentService) -> None:
    """Several watchers of one feeder scan (more than asyncio's default executor has threads on
    two cores) each get ``progress`` events in version order and one ``end`` with the result."""
    r = scan(agent, wait=False, device_id="scanner-1", source="feeder", resolution_dpi=75)
    assert r.status_code == 202, r.text
    job_id = r.json()["job_id"]
    watchers = 8

    def watch() -> list[tuple[str, dict[str, Any]]]:
        seen: list[tuple[str, dict[str, Any]]] = []
        url = f"{agent.http_url}/v1/scans/{job_id}/events"
        with httpx.stream("GET", url, headers=HEADERS, timeout=60) as stream:
            assert stream.headers["content-type"].startswith("text/event-stream")
            kind = ""
            for line in stream.iter_lines():
                if line.startswith("event: "):
                    kind = line.removeprefix("event: ")
                elif line.startswith("data: "):
                    seen.append((kind, json.loads(line.removeprefix("data: "))))
        return seen

    with ThreadPoolExecutor(watchers) as pool:
        streams = [f.result(timeout=90) for f in [pool.submit(watch) for _ in range(watchers)]]
    for events in streams:
        kinds = [k for k, _ in events]
        assert kinds[-1] == "end" and kinds.count("end") == 1, kinds
        assert set(kinds[:-1]) <= {"progress"}
        versions = [e["version"] for _, e in events]
        assert versions == sorted(set(versions)), versions  # each change once, in order
        final = events[-1][1]
        assert final["state"] == "done" and final["result"]["pages"] == 10
