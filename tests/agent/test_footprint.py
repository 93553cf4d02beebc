"""A started agent carries no capability's heavy library until that capability is first used.

Structural, not timed: a fresh interpreter constructs and starts the agent (every
capability configured: signing with trust roots, fingerprint and body upload
with a hub URL, a simulated monitor, a simulated fingerprint reader, the SANE
``test`` scanner, a PKCS#11 reader with no card) and reports which modules it
imported; then the first call of each capability (identity, a simple signature
job, a scan, a fingerprint enrollment, a pharmacy scan) answers as it should and
loads its library then.
The agent's service process (``python -m puente_cli.agent``, what ``puente agent``
becomes) is also checked, through ``-X importtime``, for the hub's CLI, typer, rich and
prometheus_client (imported by the first ``/metrics`` scrape). The figures (RSS and ready time
against the bare floors) are in ``bench/agent_idle.py``.
"""

from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from drivers.token.sim import SoftHsm
from tests.e2e.processes import Agent
from tests.scanning import sane_device
from tests.signing.pdfs import make_pdf

HEAVY = (
    "cryptography",
    "httpx",
    "rich",
    "pyhanko",
    "pyhanko_certvalidator",
    "numpy",
    "scipy",
    "PIL",
    "img2pdf",
    "hl7",
    "biip",
    "websockets",
)
# What the first call of each capability loads (checked after the calls below).
FIRST_USE = ("cryptography", "pyhanko", "PIL", "img2pdf", "numpy", "biip")
ORIGIN = "https://medi.igss.example"
CASE = {"case_id": "C-2025-7", "patient_id": "1234567890101"}

_SCRIPT = """
import json, sys, time
from pathlib import Path
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings

data = Path(sys.argv[1])
root = data.parent / "root.pem"
more_devices = json.loads(sys.argv[2])
settings = AgentSettings(
    station_id="st-1",
    unit_id="unit-1",
    data_dir=data,
    broker_url="mqtt://127.0.0.1:9",
    http_port=0,
    grpc_port=0,
    allowed_origins=["https://medi.igss.example"],
    hub_url="http://127.0.0.1:9",
    signing={"trust_roots": [str(root)]},
    fingerprint={"hub_url": "http://127.0.0.1:9"},
    devices=[
        {"device_id": "monitor-1", "driver": "sim.monitor", "options": {"interval_s": 0.05}},
        {"device_id": "reader-1", "driver": "sim.fingerprint", "options": {"seed": 9}},
        *more_devices,
    ],
    device_poll_s=30,
)
agent = AgentService(settings)
agent.start()
assert agent.wait_ready(20)
time.sleep(0.5)
loaded = sorted({m.split(".")[0] for m in sys.modules})
print(json.dumps({"url": agent.http_url, "loaded": loaded}), flush=True)
sys.stdin.readline()
print(json.dumps({"loaded": sorted({m.split(".")[0] for m in sys.modules})}), flush=True)
agent.stop()
"""


