"""The signed station config the hub publishes retained on each station's ``config`` topic.

Wire form (JSON): ``{"body": b64(JSON), "signature": b64(DER ECDSA P-256 SHA-256 over the
body bytes), "key_sha256": hex}``. The body says ``station_id``, ``unit_id``, a
``version`` that only grows, ``issued_at`` and ``config`` (what the agent applies).
The agent pins the hub's config key at enrollment and verifies before it parses.
cryptography is imported by the functions that sign or verify, not by this module: an
agent that re-reads a config it verified before (``open_verified``) does not load it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric import ec


class ConfigSignatureError(ValueError):
    """Not a config this station may trust: ``code`` says why."""

    def __init__(self, code: str, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


@dataclass(frozen=True)
class SignedConfig:
    station_id: str
    unit_id: str
    version: int
    issued_at: str
    config: dict[str, Any]


def key_sha256(public_key: ec.EllipticCurvePublicKey) -> str:
    from cryptography.hazmat.primitives import serialization

    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return hashlib.sha256(der).hexdigest()


def seal(key: ec.EllipticCurvePrivateKey, body: SignedConfig) -> bytes:
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    raw = json.dumps(
        {
            "station_id": body.station_id,
            "unit_id": body.unit_id,
            "version": body.version,
            "issued_at": body.issued_at,
            "config": body.config,
        },
        sort_keys=True,
        separators=(",", ":"),
    ).encode()
    signature = key.sign(raw, ec.ECDSA(hashes.SHA256()))
    return json.dumps(
        {
            "body": base64.b64encode(raw).decode(),
            "signature": base64.b64encode(signature).decode(),
            "key_sha256": key_sha256(key.public_key()),
        }
    ).encode()


def _envelope(payload: bytes) -> tuple[bytes, bytes]:
    try:
        outer = json.loads(payload)
        raw = base64.b64decode(outer["body"], validate=True)
        signature = base64.b64decode(outer["signature"], validate=True)
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise ConfigSignatureError(
            "bad_envelope", "not a signed config / no es una configuración firmada"
        ) from exc
    return raw, signature


def _body(raw: bytes, station_id: str) -> SignedConfig:
    try:
        body = json.loads(raw)
        signed = SignedConfig(
            str(body["station_id"]),
            str(body["unit_id"]),
            int(body["version"]),
            str(body["issued_at"]),
            dict(body["config"]),
        )
    except (ValueError, KeyError, TypeError) as exc:
        raise ConfigSignatureError(
            "bad_envelope", "config body is malformed / cuerpo mal formado"
        ) from exc
    if signed.station_id != station_id:
        raise ConfigSignatureError(
            "wrong_station",
            f"config is for station {signed.station_id} / la configuración es de otra estación",
        )
    return signed


def open_sealed(
    payload: bytes, public_key: ec.EllipticCurvePublicKey, station_id: str
) -> SignedConfig:
    """Verify and decode; ConfigSignatureError on a bad envelope, signature or station."""
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec

    raw, signature = _envelope(payload)
    try:
        public_key.verify(signature, raw, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature as exc:
        raise ConfigSignatureError(
            "bad_signature",
            "config signature does not verify / la firma de la configuración no es válida",
        ) from exc
    return _body(raw, station_id)


def open_verified(payload: bytes, station_id: str) -> SignedConfig:
    """Decode, without verifying, bytes that ``open_sealed`` verified before with the key
    pinned now. Only for a caller that proves that (the agent keeps a digest of the pinned
    key and the verified bytes, edge_agent/remote_config.py); the station is checked."""
    return _body(_envelope(payload)[0], station_id)
