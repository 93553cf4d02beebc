"""Every file the agent writes is readable only by its user (0600 / 0700), whatever the umask.

A real agent process is started under a permissive umask and used as a station
would: events recorded over gRPC, a page refused and a pairing asked (audit,
pairings), a feeder scan (document body, upload marker), a fingerprint
enrollment with images kept (template cache, its key, WSQ images), and a PDF
submitted for signing (signing jobs and their inputs). Then every path under
its data directory is checked, while it runs (SQLite's -wal/-shm exist) and
after it stopped.
"""

from __future__ import annotations

import stat
from pathlib import Path

import httpx
import pytest

from tests.brokers import Mosquitto
from tests.e2e.conftest import UNIT
from tests.e2e.processes import ORIGIN, Agent, Hub, record_burst, wait_until
from tests.scanning import sane_device
from tests.signing.pdfs import make_pdf

pytestmark = pytest.mark.e2e

HEADERS = {"Origin": ORIGIN, "Content-Type": "application/json"}


def _wider_than_private(root: Path) -> list[str]:
    """Paths under ``root`` (itself included) whose mode is not 0700 (folders) / 0600 (files)."""
    wrong = []
    for path in [root, *sorted(root.rglob("*"))]:
        try:
            info = path.lstat()
        except FileNotFoundError:  # a temporary file renamed meanwhile
            continue
        want = 0o700 if stat.S_ISDIR(info.st_mode) else 0o600
        if stat.S_IMODE(info.st_mode) != want:
            wrong.append(f"{path.relative_to(root.parent)} {oct(stat.S_IMODE(info.st_mode))}")
    return wrong


def _use_the_station(agent: Agent) -> None:
    acknowledged, failed = record_burst(agent, 20, case_id="CASE-PERM")
    assert len(acknowledged) == 20 and failed == 0

    refused = httpx.get(f"{agent.url}/v1/status", headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403  # written to the audit log
    asked = httpx.post(
        f"{agent.url}/v1/pairing/requests",
        json={"app_name": "Telemedicina"},
        headers={"Origin": "https://telemedicina.example", "Content-Type": "application/json"},
    )
    assert asked.status_code == 201, asked.text

    scan = httpx.post(
        f"{agent.url}/v1/scans",
        params={"wait": "true"},
        json={
            "device_id": "scanner-1",
            "case_id": "CASE-PERM",
            "patient_id": "1234567890101",
            "document_type": "external_lab_result",
            "source": "flatbed",
            "resolution_dpi": 75,
        },
        headers=HEADERS,
        timeout=60,
    )
    assert scan.status_code == 201, scan.text

    # The station key is made on first use (edge_agent.identity): ask for it.
    identity = httpx.get(f"{agent.url}/v1/identity", headers=HEADERS, timeout=30)
    assert identity.status_code == 200, identity.text

    enrolled = httpx.post(
        f"{agent.url}/v1/fingerprint/enroll",
        json={
            "device_id": "reader-1",
            "case_id": "CASE-PERM",
            "patient_id": "1234567890101",
            "finger": "LEFT_THUMB",
        },
        headers=HEADERS,
        timeout=60,
    )
    assert enrolled.status_code == 201, enrolled.text

    submitted = httpx.post(
        f"{agent.url}/v1/signing/jobs",
        params={
            "document_type": "CONSTANCIA",
            "case_id": "CASE-PERM",
            "patient_id": "1234567890101",
            "role": "clerk",
            "signature": "simple",
            "user_id": "u-1",
            "user_name": "María López",
        },
        content=make_pdf("Constancia"),
        headers={"Origin": ORIGIN, "Content-Type": "application/pdf"},
        timeout=30,
    )
    assert submitted.status_code == 202, submitted.text


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask-022", "umask-000"])
def test_every_agent_data_file_is_private_whatever_the_umask(
    tmp_path: Path, mosquitto: Mosquitto, hub: Hub, umask: int
) -> None:
    station = f"station-perm-{umask:o}"
    hub.register_station(station, UNIT)
    agent = Agent(
        tmp_path / station,
        station,
        UNIT,
        mosquitto.url,
        devices=[
            {"device_id": "scanner-1", "driver": "sane", "options": sane_device()},
            {"device_id": "reader-1", "driver": "sim.fingerprint", "options": {"seed": 9}},
        ],
        fingerprint={"hub_url": "", "keep_images": True},
    )
    agent.umask = umask
    data = agent.workdir / "data"
    try:
        agent.start()
        _use_the_station(agent)
        wait_until(lambda: agent.outbox_depth() == 0, 30, "outbox drained")
        kinds = {p.name for p in data.iterdir()}
        for expected in (
            "outbox.sqlite3",
            "outbox.sqlite3-wal",
            "pairings.sqlite3",
            "audit.log",
            "station-key.pem",
            "bodies",
            "signing",
            "fp-templates.sqlite3",
            "fp-cache.key",
            "fingerprint-images",
        ):
            assert expected in kinds, f"{expected} not written: the test did not exercise it"
        assert list((data / "bodies").iterdir()), "the scan wrote no document body"
        assert list((data / "signing" / "inputs").iterdir()), "no signing input was kept"
        assert _wider_than_private(data) == []
    finally:
        agent.stop()
    assert _wider_than_private(data) == []
