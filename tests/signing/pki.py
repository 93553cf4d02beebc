"""A real test PKI (certomancer): root, intermediate, TSA, OCSP and CRLs served on loopback.

Keys are made here; certomancer issues the certificates and, under
``certomancer animate`` (a real HTTP server in its own process), answers
RFC 3161 timestamp requests, OCSP requests and CRL downloads.
"""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from tests.brokers import free_port, wait_port

ARCH = "puente-test"
PIN = "246810"
WRONG_PIN = "999999"

# Signers on the tokens: label -> (key type, common name, valid-from, valid-to)
SIGNERS = {
    "doctor-rsa": ("rsa", "Dra. Ana Pérez", "2020-01-01", "2100-01-01"),
    "director-ec": ("ec", "Dr. Luis Gómez", "2020-01-01", "2100-01-01"),
    "doctor-ec": ("ec", "Dra. Sofía Ramos", "2020-01-01", "2100-01-01"),
    "director-rsa": ("rsa", "Dr. Carlos Díaz", "2020-01-01", "2100-01-01"),
    "expired-rsa": ("rsa", "Dr. Pedro Vencido", "2020-01-01", "2022-01-01"),
}
CA_KEYS = ("root", "interm", "tsa", "interm-ocsp")


def _signer_cert(label: str, cn: str, start: str, end: str) -> str:
    return f"""
  {label}:
    subject: {label}
    issuer: interm
    validity:
      valid-from: "{start}T00:00:00+0000"
      valid-to: "{end}T00:00:00+0000"
    extensions:
      - id: key_usage
        critical: true
        smart-value:
          schema: key-usage
          params: [digital_signature, non_repudiation]
      - id: crl_distribution_points
        smart-value:
          schema: crl-dist-url
          params:
            crl-repo-names: [interm]
      - id: authority_information_access
        smart-value:
          schema: aia-urls
          params:
            ocsp-responder-names: [interm]
"""


def _config(prefix: str) -> str:
    keys = "".join(f"      {k}:\n        path: {k}.key.pem\n" for k in (*CA_KEYS, *SIGNERS))
    entities = "".join(
        f"  {label}:\n    organizational-unit-name: Médicos\n    common-name: {cn}\n"
        for label, (_t, cn, _s, _e) in SIGNERS.items()
    )
    signer_certs = "".join(_signer_cert(label, *spec[1:]) for label, spec in SIGNERS.items())
    return f"""external-url-prefix: "{prefix}"
keysets:
  {ARCH}:
    path-prefix: keys
    keys:
{keys}
pki-architectures:
  {ARCH}:
    keyset: {ARCH}
    entity-defaults:
      country-name: GT
      organization-name: Puente Test PKI
    entities:
      root:
        common-name: Puente Test Root CA
      interm:
        common-name: Puente Test Issuing CA
      tsa:
        common-name: Puente Test TSA
      interm-ocsp:
        common-name: Puente Test OCSP
{entities.replace(chr(10) + "  ", chr(10) + "      ").replace("  ", "      ", 1)}
    certs:
      root:
        subject: root
        issuer: root
        validity:
          valid-from: "2000-01-01T00:00:00+0000"
          valid-to: "2500-01-01T00:00:00+0000"
        extensions:
          - id: basic_constraints
            critical: true
            value:
              ca: true
          - id: key_usage
            critical: true
            smart-value:
              schema: key-usage
              params: [digital_signature, key_cert_sign, crl_sign]
      interm:
        issuer: root
        validity:
          valid-from: "2000-01-01T00:00:00+0000"
          valid-to: "2400-01-01T00:00:00+0000"
        extensions:
          - id: basic_constraints
            critical: true
            value:
              ca: true
              path-len-constraint: 0
          - id: key_usage
            critical: true
            smart-value:
              schema: key-usage
              params: [digital_signature, key_cert_sign, crl_sign]
          - id: crl_distribution_points
            smart-value:
              schema: crl-dist-url
              params: {{crl-repo-names: [root]}}
      interm-ocsp:
        issuer: interm
        validity:
          valid-from: "2000-01-01T00:00:00+0000"
          valid-to: "2400-01-01T00:00:00+0000"
        extensions:
          - id: key_usage
            critical: true
            smart-value:
              schema: key-usage
              params: [digital_signature]
          - id: extended_key_usage
            critical: true
            value: [ocsp_signing]
          - id: ocsp_no_check
      tsa:
        issuer: root
        validity:
          valid-from: "2000-01-01T00:00:00+0000"
          valid-to: "2400-01-01T00:00:00+0000"
        extensions:
          - id: key_usage
            critical: true
            smart-value:
              schema: key-usage
              params: [digital_signature]
          - id: extended_key_usage
            critical: true
            value: [time_stamping]
          - id: crl_distribution_points
            smart-value:
              schema: crl-dist-url
              params: {{crl-repo-names: [root]}}
{"".join("    " + line + chr(10) if line else chr(10) for line in signer_certs.splitlines())}
    services:
      ocsp:
        interm:
          for-issuer: interm
          responder-cert: interm-ocsp
          signing-key: interm-ocsp
      crl-repo:
        root:
          for-issuer: root
          signing-key: root
          simulated-update-schedule: "P90D"
        interm:
          for-issuer: interm
          signing-key: interm
          simulated-update-schedule: "P30D"
      cert-repo:
        root:
          for-issuer: root
          publish-issued-certs: yes
        interm:
          for-issuer: interm
          publish-issued-certs: yes
      time-stamping:
        tsa:
          signing-key: tsa
          signing-cert: tsa
"""


