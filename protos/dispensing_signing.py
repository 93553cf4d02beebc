"""Canonical bytes of a MedicationDispensed event, signed by the station and verified by the hub.

Built the same way as protos/biometric_signing.py: a domain tag, the envelope
(event_id, case_id, patient_id, station_id, unit_id, occurred_at), then every
field of the payload but the signature — each item and line in order — each
length-prefixed (u32 big-endian); numbers fixed-width big-endian. Protobuf
serialization is not used: it is not canonical.
"""

from __future__ import annotations

import struct

from protos import events_pb2
from protos.biometric_signing import SIGNATURE_ALGORITHM

DOMAIN = b"puente/v1/medication_dispensed"
__all__ = ["DOMAIN", "SIGNATURE_ALGORITHM", "canonical_bytes"]


def _field(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def _text(value: str) -> bytes:
    return _field(value.encode("utf-8"))


def _u32(value: int) -> bytes:
    return _field(struct.pack(">I", value))


def canonical_bytes(event: events_pb2.Event) -> bytes:
    if event.WhichOneof("payload") != "medication_dispensed":
        raise ValueError("not a dispensing / no es un despacho")
    m = event.medication_dispensed
    parts = [
        _field(DOMAIN),
        _text(event.event_id),
        _text(event.case_id),
        _text(event.patient_id),
        _text(event.station_id),
        _text(event.unit_id),
        _field(struct.pack(">qi", event.occurred_at.seconds, event.occurred_at.nanos)),
        _text(m.session_id),
        _text(m.prescription_id),
        _text(m.pharmacist_id),
        _text(m.confirmation_event_id),
        _field(struct.pack(">i", m.confirmation_decision)),
        _field(struct.pack(">d", m.confirmation_score)),
        _text(m.catalogue_version),
        _text(m.scanner.model),
        _text(m.scanner.serial),
        _text(m.signature_algorithm),
        _field(m.station_cert_sha256),
        _u32(len(m.items)),
    ]
    for it in m.items:
        parts += [
            _text(it.gtin),
            _text(it.institute_code),
            _text(it.name),
            _text(it.lot),
            _text(it.expiry),
            _text(it.serial),
            _u32(it.quantity),
            _text(it.raw),
            _field(struct.pack(">qi", it.scanned_at.seconds, it.scanned_at.nanos)),
            _field(struct.pack(">d", it.measure)),
            _text(it.measure_unit),
            _text(it.warning),
        ]
    parts.append(_u32(len(m.lines)))
    for line in m.lines:
        parts += [
            _text(line.product_code),
            _u32(line.quantity_prescribed),
            _u32(line.duration_days),
            _u32(line.quantity_dispensed),
            _text(line.status),
        ]
    parts.append(_u32(len(m.differences)))
    parts += [_text(d) for d in m.differences]
    return b"".join(parts)
