"""A real test PKI (certomancer): root, intermediate, TSA, OCSP and CRLs served on loopback.

Keys are made here; certomancer issues the certificates and, under
``certomancer animate`` (a real HTTP server in its own process), answers
RFC 3161 timestamp requests, OCSP requests and CRL downloads.

Revocation cases: ``revoked-rsa`` is revoked and names an OCSP responder and a
CRL; ``revoked-crl-rsa`` is revoked and names only a CRL. ``offline-rsa`` (good)
and ``offline-revoked-rsa`` name OCSP/CRL URLs on a second port where no CA
answers until a test calls :meth:`SigningPki.start_offline_ca` (the same
certomancer configuration served there): an unreachable CA that comes back.
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
    "revoked-rsa": ("rsa", "Dr. Raúl Revocado", "2020-01-01", "2100-01-01"),
    "revoked-crl-rsa": ("rsa", "Dra. Clara Revocada", "2020-01-01", "2100-01-01"),
    "offline-rsa": ("rsa", "Dra. Inés Sinred", "2020-01-01", "2100-01-01"),
    "offline-revoked-rsa": ("rsa", "Dr. Óscar Sinred", "2020-01-01", "2100-01-01"),
}
REVOKED_SINCE = "2024-03-01T10:00:00+0000"
# label -> (where its CA answers: "both" | "crl" | "offline", revoked?)
REVOCATION = {
    "revoked-rsa": ("both", True),
    "revoked-crl-rsa": ("crl", True),
    "offline-rsa": ("offline", False),
    "offline-revoked-rsa": ("offline", True),
}
CA_KEYS = ("root", "interm", "tsa", "interm-ocsp")


def _revocation_parts(label: str, offline_prefix: str) -> tuple[str, str]:
    """(the certificate's revocation URLs as extensions, its revocation entry)."""
    mode, revoked = REVOCATION.get(label, ("both", False))
    entry = (
        f"""
    revocation:
      revoked-since: "{REVOKED_SINCE}"
      reason: key_compromise"""
        if revoked
        else ""
    )
    repo = "interm-offline" if mode == "offline" else "interm"
    ocsp = f"""
      - id: authority_information_access
        smart-value:
          schema: aia-urls
          params:
            ocsp-responder-names: [{repo}]"""
    return (
        f"""
      - id: crl_distribution_points
        smart-value:
          schema: crl-dist-url
          params:
            crl-repo-names: [{repo}]{ocsp if mode != "crl" else ""}""",
        entry,
    )


def _signer_cert(label: str, cn: str, start: str, end: str, offline_prefix: str) -> str:
    urls, entry = _revocation_parts(label, offline_prefix)
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
          params: [digital_signature, non_repudiation]{urls}{entry}
"""


def _config(prefix: str, offline_prefix: str) -> str:
    keys = "".join(f"      {k}:\n        path: {k}.key.pem\n" for k in (*CA_KEYS, *SIGNERS))
    entities = "".join(
        f"  {label}:\n    organizational-unit-name: Médicos\n    common-name: {cn}\n"
        for label, (_t, cn, _s, _e) in SIGNERS.items()
    )
    signer_certs = "".join(
        _signer_cert(label, *spec[1:], offline_prefix) for label, spec in SIGNERS.items()
    )
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
        interm-offline:
          for-issuer: interm
          responder-cert: interm-ocsp
          signing-key: interm-ocsp
          external-url-prefix: "{offline_prefix}"
      crl-repo:
        root:
          for-issuer: root
          signing-key: root
          simulated-update-schedule: "P90D"
        interm:
          for-issuer: interm
          signing-key: interm
          simulated-update-schedule: "P30D"
        interm-offline:
          for-issuer: interm
          signing-key: interm
          simulated-update-schedule: "P30D"
          external-url-prefix: "{offline_prefix}"
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
    offline_port: int = 0  # where the "offline" signers' CA answers once started
    proc: subprocess.Popen[bytes] | None = None
    offline_proc: subprocess.Popen[bytes] | None = None

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

    def _animate(self, port: int) -> subprocess.Popen[bytes]:
        log = open(self.root / "certomancer.log", "ab")  # noqa: SIM115 - lives with the process
        proc = subprocess.Popen(
            [
                os.path.join(os.path.dirname(sys.executable), "certomancer"),
                "--config", str(self.config_path), "animate", "--port", str(port),
                "--no-web-ui",
            ],
            stdout=log, stderr=log, cwd=self.root,
        )  # fmt: skip
        try:
            wait_port(port, 30)
        except Exception as exc:
            _end(proc)
            raise RuntimeError("certomancer animate did not start:\n" + self.log_tail()) from exc
        return proc

    def start(self) -> SigningPki:
        """Serve TSA, OCSP and CRLs (``certomancer animate``) on the loopback port."""
        self.proc = self._animate(self.port)
        return self

    def stop(self) -> None:
        _end(self.proc)
        self.proc = None

    def start_offline_ca(self) -> None:
        """The "offline" signers' CA comes back: the same PKI answers on ``offline_port``."""
        self.offline_proc = self._animate(self.offline_port)

    def stop_offline_ca(self) -> None:
        _end(self.offline_proc)
        self.offline_proc = None

    def log_tail(self) -> str:
        path = self.root / "certomancer.log"
        return path.read_text(errors="replace")[-3000:] if path.exists() else ""


def _end(proc: subprocess.Popen[bytes] | None) -> None:
    if proc is not None and proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


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
    offline_port = free_port()
    config.write_text(_config(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{offline_port}"))
    cfg = CertomancerConfig.from_file(str(config), key_search_dir=str(root))
    arch = cfg.get_pki_arch(ArchLabel(ARCH))
    certs = {label: arch.get_cert(CertLabel(label)).dump() for label in (*CA_KEYS, *SIGNERS)}
    return SigningPki(root, port, certs, keys, offline_port)