def _root_pem(path: Path) -> None:
    """A self-signed CA certificate, as a configured signing trust root."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Footprint test root")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))


def _first_calls(url: str) -> None:
    """The first call of each capability, each answered as on a warm agent."""
    local = httpx.Client(base_url=url, headers={"Origin": ORIGIN}, timeout=60)
    response = local.get("/v1/identity")
    assert response.status_code == 200, response.text
    assert "BEGIN PUBLIC KEY" in response.json()["public_key_pem"]

    job = local.post(
        "/v1/signing/jobs",
        json={
            **CASE,
            "document_type": "CONSTANCIA",
            "role": "clerk",
            "signature": "simple",
            "user": {"user_id": "clerk-1", "name": "Ana López"},
            "pdf_base64": base64.b64encode(make_pdf("Constancia")).decode(),
        },
    )
    assert job.status_code == 202, job.text  # the PDF was parsed (pyHanko): awaits consent
    assert job.json()["status"] == "awaiting_consent"

    scan = local.post(
        "/v1/scans",
        params={"wait": "true"},
        json={**CASE, "document_type": "external_lab_result", "device_id": "scanner-1"},
    )
    assert scan.status_code == 201, scan.text
    assert scan.json()["state"] == "done" and scan.json()["pages_scanned"] == 1

    enroll = local.post(
        "/v1/fingerprint/enroll", json={**CASE, "device_id": "reader-1", "finger": "RIGHT_INDEX"}
    )
    assert enroll.status_code == 201, enroll.text

    session = local.post(
        "/v1/pharmacy/sessions",
        json={
            **CASE,
            "prescription_id": "rx-1",
            "lines": [{"product_code": "07501031311309", "quantity": 1, "duration_days": 3}],
            "pharmacist_id": "farm-9",
        },
    )
    assert session.status_code == 201, session.text
    sid = session.json()["session_id"]
    pack = "]d2" + "0107501031311309" + "17301231" + "10L-1\x1d" + "21SN-1"
    scanned = local.post(f"/v1/pharmacy/sessions/{sid}/scans", json={"raw": pack})
    # Parsed (GTIN, expiry, lot, serial) and looked up: not in this station's empty catalogue.
    assert scanned.json()["code"] == "unknown_item", scanned.text


def test_starting_the_agent_loads_no_capability_library(tmp_path: Path) -> None:
    _root_pem(tmp_path / "root.pem")
    hsm = SoftHsm(tmp_path / "softhsm")  # a token reader with no card in it
    env = {
        **os.environ,
        "PYTHONPATH": str(Path(__file__).parents[2]),
        "SOFTHSM2_CONF": str(hsm.conf),
    }
    devices = [
        {"device_id": "scanner-1", "driver": "sane", "options": sane_device()},
        {"device_id": "token-1", "driver": "pkcs11", "options": {"module": hsm.module}},
    ]
    proc = subprocess.Popen(
        [sys.executable, "-c", _SCRIPT, str(tmp_path / "agent"), json.dumps(devices)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        first = json.loads(proc.stdout.readline())
        heavy = sorted(set(HEAVY) & set(first["loaded"]))
        assert heavy == [], f"imported at start: {heavy}"
        # The first use of each capability still works, and loads its library then.
        _first_calls(first["url"])
        proc.stdin.write("\n")
        proc.stdin.flush()
        after = json.loads(proc.stdout.readline())
        assert sorted(set(FIRST_USE) - set(after["loaded"])) == []
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(30)


def _imported(log: Path) -> set[str]:
    """Top-level packages a process imported so far, from its ``-X importtime`` lines."""
    names = re.findall(r"^import time:\s+\d+ \|\s+\d+ \|\s+(\S+)", log.read_text(), re.M)
    return {name.split(".")[0] for name in names}


def test_agent_process_imports_neither_the_hub_nor_the_cli_nor_a_capability_library(
    tmp_path: Path,
) -> None:
    agent = Agent(
        tmp_path,
        "st-cli",
        "unit-1",
        "mqtt://127.0.0.1:9",
        allowed_origins=[ORIGIN],
        hub_url="http://127.0.0.1:9",
        fingerprint={"hub_url": "http://127.0.0.1:9"},
    )
    agent.env = {"PYTHONPROFILEIMPORTTIME": "1"}
    agent.start()
    try:
        time.sleep(0.5)
        loaded = _imported(tmp_path / "agent-st-cli.log")
        assert {"edge_agent", "fastapi", "grpclib"} <= loaded  # the log is read right
        assert "grpc" not in loaded  # the gRPC door serves with grpclib; grpcio is for clients
        unwanted = sorted(
            loaded & {*HEAVY, "hub", "typer", "rich", "prometheus_client", "pydantic_settings"}
        )
        assert unwanted == [], f"puente agent imported at start: {unwanted}"
        assert agent.status()["station_id"] == "st-cli"
    finally:
        agent.stop()
