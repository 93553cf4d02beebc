"""Enrollment of this PC as a station: key made here, CSR to the hub, certificate and config back.

The private key is generated (or reused) in the data dir with mode 0600 and
never leaves the PC; only the CSR (public key + proof of possession) travels.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from edge_agent.identity import KEY_FILE, load_or_create_key
from edge_agent.private_files import write_private
from edge_agent.remote_config import APPLIED_FILE, write_pinned_key

CERT_FILE = "station-cert.pem"
BROKER_CA_FILE = "broker-ca.pem"


class EnrollmentError(Exception):
    def __init__(self, code: str, reason: str) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class Enrolled:
    station_id: str
    unit_id: str
    broker_url: str
    config_file: Path
    certificate_not_after: str


def _station_key(path: Path) -> ec.EllipticCurvePrivateKey:
    try:
        return load_or_create_key(path)
    except ValueError as exc:
        raise EnrollmentError("bad_key", str(exc)) from exc


def make_csr(key: ec.EllipticCurvePrivateKey) -> str:
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "puente-station")]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM).decode()


def _toml(values: dict[str, Any]) -> str:
    def value(v: Any) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        if isinstance(v, int | float):
            return repr(v)
        return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'

    return "".join(f"{k} = {value(v)}\n" for k, v in values.items())


def enroll(
    hub_url: str,
    code: str,
    data_dir: Path,
    config_file: Path,
    hub_ca: Path | None = None,
    extra_settings: dict[str, Any] | None = None,
    timeout_s: float = 30.0,
) -> Enrolled:
    """Enroll with ``code``; write the certificate, CA, pinned config key and agent TOML."""
    data_dir = data_dir.resolve()
    key = _station_key(data_dir / KEY_FILE)
    verify: bool | str = str(hub_ca) if hub_ca else True
    try:
        response = httpx.post(
            hub_url.rstrip("/") + "/v1/enroll",
            json={"code": code, "csr_pem": make_csr(key)},
            timeout=timeout_s,
            verify=verify,
        )
    except httpx.HTTPError as exc:
        raise EnrollmentError("hub_unreachable", f"{hub_url}: {exc}") from exc
    if response.status_code != 200:
        try:
            problem = response.json()
        except ValueError:
            problem = {}
        raise EnrollmentError(
            str(problem.get("code", f"http_{response.status_code}")),
            str(problem.get("detail", response.text[:300])),
        )
    body = response.json()
    cert = x509.load_pem_x509_certificate(body["certificate_pem"].encode())
    own = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    issued_for = cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if own != issued_for:
        raise EnrollmentError("wrong_key", "certificate is not for this key / otro certificado")
    write_private(data_dir / CERT_FILE, body["certificate_pem"].encode())
    write_private(data_dir / BROKER_CA_FILE, body["ca_pem"].encode())
    write_pinned_key(data_dir, body["config_public_key_pem"])
    if body.get("config"):
        write_private(data_dir / APPLIED_FILE, body["config"].encode())
    values: dict[str, Any] = {
        "station_id": body["station_id"],
        "unit_id": body["unit_id"],
        "data_dir": str(data_dir),
        "broker_url": body["broker_url"],
        "tls_ca_file": str(data_dir / BROKER_CA_FILE),
        "tls_cert_file": str(data_dir / CERT_FILE),
        "tls_key_file": str(data_dir / KEY_FILE),
    }
    values.update(extra_settings or {})
    config_file.parent.mkdir(parents=True, exist_ok=True)
    config_file.write_text(_toml(values))
    return Enrolled(
        body["station_id"],
        body["unit_id"],
        body["broker_url"],
        config_file,
        cert.not_valid_after_utc.isoformat(),
    )
