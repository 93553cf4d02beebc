"""The station's own key pair: signs what the station attests (confirmations, simple signatures).

The private key never leaves the station. It is the key of the station's
client certificate when one is configured (``tls_key_file``, issued at
enrollment); otherwise an EC P-256 key made on first start in the data dir
(mode 0600), whose public half ops register at the hub.
"""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from edge_agent.private_files import open_private, private_dir

SIGNATURE_ALGORITHM = "ecdsa-p256-sha256"
KEY_FILE = "station-key.pem"


def load_or_create_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The station's EC P-256 key at ``path``, made there (mode 0600) on first use."""
    if not path.exists():
        private_dir(path.parent)
        key = ec.generate_private_key(ec.SECP256R1())
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        with os.fdopen(open_private(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL), "wb") as f:
            f.write(pem)
    loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path} is not an EC key / {path} no es una clave EC")
    return loaded


class StationIdentity:
    def __init__(self, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate | None) -> None:
        self._key = key
        self.certificate = cert

    @classmethod
    def load_or_create(
        cls, data_dir: Path, key_file: Path | None = None, cert_file: Path | None = None
    ) -> StationIdentity:
        cert = None
        if cert_file is not None and cert_file.exists():
            cert = x509.load_pem_x509_certificate(cert_file.read_bytes())
        return cls(load_or_create_key(key_file or data_dir / KEY_FILE), cert)

    def sign(self, data: bytes) -> bytes:
        """DER ECDSA signature over SHA-256 of ``data``."""
        return self._key.sign(data, ec.ECDSA(hashes.SHA256()))

    @property
    def public_key_pem(self) -> str:
        return (
            self._key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    @property
    def public_key_sha256(self) -> bytes:
        """SHA-256 of the public key (DER, SubjectPublicKeyInfo), as the hub names it."""
        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return hashlib.sha256(der).digest()

    @property
    def fingerprint_sha256(self) -> bytes:
        """SHA-256 of the certificate (DER) when there is one, else of the public key (DER)."""
        if self.certificate is not None:
            return self.certificate.fingerprint(hashes.SHA256())
        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return hashlib.sha256(der).digest()
