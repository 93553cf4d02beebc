"""A started agent carries no capability's heavy library until that capability is first used.

Structural, not timed: a fresh interpreter constructs and starts the agent (every
capability configured: signing with trust roots, fingerprint and body upload
with a hub URL, a simulated monitor) and reports which modules it imported.
The figures (RSS against the bare-imports floor) are in ``bench/ingest.py``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

HEAVY = (
    "cryptography",
    "httpx",
    "rich",
    "pyhanko",
    "pyhanko_certvalidator",
    "numpy",
    "PIL",
    "img2pdf",
    "hl7",
)

_SCRIPT = """
import json, sys, time
from pathlib import Path
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings

data = Path(sys.argv[1])
root = data.parent / "root.pem"
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
    devices=[{"device_id": "monitor-1", "driver": "sim.monitor", "options": {"interval_s": 0.05}}],
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


def test_starting_the_agent_loads_no_capability_library(tmp_path: Path) -> None:
    _root_pem(tmp_path / "root.pem")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    proc = subprocess.Popen(
        [sys.executable, "-c", _SCRIPT, str(tmp_path / "agent")],
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
        # First use of a capability that needs one of them still works, and loads it then.
        response = httpx.get(
            f"{first['url']}/v1/identity",
            headers={"Origin": "https://medi.igss.example"},
            timeout=20,
        )
        assert response.status_code == 200, response.text
        assert "BEGIN PUBLIC KEY" in response.json()["public_key_pem"]
        proc.stdin.write("\n")
        proc.stdin.flush()
        after = json.loads(proc.stdout.readline())
        assert "cryptography" in after["loaded"]
    finally:
        if proc.poll() is None:
            proc.terminate()
        proc.wait(30)
