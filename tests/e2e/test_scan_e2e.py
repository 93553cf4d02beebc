"""Scan at the station, PDF on the case: real Mosquitto, hub and agent processes, SANE test:0."""

from __future__ import annotations

import hashlib
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from tests.e2e.conftest import UNIT
from tests.e2e.processes import ORIGIN, Agent, Hub, wait_until
from tests.scanning import sane_device

pytestmark = pytest.mark.e2e

HEADERS = {"Origin": ORIGIN, "Content-Type": "application/json"}


def _station_token(hub: Hub, station_id: str) -> str:
    with hub.api() as api:
        response = api.post("/v1/tokens", json={"name": station_id, "role": "station"})
        assert response.status_code == 201, response.text
        return str(response.json()["token"])


def _scanning_agent(make_agent: Callable[..., Agent], hub: Hub, station: str, **kw: Any) -> Agent:
    hub.register_station(station, UNIT)
    return make_agent(
        station,
        register=False,
        hub_url=hub.url,
        hub_token=_station_token(hub, station),
        devices=[{"device_id": "scanner-1", "driver": "sane", "options": sane_device()}],
        **kw,
    )


def _scan(agent: Agent, case_id: str, **body: Any) -> dict[str, Any]:
    payload = {
        "device_id": "scanner-1",
        "case_id": case_id,
        "patient_id": "1234567890101",
        "document_type": "external_lab_result",
        "source": "feeder",
        "resolution_dpi": 150,
        **body,
    }
    r = httpx.post(
        f"{agent.url}/v1/scans", params={"wait": "true"}, json=payload, headers=HEADERS, timeout=60
    )
    assert r.status_code == 201, r.text
    return dict(r.json()["result"])


def _case_documents(hub: Hub, case_id: str) -> list[dict[str, Any]]:
    with hub.api() as api:
        return list(api.get(f"/v1/cases/{case_id}/documents").json()["items"])


def _download_verified(hub: Hub, sha256: str) -> bytes:
    with hub.api() as api:
        r = api.get(f"/v1/bodies/{sha256}", timeout=30)
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/pdf")
    assert hashlib.sha256(r.content).hexdigest() == sha256
    return r.content


def test_feeder_scan_lands_on_the_case_with_its_pdf_verified_at_the_hub(
    hub: Hub, make_agent: Callable[..., Agent]
) -> None:
    with hub.api() as api:
        r = api.post(
            "/v1/cases",
            json={"case_id": "C-SCAN-1", "patient_id": "1234567890101", "unit_id": UNIT},
        )
        assert r.status_code == 201, r.text
    agent = _scanning_agent(make_agent, hub, "station-scan")
    result = _scan(agent, "C-SCAN-1", max_pages=3, title="Química sanguínea")

    wait_until(
        lambda: any(d["body_available"] for d in _case_documents(hub, "C-SCAN-1")),
        60,
        "scan listed on the case with its body",
    )
    (doc,) = _case_documents(hub, "C-SCAN-1")
    assert (doc["document_id"], doc["sha256"], doc["origin"], doc["pages"]) == (
        result["document_id"],
        result["sha256"],
        "scanned",
        3,
    )
    assert (doc["title"], doc["document_type"], doc["size"]) == (
        "Química sanguínea",
        "external_lab_result",
        result["size"],
    )
    pdf = _download_verified(hub, result["sha256"])
    assert len(pdf) == result["size"] and pdf.startswith(b"%PDF-")

    with hub.api() as api:
        case = api.get("/v1/cases/C-SCAN-1").json()
        scans = api.get("/v1/scans", params={"case_id": "C-SCAN-1"}).json()["items"]
    assert [e["event_id"] for e in case["timeline"] if e["kind"] == "scanned_document"] == [
        result["event_id"]
    ]
    assert (scans[0]["resolution_dpi"], scans[0]["source"], scans[0]["scanner_driver"]) == (
        150,
        "feeder",
        "sane",
    )


def test_scan_for_a_case_the_hub_does_not_know_is_kept_and_shows_when_the_case_opens(
    hub: Hub, make_agent: Callable[..., Agent]
) -> None:
    agent = _scanning_agent(make_agent, hub, "station-unknown")
    result = _scan(agent, "C-NOT-YET", source="flatbed", document_type="referral")

    def unmatched() -> list[str]:
        with hub.api() as api:
            return [e["event_id"] for e in api.get("/v1/events/unmatched").json()["items"]]

    wait_until(lambda: result["event_id"] in unmatched(), 60, "scan stored as unmatched")
    with hub.api() as api:
        r = api.post(
            "/v1/cases",
            json={"case_id": "C-NOT-YET", "patient_id": "1234567890101", "unit_id": UNIT},
        )
        assert r.status_code == 201, r.text
    wait_until(
        lambda: any(d["body_available"] for d in _case_documents(hub, "C-NOT-YET")),
        60,
        "scan on the opened case",
    )
    (doc,) = _case_documents(hub, "C-NOT-YET")
    assert (doc["event_id"], doc["document_type"]) == (result["event_id"], "referral")
    _download_verified(hub, result["sha256"])


