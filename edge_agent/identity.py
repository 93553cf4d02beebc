"""The station's own key pair: signs what the station attests (confirmations, simple signatures).

The private key never leaves the station. It is the key of the station's
client certificate when one is configured (``tls_key_file``, issued at
enrollment); otherwise an EC P-256 key made in the data dir (mode 0600) the
first time it is needed (a signature, or its public half, which ops register
at the hub).

The key and certificate are made or parsed (with cryptography, ~10 MB
resident) on first use, not at start: an idle agent does not carry
cryptography. A key file that is there but is not a PEM private key still
stops the start.
"""

from __future__ import annotations

import hashlib
import os
import threading
from pathlib import Path
from typing import TYPE_CHECKING

from edge_agent.private_files import open_private, private_dir

if TYPE_CHECKING:
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

SIGNATURE_ALGORITHM = "ecdsa-p256-sha256"
KEY_FILE = "station-key.pem"


def _create_key(path: Path) -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    private_dir(path.parent)
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    with os.fdopen(open_private(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL), "wb") as f:
        f.write(pem)


def _parse_key(pem: bytes, path: Path) -> ec.EllipticCurvePrivateKey:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    loaded = serialization.load_pem_private_key(pem, password=None)
    if not isinstance(loaded, ec.EllipticCurvePrivateKey):
        raise ValueError(f"{path} is not an EC key / {path} no es una clave EC")
    return loaded


def load_or_create_key(path: Path) -> ec.EllipticCurvePrivateKey:
    """The station's EC P-256 key at ``path``, made there (mode 0600) on first use."""
    if not path.exists():
        _create_key(path)
    return _parse_key(path.read_bytes(), path)


class StationIdentity:
    def __init__(
        self,
        key: ec.EllipticCurvePrivateKey | None,
        cert: x509.Certificate | None,
        *,
        key_pem: bytes = b"",
        key_path: Path | None = None,
        cert_pem: bytes | None = None,
    ) -> None:
        self._key_obj = key
        self._cert_obj = cert
        self._key_pem = key_pem
        self._key_path = key_path or Path(KEY_FILE)
        self._cert_pem = cert_pem
        self._lock = threading.Lock()

    @classmethod
    def load_or_create(
        cls, data_dir: Path, key_file: Path | None = None, cert_file: Path | None = None
    ) -> StationIdentity:
        path = key_file or data_dir / KEY_FILE
        pem = b""
        if path.exists():
            pem = path.read_bytes()
            if b"PRIVATE KEY-----" not in pem:
                raise ValueError(f"{path} is not a PEM private key / {path} no es una clave PEM")
        cert_pem = None
        if cert_file is not None and cert_file.exists():
            cert_pem = cert_file.read_bytes()
        return cls(None, None, key_pem=pem, key_path=path, cert_pem=cert_pem)

    @property
    def _key(self) -> ec.EllipticCurvePrivateKey:
        with self._lock:
            if self._key_obj is None:
                if not self._key_pem:
                    self._key_obj = load_or_create_key(self._key_path)
                else:
                    self._key_obj = _parse_key(self._key_pem, self._key_path)
            return self._key_obj

    @property
    def certificate(self) -> x509.Certificate | None:
        with self._lock:
            if self._cert_obj is None and self._cert_pem is not None:
                from cryptography import x509

                self._cert_obj = x509.load_pem_x509_certificate(self._cert_pem)
            return self._cert_obj

    def sign(self, data: bytes) -> bytes:
        """DER ECDSA signature over SHA-256 of ``data``."""
        from cryptography.hazmat.primitives import hashes
        from cryptography.hazmat.primitives.asymmetric import ec

        return self._key.sign(data, ec.ECDSA(hashes.SHA256()))

    @property
    def public_key_pem(self) -> str:
        from cryptography.hazmat.primitives import serialization

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
        from cryptography.hazmat.primitives import serialization

        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return hashlib.sha256(der).digest()

    @property
    def fingerprint_sha256(self) -> bytes:
        """SHA-256 of the certificate (DER) when there is one, else of the public key (DER)."""
        from cryptography.hazmat.primitives import hashes, serialization

        certificate = self.certificate
        if certificate is not None:
            return certificate.fingerprint(hashes.SHA256())
        der = self._key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        return hashlib.sha256(der).digest()
