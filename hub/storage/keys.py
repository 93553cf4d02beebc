"""Station public keys: parse a PEM and name it by the SHA-256 of its DER form."""

from __future__ import annotations

import hashlib

from cryptography.hazmat.primitives import serialization


class BadPublicKey(ValueError):
    """Not a PEM public key."""


def public_key_sha256(public_key_pem: str) -> str:
    try:
        key = serialization.load_pem_public_key(public_key_pem.encode())
    except (ValueError, TypeError) as exc:
        raise BadPublicKey(
            "public_key_pem is not a PEM public key / public_key_pem no es una clave pública PEM"
        ) from exc
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()
