"""Choosing the signing certificate: the connected tokens, the one certificate named (or the only
one there is), and the trust roots and intermediates read once from the configured files."""

from __future__ import annotations

from pathlib import Path
from typing import cast

from drivers.token.base import FAMILY, CertificateInfo, SigningToken, TokenAbsent
from edge_agent.capabilities.signing.errors import from_token_error
from edge_agent.devices import DeviceManager
from edge_agent.errors import InvalidInput


class CertificateFiles:
    """Certificate files read at start (a missing one fails then), parsed to DER on first use.

    Parsing needs cryptography, which an idle agent does not otherwise load.
    """

    def __init__(self, paths: list[Path]) -> None:
        self._files = [path.read_bytes() for path in paths]
        self._der: list[bytes] | None = None

    def der(self) -> list[bytes]:
        if self._der is None:
            self._der = _load_certs(self._files)
        return self._der


def _load_certs(files: list[bytes]) -> list[bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    out = []
    for data in files:
        if b"-----BEGIN" in data:
            out += [
                c.public_bytes(serialization.Encoding.DER)
                for c in x509.load_pem_x509_certificates(data)
            ]
        else:
            out.append(data)
    return out


def token_devices(devices: DeviceManager) -> list[tuple[str, SigningToken]]:
    out: list[tuple[str, SigningToken]] = []
    for info in devices.list():
        if info.family != FAMILY:
            continue
        device = devices.device(info.device_id)
        if device is not None:
            out.append((info.device_id, cast(SigningToken, device)))  # the family says so
    return out


def token(devices: DeviceManager, device_id: str) -> SigningToken:
    device = devices.device(device_id)
    if device is None:
        raise from_token_error(TokenAbsent())
    return device  # type: ignore[return-value]  # a token device id: the catalogue's family says so


def find_certificate(
    devices: DeviceManager, cert_id: str | None
) -> tuple[str, SigningToken, CertificateInfo]:
    """The certificate ``cert_id`` on a connected token, or the only one when none is named."""
    candidates = []
    tokens = token_devices(devices)
    for device_id, signing_token in tokens:
        for cert in signing_token.certificates():
            if cert_id in (None, "", cert.cert_id):
                candidates.append((device_id, signing_token, cert))
    if not candidates:
        if cert_id:
            if not any(t.tokens() for _, t in tokens):
                raise from_token_error(TokenAbsent())
            raise InvalidInput(
                f"no certificate {cert_id!r} on the connected tokens / "
                f"no hay un certificado {cert_id!r} en los tokens conectados",
                code="certificate_not_found",
            )
        raise from_token_error(TokenAbsent())
    if len(candidates) > 1 and not cert_id:
        raise InvalidInput(
            "several certificates are available: name one with cert_id / "
            "hay varios certificados: indique cert_id",
            code="certificate_ambiguous",
        )
    return candidates[0]


def common_name(der: bytes) -> str:
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()
