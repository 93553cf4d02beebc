"""Canonical bytes of a biometric confirmation, signed by the station and verified by the hub.

Both sides build the same bytes from an ``Event`` carrying a
``BiometricConfirmation``: a domain tag, then every field that makes the claim
(envelope: event_id, case_id, patient_id, station_id, unit_id, device_id,
occurred_at; payload: step, finger, reader, quality, score, threshold,
decision, probe template hash, reason, operator, algorithm, key hash), each
length-prefixed (u32 big-endian) so no two field lists share an encoding.
Numbers are fixed-width big-endian (the score and threshold as IEEE-754
doubles). Protobuf serialization is not used: it is not canonical.

Binding event_id, case_id and patient_id stops a confirmation from being
replayed onto another case or patient (the hub also dedups event_id).
"""

from __future__ import annotations

import struct

from protos import events_pb2

DOMAIN = b"puente/v1/biometric_confirmation"
SIGNATURE_ALGORITHM = "ecdsa-p256-sha256"


def _field(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def _text(value: str) -> bytes:
    return _field(value.encode("utf-8"))


def canonical_bytes(event: events_pb2.Event) -> bytes:
    """The bytes the station signs: everything of the confirmation but the signature itself."""
    if event.WhichOneof("payload") != "biometric_confirmation":
        raise ValueError("not a biometric confirmation / no es una confirmación biométrica")
    c = event.biometric_confirmation
    r = c.reader
    parts = [
        _field(DOMAIN),
        _text(event.event_id),
        _text(event.case_id),
        _text(event.patient_id),
        _text(event.station_id),
        _text(event.unit_id),
        _text(event.device_id),
        _field(struct.pack(">qi", event.occurred_at.seconds, event.occurred_at.nanos)),
        _text(c.step),
        _field(struct.pack(">i", c.finger)),
        _text(r.model),
        _text(r.serial),
        _text(r.vendor),
        _text(r.driver),
        _text(r.usb_id),
        _field(struct.pack(">I", c.quality)),
        _field(struct.pack(">d", c.score)),
        _field(struct.pack(">d", c.threshold)),
        _field(struct.pack(">i", c.decision)),
        _field(c.probe_template_sha256),
        _text(c.reason),
        _text(c.operator_id),
        _text(c.signature_algorithm),
        _field(c.station_cert_sha256),
    ]
    return b"".join(parts)
