"""Is a dispensing what it claims? The station's signature, and the patient's confirmation.

A MedicationDispensed event is shown as confirmed only when (1) its station
signature verifies with the key the station had when it occurred, and (2) the
BiometricConfirmation it names is at the hub, on the same case and patient,
step "pharmacy", decision MATCH, with a valid station signature itself.
Anything else is flagged in words, never shown as confirmed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hub.biometrics import verify_with_history
from hub.storage.station_key_history import HistoricKey, key_valid_at
from protos import events_pb2
from protos.dispensing_signing import SIGNATURE_ALGORITHM, canonical_bytes

REASONS = {
    "no_station_key": (
        "the hub has no key of this station",
        "el hub no tiene la clave de la estación",
    ),
    "bad_algorithm": ("unknown signature algorithm", "algoritmo de firma desconocido"),
    "bad_signature": (
        "the station signature does not verify",
        "la firma de la estación no es válida",
    ),
    "key_not_valid_at_time": (
        "signed with a key the station did not have at that time",
        "firmado con una clave que la estación no tenía en ese momento",
    ),
    "confirmation_missing": (
        "the patient's fingerprint confirmation has not reached the hub",
        "la confirmación por huella del paciente no ha llegado al hub",
    ),
    "confirmation_mismatch": (
        "the fingerprint confirmation is of another case, patient or step",
        "la confirmación por huella es de otro caso, paciente o paso",
    ),
    "confirmation_no_match": (
        "the patient's fingerprint did not match",
        "la huella del paciente no coincidió",
    ),
    "confirmation_unverified": (
        "the fingerprint confirmation's signature does not verify",
        "la firma de la confirmación por huella no es válida",
    ),
}


@dataclass(frozen=True)
class DispensingCheck:
    verified: bool
    problem: str  # "" when verified; a key of REASONS

    @property
    def reason(self) -> str:
        if self.verified:
            return "signature and fingerprint confirmation verified / firma y huella verificadas"
        en, es = REASONS[self.problem]
        return f"NOT verified: {en} / NO verificado: {es}"


def _signature(event: events_pb2.Event, keys: list[HistoricKey]) -> str:
    m = event.medication_dispensed
    if m.signature_algorithm != SIGNATURE_ALGORITHM:
        return "bad_algorithm"
    key = key_valid_at(keys, event.occurred_at.ToDatetime(tzinfo=UTC))
    if key is None:
        return "no_station_key"

    def ok(pem: str) -> bool:
        public = serialization.load_pem_public_key(pem.encode())
        if not isinstance(public, ec.EllipticCurvePublicKey):
            return False
        try:
            public.verify(m.station_signature, canonical_bytes(event), ec.ECDSA(hashes.SHA256()))
        except InvalidSignature:
            return False
        return True

    if ok(key.public_key_pem):
        return ""
    if any(ok(other.public_key_pem) for other in keys if other != key):
        return "key_not_valid_at_time"
    return "bad_signature"


def check_dispensing(
    event: events_pb2.Event,
    confirmation: events_pb2.Event | None,
    keys: list[HistoricKey],
    confirmation_keys: list[HistoricKey],
) -> DispensingCheck:
    problem = _signature(event, keys)
    if problem:
        return DispensingCheck(False, problem)
    if confirmation is None or confirmation.WhichOneof("payload") != "biometric_confirmation":
        return DispensingCheck(False, "confirmation_missing")
    c = confirmation.biometric_confirmation
    if (confirmation.case_id, confirmation.patient_id, c.step) != (
        event.case_id,
        event.patient_id,
        "pharmacy",
    ):
        return DispensingCheck(False, "confirmation_mismatch")
    if c.decision != events_pb2.MATCH:
        return DispensingCheck(False, "confirmation_no_match")
    if not verify_with_history(confirmation, confirmation_keys).valid:
        return DispensingCheck(False, "confirmation_unverified")
    return DispensingCheck(True, "")
