"""Biometric confirmations of a case: station signatures verified (with the key the station had
when the confirmation occurred), required steps checked, confirmations from another unit flagged.

Cross-unit rule (the one place it lives): a confirmation signed by a station of
one medical unit for a case opened at another unit is flagged on the case. The
station's unit is the event envelope's ``unit_id``, which ingest accepted only
when it matched both the MQTT topic the station may publish under (broker ACL)
and the station's registration at that time. The flag does not change the
step's status: a patient referred to, or seen by a team from, another unit can
be confirmed there legitimately, so the case says so in words and leaves the
judgement to a person instead of hiding the confirmation or refusing it.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import UTC

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hub.storage.station_key_history import HistoricKey, key_valid_at
from protos import events_pb2
from protos.biometric_signing import SIGNATURE_ALGORITHM, canonical_bytes


@dataclass(frozen=True)
class SignatureCheck:
    valid: bool
    problem: str  # "" when valid; no_station_key, bad_algorithm, bad_signature,
    # key_not_valid_at_time (signed by a key of the station that was not its key then)


def verify_confirmation(event: events_pb2.Event, public_key_pem: str | None) -> SignatureCheck:
    c = event.biometric_confirmation
    if public_key_pem is None:
        return SignatureCheck(False, "no_station_key")
    if c.signature_algorithm != SIGNATURE_ALGORITHM:
        return SignatureCheck(False, "bad_algorithm")
    key = serialization.load_pem_public_key(public_key_pem.encode())
    if not isinstance(key, ec.EllipticCurvePublicKey):
        return SignatureCheck(False, "bad_station_key")
    try:
        key.verify(c.station_signature, canonical_bytes(event), ec.ECDSA(hashes.SHA256()))
    except InvalidSignature:
        return SignatureCheck(False, "bad_signature")
    return SignatureCheck(True, "")


def verify_with_history(event: events_pb2.Event, keys: list[HistoricKey]) -> SignatureCheck:
    """Verify with the station key valid when the event occurred (``keys``: the station's
    key history, oldest first). A signature by another of the station's keys (an old key
    used after a rotation) is ``key_not_valid_at_time``."""
    at = event.occurred_at.ToDatetime(tzinfo=UTC)
    key = key_valid_at(keys, at)
    check = verify_confirmation(event, key.public_key_pem if key else None)
    if check.problem == "bad_signature" and any(
        verify_confirmation(event, other.public_key_pem).valid for other in keys if other != key
    ):
        return SignatureCheck(False, "key_not_valid_at_time")
    return check


@dataclass(frozen=True)
class UnitCheck:
    """Where a confirmation was signed against where its case was opened."""

    station_unit_id: str
    case_unit_id: str

    @property
    def cross_unit(self) -> bool:
        return self.station_unit_id != self.case_unit_id

    def note(self) -> str:
        """Spanish / English words for the API ("" when the units agree)."""
        if not self.cross_unit:
            return ""
        return (
            f"firmada por una estación de la unidad {self.station_unit_id}; el caso se abrió "
            f"en la unidad {self.case_unit_id}. Puede ser legítimo (paciente referido o "
            "atendido por otro equipo): verifíquelo / signed by a station of unit "
            f"{self.station_unit_id}; the case was opened at unit {self.case_unit_id}. It may "
            "be legitimate (a referred patient, a visiting team): check it"
        )


def unit_check(event: events_pb2.Event, case_unit_id: str) -> UnitCheck:
    """The cross-unit rule for one confirmation of a case opened at ``case_unit_id``."""
    return UnitCheck(event.unit_id, case_unit_id)


def step_status(confirmations: list[tuple[events_pb2.Event, SignatureCheck]], step: str) -> str:
    """confirmed | failed | invalid_signature | missing, from the step's latest confirmation."""
    at_step = [(e, c) for e, c in confirmations if e.biometric_confirmation.step == step]
    if not at_step:
        return "missing"
    if any(e.biometric_confirmation.decision == events_pb2.MATCH and c.valid for e, c in at_step):
        return "confirmed"
    _, check = max(at_step, key=lambda p: (p[0].occurred_at.seconds, p[0].occurred_at.nanos))
    if not check.valid:
        return "invalid_signature"
    return "failed"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()
