"""Range and size checks of decoded contract messages, walked from the .proto descriptors.

Every field of an Event (and of a StationState) is checked by its type, so a field added
to the contract later is covered without code here: timestamps within what
``google.protobuf.Timestamp`` can hold (0 <= nanos < 1e9) and from 1970, unsigned 64-bit
integers below 2**63 (what SQLite and every JSON reader can hold), floats finite, enum
values known to this contract version, strings and repeated fields of sane length, bytes
named ``*sha256`` empty or 32 bytes; plus the few rules the contract states in words
(``FIELD_RANGES``, a document's body digest).

Hand-written rather than protovalidate: that library needs ``buf.validate`` annotations on
every field of the shared contract and a CEL runtime, while these rules follow from the
field types alone; the walk is a few dozen lines over protobuf's own descriptors.
Timestamps inside a message are held to 1970..9999 (``CONTRACT_TIME_MIN_S``); the
envelope's ``occurred_at`` is further held to the hub clock by validation.py.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

# What google.protobuf.Timestamp allows (0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z).
TIMESTAMP_MIN_S = -62_135_596_800
TIMESTAMP_MAX_S = 253_402_300_799
INT64_MAX = 2**63 - 1
# Times inside a fact (measured_at, signed_at, ...) are not before 1970-01-01: earlier ones
# are no device's or signer's clock, and exports (FHIR, HL7) need four-digit years.
CONTRACT_TIME_MIN_S = 0

_TIMESTAMP = "google.protobuf.Timestamp"
_UNSIGNED_64 = (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64)
_FLOATS = (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT)

# Ranges the contract states in its comments (inclusive).
FIELD_RANGES: dict[str, tuple[int, int]] = {
    "puente.v1.BiometricEnrollment.impression_quality": (0, 100),
}
# Identifiers that leave the hub in exports as ids (a FHIR id: [A-Za-z0-9-.]{1,64}).
FIELD_PATTERNS: dict[str, re.Pattern[str]] = {
    "puente.v1.VitalSignsObservation.session_id": re.compile(r"[A-Za-z0-9\-.]{1,64}"),
}
# Sub-messages where a non-finite number is the point: a reading the agent refused keeps
# the device's raw value (NaN, infinity) as evidence.
NON_FINITE_ALLOWED = frozenset({"puente.v1.RejectedReading.reading"})
# Every bytes field named *sha256 is empty or a digest; a document must name its body.
_DIGEST_BYTES = 32
_DOCUMENTS = ("signed_document", "scanned_document")
# Repeated fields with their own (configured) limit instead of `max_repeated`.
_READINGS = frozenset(
    {"puente.v1.VitalSignsObservation.readings", "puente.v1.VitalSignsObservation.rejected"}
)


@dataclass(frozen=True, slots=True)
class IngestLimits:
    """Sizes the hub accepts (hub settings ``ingest_max_*``; docs/hub.md)."""

    max_event_bytes: int = 64 * 1024
    max_batch_bytes: int = 4 * 1024 * 1024
    max_readings_per_event: int = 500
    max_repeated: int = 1000
    max_string_chars: int = 4096


def timestamp_problem(seconds: int, nanos: int, floor_s: int = TIMESTAMP_MIN_S) -> str | None:
    """Why (seconds, nanos) is not a valid protobuf Timestamp (from `floor_s`), or None."""
    if not floor_s <= seconds <= TIMESTAMP_MAX_S:
        first = "0001" if floor_s == TIMESTAMP_MIN_S else time.strftime("%Y", time.gmtime(floor_s))
        return f"seconds {seconds} outside years {first}..9999"
    if not 0 <= nanos < 1_000_000_000:
        return f"nanos {nanos} outside 0..999999999"
    return None


def check_message(message: Message, limits: IngestLimits) -> str | None:
    """The first field of `message` (recursively) out of range, as "path: why", or None."""
    return _walk(message, limits, allow_non_finite=False)


@dataclass(frozen=True, slots=True)
class _Plan:
    """What to check of one field, read once from its descriptor (ingest's hot path)."""

    name: str
    repeated: bool
    kind: str  # "timestamp", "message", "u64", "float", "enum", "digest", "string", "other"
    limit_readings: bool
    allow_non_finite: bool
    enum_numbers: frozenset[int]
    enum_name: str
    pattern: re.Pattern[str] | None
    bounds: tuple[int, int] | None


_PLANS: dict[FieldDescriptor, _Plan] = {}


def _plan(fd: FieldDescriptor) -> _Plan:
    plan = _PLANS.get(fd)
    if plan is None:
        t = fd.type
        if t == FieldDescriptor.TYPE_MESSAGE:
            message_type = fd.message_type
            kind = (
                "timestamp"
                if message_type is not None and message_type.full_name == _TIMESTAMP
                else "message"
            )
        elif t in _UNSIGNED_64:
            kind = "u64"
        elif t in _FLOATS:
            kind = "float"
        elif t == FieldDescriptor.TYPE_ENUM:
            kind = "enum"
        elif t == FieldDescriptor.TYPE_BYTES and fd.name.endswith("sha256"):
            kind = "digest"
        elif t == FieldDescriptor.TYPE_STRING:
            kind = "string"
        else:
            kind = "other"
        enum = fd.enum_type if kind == "enum" else None
        plan = _PLANS[fd] = _Plan(
            name=fd.name,
            repeated=fd.is_repeated,
            kind=kind,
            limit_readings=fd.full_name in _READINGS,
            allow_non_finite=fd.full_name in NON_FINITE_ALLOWED,
            enum_numbers=frozenset(v.number for v in enum.values) if enum else frozenset(),
            enum_name=enum.name if enum else "",
            pattern=FIELD_PATTERNS.get(fd.full_name),
            bounds=FIELD_RANGES.get(fd.full_name),
        )
    return plan


def _walk(message: Message, limits: IngestLimits, allow_non_finite: bool) -> str | None:
    """The problem relative to `message`; paths are built only on the way back from one."""
    for fd, value in message.ListFields():
        plan = _plan(fd)
        if plan.repeated:
            limit = limits.max_readings_per_event if plan.limit_readings else limits.max_repeated
            if len(value) > limit:
                return f"{plan.name}: {len(value)} elements, at most {limit}"
            for i, item in enumerate(value):
                problem = _one(plan, item, limits, allow_non_finite)
                if problem:
                    return f"{plan.name}[{i}]{problem}"
        else:
            problem = _one(plan, value, limits, allow_non_finite)
            if problem:
                return f"{plan.name}{problem}"
    full_name = message.DESCRIPTOR.full_name
    if full_name == "puente.v1.Event":
        kind = message.WhichOneof("payload")
        if kind in _DOCUMENTS and len(getattr(message, kind).body.sha256) != _DIGEST_BYTES:
            return f"{kind}.body.sha256: a document names its body by a 32-byte SHA-256"
    elif full_name == "puente.v1.VitalSignsObservation":
        total = len(message.readings) + len(message.rejected)  # type: ignore[attr-defined]  # a VitalSignsObservation, by full_name
        if total > limits.max_readings_per_event:
            return f"readings: {total} readings, at most {limits.max_readings_per_event}"
    return None


def _one(plan: _Plan, value: Any, limits: IngestLimits, allow_non_finite: bool) -> str | None:
    """The problem of one value, starting with "." (a sub-message's field) or ": "."""
    kind = plan.kind
    if kind == "message":
        problem = _walk(value, limits, allow_non_finite or plan.allow_non_finite)
        return f".{problem}" if problem else None
    if kind == "timestamp":
        problem = timestamp_problem(value.seconds, value.nanos, CONTRACT_TIME_MIN_S)
        return f": {problem}" if problem else None
    if kind == "u64" and value > INT64_MAX:
        return f": {value} is 2^63 or more"
    if kind == "float" and not allow_non_finite and not math.isfinite(value):
        return f": {value} is not a finite number"
    if kind == "enum" and value not in plan.enum_numbers:
        return f": {value} is not a value of {plan.enum_name}"
    if kind == "digest" and len(value) not in (0, _DIGEST_BYTES):
        return f": {len(value)} bytes, a SHA-256 has {_DIGEST_BYTES}"
    if kind == "string":
        if len(value) > limits.max_string_chars:
            return f": {len(value)} characters, at most {limits.max_string_chars}"
        if plan.pattern and not plan.pattern.fullmatch(value):
            return f": {value[:80]!r} does not match {plan.pattern.pattern}"
    if plan.bounds and not plan.bounds[0] <= value <= plan.bounds[1]:
        return f": {value} outside {plan.bounds[0]}..{plan.bounds[1]}"
    return None
