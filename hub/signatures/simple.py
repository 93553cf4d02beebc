"""Verifying a simple electronic signature: the station key over the statement, and its fields.

A simple signature is NEVER an advanced one: its verdict is ``valid_simple``
at best. It is valid only when the document type allows simple signatures,
the station's registered key verifies the station signature over the exact
statement bytes, and every field of the statement matches the event carrying
it (the PDF's hash and size, document, case, patient, station, role).
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from protos import events_pb2
from protos.document_types import DOCUMENT_TYPES
from protos.simple_signature import SIGNATURE_ALGORITHM, Statement

_REASONS = {
    "no_station_key": "the station has no registered public key / la estación no tiene clave",
    "station_key_mismatch": "signed with another key than the station's registered one / "
    "firmado con otra clave que la registrada para la estación",
    "bad_algorithm": "unknown signature algorithm / algoritmo de firma desconocido",
    "bad_signature": "the station signature does not verify / la firma de la estación no verifica",
    "bad_statement": "the signed statement is unreadable / la declaración firmada es ilegible",
    "statement_mismatch": "the signed statement does not match the event / la declaración "
    "firmada no coincide con el evento",
    "simple_not_allowed": "this document type requires an ADVANCED signature / este tipo de "
    "documento requiere firma AVANZADA",
    "missing_simple_signature": "the event says SIMPLE but carries no station signature / el "
    "evento dice SIMPLE pero no trae firma de la estación",
}


def verify_simple(
    event: events_pb2.Event, public_key_pem: str | None
) -> tuple[str, str, dict[str, Any]]:
    """(code, reason, details) — code ``valid`` or the first problem found."""
    d = event.signed_document
    details: dict[str, Any] = {"level": "SIMPLE", "kind": "simple", "valid": False}

    def fail(code: str, extra: str = "") -> tuple[str, str, dict[str, Any]]:
        details["problems"] = [code + (f": {extra}" if extra else "")]
        return code, _REASONS[code] + (f" ({extra})" if extra else ""), details

    dtype = DOCUMENT_TYPES.get(d.document_type)
    if dtype is None or not dtype.simple_allowed:
        return fail("simple_not_allowed", d.document_type)
    sig = d.simple_signature
    if not sig.statement or not sig.station_signature:
        return fail("missing_simple_signature")
    if sig.signature_algorithm != SIGNATURE_ALGORITHM:
        return fail("bad_algorithm", sig.signature_algorithm)
    if public_key_pem is None:
        return fail("no_station_key", event.station_id)
    key = serialization.load_pem_public_key(public_key_pem.encode())
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return fail("no_station_key", "not an EC key")
    spki = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if sig.station_key_sha256 and sig.station_key_sha256 != hashlib.sha256(spki).digest():
        return fail("station_key_mismatch")
    try:
        key.verify(sig.station_signature, sig.statement, ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return fail("bad_signature")
    try:
        statement = Statement.from_bytes(sig.statement)
    except ValueError as exc:
        return fail("bad_statement", str(exc))
    details.update(
        user=asdict(statement.user),
        station_id=statement.station_id,
        signed_at=statement.signed_at,
        signer_subject=f"{statement.user.name} ({statement.user.user_id})",
    )
    expected = {
        "document_sha256": d.body.sha256.hex(),
        "document_size": d.body.size,
        "document_type": d.document_type,
        "document_id": d.document_id,
        "case_id": event.case_id,
        "patient_id": event.patient_id,
        "station_id": event.station_id,
    }
    wrong = [k for k, v in expected.items() if getattr(statement, k) != v]
    if statement.user.role != d.signer.role:
        wrong.append("user.role")
    if wrong:
        return fail("statement_mismatch", ", ".join(wrong))
    details["valid"] = True
    details["problems"] = []
    return "valid", "simple signature by the station verified / firma simple verificada", details