def _key_pem(kind: str) -> bytes:
    key: rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey
    key = (
        ec.generate_private_key(ec.SECP256R1())
        if kind == "ec"
        else rsa.generate_private_key(65537, 2048)
    )
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@dataclass
class SigningPki:
    root: Path
    port: int
    certs: dict[str, bytes]  # label -> DER
    keys: dict[str, bytes]  # label -> PEM
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def tsa_url(self) -> str:
        return f"{self.url}/{ARCH}/tsa/tsa"

    @property
    def root_pem(self) -> bytes:
        return pem(self.certs["root"])

    @property
    def config_path(self) -> Path:
        return self.root / "certomancer.yml"

    def start(self) -> SigningPki:
        """Serve TSA, OCSP and CRLs (``certomancer animate``) on the loopback port."""
        log = open(self.root / "certomancer.log", "ab")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(
            [
                os.path.join(os.path.dirname(sys.executable), "certomancer"),
                "--config", str(self.config_path), "animate", "--port", str(self.port),
                "--no-web-ui",
            ],
            stdout=log, stderr=log, cwd=self.root,
        )  # fmt: skip
        try:
            wait_port(self.port, 30)
        except Exception as exc:
            self.stop()
            raise RuntimeError("certomancer animate did not start:\n" + self.log_tail()) from exc
        return self

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self.proc = None

    def log_tail(self) -> str:
        path = self.root / "certomancer.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def pem(der: bytes) -> bytes:
    from cryptography import x509

    return x509.load_der_x509_certificate(der).public_bytes(serialization.Encoding.PEM)


def make_pki(root: Path, port: int | None = None) -> SigningPki:
    """Make keys and certificates (not yet served: call ``start()``)."""
    from certomancer.registry import ArchLabel, CertLabel, CertomancerConfig

    root.mkdir(parents=True, exist_ok=True)
    port = port or free_port()
    (root / "keys").mkdir(exist_ok=True)
    keys: dict[str, bytes] = {}
    for label in CA_KEYS:
        keys[label] = _key_pem("rsa")
    for label, spec in SIGNERS.items():
        keys[label] = _key_pem(spec[0])
    for label, pem in keys.items():
        (root / "keys" / f"{label}.key.pem").write_bytes(pem)
    config = root / "certomancer.yml"
    config.write_text(_config(f"http://127.0.0.1:{port}"))
    cfg = CertomancerConfig.from_file(str(config), key_search_dir=str(root))
    arch = cfg.get_pki_arch(ArchLabel(ARCH))
    certs = {label: arch.get_cert(CertLabel(label)).dump() for label in (*CA_KEYS, *SIGNERS)}
    return SigningPki(root, port, certs, keys)
