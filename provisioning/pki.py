"""The station CA: a key and self-signed certificate on the hub, issuing certificates from CSRs.

Stations get client certificates whose subject CN is the station id (the broker
uses it as the MQTT username) and OU the unit; the broker gets a server
certificate; the hub's own MQTT clients get ``hub:<name>`` identities, which no
station id can equal. Revocations are published as a CRL the broker loads.
"""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from provisioning.errors import BadCsr
from provisioning.registry import SERVICE_PREFIX

_BACKDATE = timedelta(minutes=5)  # tolerate station clocks a little behind


def write_private(path: Path, pem: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)


def key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def identity_of(cert: x509.Certificate) -> str:
    """The MQTT identity a certificate carries (its subject CN)."""
    values = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(values[0].value) if values else ""


@dataclass(frozen=True)
class Issued:
    certificate: x509.Certificate

    @property
    def serial_hex(self) -> str:
        return format(self.certificate.serial_number, "x")

    @property
    def not_after(self) -> datetime:
        return self.certificate.not_valid_after_utc

    @property
    def pem(self) -> bytes:
        return cert_pem(self.certificate)


class StationCA:
    """Files in ``directory``: ``ca.pem`` (public) and ``ca-key.pem`` (0600)."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
        self.key = key
        self.certificate = cert

    @classmethod
    def create(
        cls,
        directory: Path,
        name: str = "Puente station CA",
        days: int = 3650,
        now: datetime | None = None,
    ) -> StationCA:
        now = now or datetime.now(UTC)
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        cert = (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(subject)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(False, False, False, False, False, True, True, False, False),
                critical=True,
            )
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
            .sign(key, hashes.SHA256())
        )
        write_private(directory / "ca-key.pem", key_pem(key))
        (directory / "ca.pem").write_bytes(cert_pem(cert))
        return cls(key, cert)

    @classmethod
    def load(cls, directory: Path) -> StationCA:
        key = serialization.load_pem_private_key((directory / "ca-key.pem").read_bytes(), None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the CA key must be EC / la clave de la CA debe ser EC")
        cert = x509.load_pem_x509_certificate((directory / "ca.pem").read_bytes())
        return cls(key, cert)

    @classmethod
    def load_or_create(cls, directory: Path) -> StationCA:
        if (directory / "ca.pem").exists():
            return cls.load(directory)
        return cls.create(directory)

    @property
    def pem(self) -> bytes:
        return cert_pem(self.certificate)

    # -- issuing ---------------------------------------------------------------------
    def _builder(
        self,
        subject: x509.Name,
        public_key: CertificatePublicKeyTypes,
        days: int,
        now: datetime | None,
    ) -> x509.CertificateBuilder:
        now = now or datetime.now(UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self.certificate.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + timedelta(days=days))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_public_key(self.key.public_key()), False
            )
        )

    def sign_csr(
        self,
        csr_pem: bytes,
        station_id: str,
        unit_id: str,
        days: int = 825,
        now: datetime | None = None,
    ) -> Issued:
        """A client certificate for ``station_id`` over the CSR's key.

        The CSR only proves possession of the key; its subject is ignored and replaced by
        the registry's identity, so a CSR cannot claim another station.
        """
        try:
            csr = x509.load_pem_x509_csr(csr_pem)
        except ValueError as exc:
            raise BadCsr("not a PEM certificate request / no es una solicitud PEM") from exc
        if not csr.is_signature_valid:
            raise BadCsr("the CSR signature is invalid / la firma de la solicitud no es válida")
        key = csr.public_key()
        if isinstance(key, ec.EllipticCurvePublicKey):
            if key.curve.name not in ("secp256r1", "secp384r1"):
                raise BadCsr(f"curve {key.curve.name} not accepted / curva no aceptada")
        elif isinstance(key, rsa.RSAPublicKey):
            if key.key_size < 2048:
                raise BadCsr("RSA keys must be ≥ 2048 bits / las claves RSA deben ser ≥ 2048 bits")
        else:
            raise BadCsr("only EC or RSA keys / solo claves EC o RSA")
        subject = x509.Name(
            [
                x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, unit_id),
                x509.NameAttribute(NameOID.COMMON_NAME, station_id),
            ]
        )
        cert = (
            self._builder(subject, key, days, now)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), False)
            .add_extension(
                x509.KeyUsage(True, False, False, False, False, False, False, False, False), True
            )
            .sign(self.key, hashes.SHA256())
        )
        return Issued(cert)

    def issue_key_pair(
        self,
        common_name: str,
        days: int = 825,
        server_names: list[str] | None = None,
        now: datetime | None = None,
    ) -> tuple[bytes, Issued]:
        """A key made here and its certificate: for the broker (server) or a hub client."""
        key = ec.generate_private_key(ec.SECP256R1())
        subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
        builder = self._builder(subject, key.public_key(), days, now)
        if server_names:
            sans: list[x509.GeneralName] = []
            for name in server_names:
                try:
                    sans.append(x509.IPAddress(ipaddress.ip_address(name)))
                except ValueError:
                    sans.append(x509.DNSName(name))
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), False)
            eku = [ExtendedKeyUsageOID.SERVER_AUTH]
        else:
            eku = [ExtendedKeyUsageOID.CLIENT_AUTH]
        cert = builder.add_extension(x509.ExtendedKeyUsage(eku), False).sign(
            self.key, hashes.SHA256()
        )
        return key_pem(key), Issued(cert)

    def issue_service(self, name: str, days: int = 825) -> tuple[bytes, Issued]:
        """A client certificate for one of the hub's own MQTT clients (``hub:<name>``)."""
        return self.issue_key_pair(f"{SERVICE_PREFIX}{name}", days)

    def crl(
        self,
        revoked: list[tuple[int, datetime]],
        now: datetime | None = None,
        next_update_days: int = 30,
    ) -> bytes:
        """The CRL in PEM: ``revoked`` is (serial number, revocation time)."""
        now = now or datetime.now(UTC)
        builder = (
            x509.CertificateRevocationListBuilder()
            .issuer_name(self.certificate.subject)
            .last_update(now - _BACKDATE)
            .next_update(now + timedelta(days=next_update_days))
        )
        for serial, at in revoked:
            builder = builder.add_revoked_certificate(
                x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(at).build()
            )
        crl = builder.sign(self.key, hashes.SHA256())
        return crl.public_bytes(serialization.Encoding.PEM)


def make_csr(key: ec.EllipticCurvePrivateKey, name: str = "puente-station") -> bytes:
    """A CSR over ``key`` (the subject is a placeholder: the CA sets the identity)."""
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)]))
        .sign(key, hashes.SHA256())
    )
    return csr.public_bytes(serialization.Encoding.PEM)