def test_scan_upload_cut_by_a_hub_crash_resumes_and_arrives_verified(
    hub: Hub, make_agent: Callable[..., Agent]
) -> None:
    agent = _scanning_agent(make_agent, hub, "station-cut", body_chunk_bytes=4 * 1024)
    hub.kill()  # the link is down while the person scans
    # One flatbed page at 600 dpi (about 0.4 MB in 4 KiB chunks): one SANE reader thread, not
    # eleven. SANE's reader threads can leave the loader's lock held and freeze the process
    # they run in (drivers/scanner/sane_child.py); scans run in a child process now, but a
    # child that froze would still fail this scan after page_timeout_s.
    result = _scan(agent, "C-SCAN-CUT", source="flatbed", resolution_dpi=600)
    assert result["pages"] == 1 and result["size"] > 128 * 1024
    partial = hub.workdir / "data" / "bodies" / "partial" / f"{result['sha256']}.part"
    hub.start()
    wait_until(
        lambda: partial.exists() and partial.stat().st_size >= 32 * 1024,
        60,
        "upload under way",
        interval_s=0.01,
    )
    hub.kill()
    held = partial.stat().st_size
    assert 0 < held < result["size"], "the cut must fall in the middle of the upload"
    time.sleep(0.5)
    hub.start()
    wait_until(
        lambda: any(d["body_available"] for d in _case_documents(hub, "C-SCAN-CUT")),
        90,
        "scan on the case after the resumed upload",
    )
    pdf = _download_verified(hub, result["sha256"])
    assert len(pdf) == result["size"]
    agent_bodies = agent.workdir / "data" / "bodies"
    assert not (agent_bodies / f"{result['sha256']}.pending").exists()
    log = (agent.workdir / f"{agent.name}.log").read_text()
    assert "upload interrupted" in log


def _case_page(hub: Hub, case_id: str, lang: str) -> str:
    """The case page as a clinician signed in with ``lang`` in the browser sees it."""
    web = httpx.Client(base_url=hub.url, headers={"Accept-Language": lang}, timeout=20)
    csrf = re.search(r'name="csrf" value="([^"]+)"', web.get("/console/login").text)
    assert csrf, "login form without CSRF token"
    signed_in = web.post(
        "/console/login",
        data={"csrf": csrf.group(1), "name": "clara", "password": "correct horse battery"},
    )
    assert signed_in.status_code == 303, signed_in.text
    page = web.get(f"/console/cases/{case_id}")
    assert page.status_code == 200, page.text
    return page.text


def test_feeder_scan_short_of_the_expected_pages_says_so_at_the_station_and_on_the_case(
    hub: Hub, make_agent: Callable[..., Agent]
) -> None:
    with hub.api() as api:
        r = api.post(
            "/v1/cases",
            json={"case_id": "C-SCAN-P", "patient_id": "1234567890101", "unit_id": UNIT},
        )
        assert r.status_code == 201, r.text
    agent = _scanning_agent(make_agent, hub, "station-pages")
    # SANE test:0's feeder holds 10 sheets; the person said 12 were put in.
    result = _scan(agent, "C-SCAN-P", resolution_dpi=75, expected_pages=12)
    assert (result["pages"], result["expected_pages"]) == (10, 12)
    assert "10 of 12 expected pages" in result["page_count_note"]
    wait_until(
        lambda: [a for a in httpx.get(f"{agent.url}/v1/activity").json()["recent"] if a["note"]],
        10,
        "the scan's page count on the station's page",
    )

    wait_until(lambda: _case_documents(hub, "C-SCAN-P"), 60, "scan listed on the case")
    (doc,) = _case_documents(hub, "C-SCAN-P")
    assert (doc["pages"], doc["expected_pages"]) == (10, 12)
    assert doc["page_count_note"].startswith("10 de 12 páginas esperadas")
    assert "10 of 12 expected pages" in doc["page_count_note"]
    with hub.api() as api:
        (listed,) = api.get("/v1/scans", params={"case_id": "C-SCAN-P"}).json()["items"]
    assert (listed["expected_pages"], listed["page_count_differs"]) == (12, True)

    made = subprocess.run(
        [
            *(sys.executable, "-m", "puente_cli.main", "hub", "user", "add"),
            *("--name", "clara", "--role", "clinician", "--config", str(hub.config)),
        ],
        env={**os.environ, "PUENTE_HUB_USER_PASSWORD": "correct horse battery"},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0, made.stderr
    es = _case_page(hub, "C-SCAN-P", "es")
    assert 'data-pages="differ"' in es and "10 de 12 páginas esperadas" in es
    en = _case_page(hub, "C-SCAN-P", "en")
    assert "10 of 12 expected pages" in en
