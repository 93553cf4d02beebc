"""Hypothesis strategies that build contract messages from the .proto descriptors.

Every field of every message is drawn by its type, recursively, from boundary values
(0, -1, the type's min and max, 2**63, NaN, infinities, huge strings and bytes, undefined
enum numbers, Timestamps outside 0001..9999, negative or too large nanos, huge repeated
counts) mixed with ordinary values, so a field added to events.proto is fuzzed with no
change here. ``station_events`` then gives most events a valid envelope so that the
payload checks, not the envelope checks, are what the examples reach.

The profile of the suite (fixed examples, no deadline, derandomized) is ``FUZZ``; set
PUENTE_FUZZ_EXAMPLES to run more examples and PUENTE_FUZZ_RANDOM=1 to explore new ones.
"""

from __future__ import annotations

import os
import time
from typing import Any

from google.protobuf.descriptor import Descriptor, FieldDescriptor
from google.protobuf.internal.encoder import _VarintBytes  # type: ignore[attr-defined]
from google.protobuf.message import Message
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

from protos import CONTRACT_VERSION, events_pb2
from protos.event_ids import new_event_id

FUZZ = settings(
    max_examples=int(os.environ.get("PUENTE_FUZZ_EXAMPLES", "60")),
    deadline=None,
    derandomize=os.environ.get("PUENTE_FUZZ_RANDOM", "") != "1",
    database=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.function_scoped_fixture,
        HealthCheck.large_base_example,
    ],
)

# Words the contract gives meaning to, so that generated events reach the code behind them
# (a session span, a document workflow, a confirmation step).
VOCABULARY = ["spot", "stream", "session_start", "session_stop", "SPS-53", "SPS-4", "admission"]
HUGE_STRING = "é" * 70_000  # over the string limit and, in bytes, over the event limit
HUGE_BYTES = b"\x00" * 300_000
BAD_UTF8 = (b"\xff\xfe", b"\xc3\x28", b"\xed\xa0\x80", b"\xf4\x90\x80\x80")

# What google.protobuf.Timestamp can hold: 0001-01-01T00:00:00Z .. 9999-12-31T23:59:59Z.
TIMESTAMP_MIN_S = -62_135_596_800
TIMESTAMP_MAX_S = 253_402_300_799
_I32 = (-(2**31), 2**31 - 1)
_I64 = (-(2**63), 2**63 - 1)
_BOUNDARY_INTS: dict[int, list[int]] = {
    FieldDescriptor.TYPE_INT32: [0, 1, -1, *_I32],
    FieldDescriptor.TYPE_SINT32: [0, 1, -1, *_I32],
    FieldDescriptor.TYPE_SFIXED32: [0, -1, *_I32],
    FieldDescriptor.TYPE_INT64: [0, 1, -1, *_I64],
    FieldDescriptor.TYPE_SINT64: [0, -1, *_I64],
    FieldDescriptor.TYPE_SFIXED64: [0, -1, *_I64],
    FieldDescriptor.TYPE_UINT32: [0, 1, 100, 101, 2**31, 2**32 - 1],
    FieldDescriptor.TYPE_FIXED32: [0, 1, 2**32 - 1],
    FieldDescriptor.TYPE_UINT64: [0, 1, 2**63 - 1, 2**63, 2**64 - 1],
    FieldDescriptor.TYPE_FIXED64: [0, 1, 2**63 - 1, 2**63, 2**64 - 1],
}
_RANGES: dict[int, tuple[int, int]] = {
    FieldDescriptor.TYPE_INT32: _I32,
    FieldDescriptor.TYPE_SINT32: _I32,
    FieldDescriptor.TYPE_SFIXED32: _I32,
    FieldDescriptor.TYPE_INT64: _I64,
    FieldDescriptor.TYPE_SINT64: _I64,
    FieldDescriptor.TYPE_SFIXED64: _I64,
    FieldDescriptor.TYPE_UINT32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_FIXED32: (0, 2**32 - 1),
    FieldDescriptor.TYPE_UINT64: (0, 2**64 - 1),
    FieldDescriptor.TYPE_FIXED64: (0, 2**64 - 1),
}
_SPECIAL_FLOATS = [0.0, -0.0, float("nan"), float("inf"), float("-inf"), 1e308, -1e308, 5e-324]
_TS_SECONDS = [
    0,
    -1,
    TIMESTAMP_MIN_S,
    TIMESTAMP_MIN_S - 1,
    TIMESTAMP_MAX_S,
    TIMESTAMP_MAX_S + 1,
    2**62,
    *_I64,
]
_TS_NANOS = [0, 1, -1, 999_999_999, 1_000_000_000, *_I32]


def _ints(fd: FieldDescriptor) -> st.SearchStrategy[int]:
    low, high = _RANGES[fd.type]
    return st.sampled_from(_BOUNDARY_INTS[fd.type]) | st.integers(low, high)


def _clean_scalar(fd: FieldDescriptor) -> st.SearchStrategy[Any]:
    """Ordinary values of the field's type, within every range the hub checks."""
    t = fd.type
    if t in _RANGES:
        return st.integers(0, 100)
    if t in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(-1e6, 1e6, allow_nan=False, width=64 if t == fd.TYPE_DOUBLE else 32)
    if t == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t == FieldDescriptor.TYPE_ENUM:
        return st.sampled_from([v.number for v in fd.enum_type.values])
    if t == FieldDescriptor.TYPE_STRING:
        return st.text(max_size=12) | st.sampled_from(VOCABULARY)
    if t == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=40)
    raise AssertionError(f"no strategy for field type {t} of {fd.full_name}")


def _scalar(
    fd: FieldDescriptor, small: bool = False, clean: bool = False
) -> st.SearchStrategy[Any]:
    t = fd.type
    if clean:
        return _clean_scalar(fd)
    if t in _RANGES:
        return _ints(fd)
    if t == FieldDescriptor.TYPE_DOUBLE:
        return st.sampled_from(_SPECIAL_FLOATS) | st.floats()
    if t == FieldDescriptor.TYPE_FLOAT:
        return st.sampled_from(_SPECIAL_FLOATS[:5]) | st.floats(width=32)
    if t == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if t == FieldDescriptor.TYPE_ENUM:
        numbers = [v.number for v in fd.enum_type.values]
        return st.sampled_from([*numbers, max(numbers) + 1, -1, *_I32])
    if t == FieldDescriptor.TYPE_STRING:
        return st.text(max_size=12) | st.sampled_from(
            ["", "x" * 4097, *VOCABULARY, *([] if small else [HUGE_STRING])]
        )
    if t == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=40) | st.sampled_from(
            [*BAD_UTF8, *([] if small else [HUGE_BYTES])]
        )
    raise AssertionError(f"no strategy for field type {t} of {fd.full_name}")


def _timestamp(clean: bool) -> st.SearchStrategy[tuple[int, int]]:
    if clean:
        return st.tuples(st.integers(TIMESTAMP_MIN_S, TIMESTAMP_MAX_S), st.integers(0, 999_999_999))
    seconds = st.sampled_from(_TS_SECONDS) | st.integers(TIMESTAMP_MIN_S, TIMESTAMP_MAX_S)
    nanos = st.sampled_from(_TS_NANOS) | st.integers(0, 999_999_999)
    return st.tuples(seconds, nanos)


@st.composite
def _fill(draw: st.DrawFn, descriptor: Descriptor, depth: int, clean: bool) -> dict[str, Any]:
    """Field name → value(s) for one message: each field present or not, one per oneof."""
    values: dict[str, Any] = {}
    chosen_oneof = {
        o.name: draw(st.sampled_from([None, *[f.name for f in o.fields]]))
        for o in descriptor.oneofs
    }
    for fd in descriptor.fields:
        if fd.containing_oneof is not None:
            if chosen_oneof[fd.containing_oneof.name] != fd.name:
                continue
        elif not draw(st.booleans()):
            continue
        one = _value(fd, depth, clean=clean)
        if fd.is_repeated and clean:
            values[fd.name] = draw(st.lists(one, max_size=3))
        elif fd.is_repeated:
            values[fd.name] = draw(
                st.lists(one, max_size=3)
                # a huge count of one (small) element
                | _value(fd, depth, small=True).map(lambda v: [v] * 1001)
            )
        else:
            values[fd.name] = draw(one)
    return values


def _value(
    fd: FieldDescriptor, depth: int, small: bool = False, clean: bool = False
) -> st.SearchStrategy[Any]:
    if fd.type != FieldDescriptor.TYPE_MESSAGE:
        return _scalar(fd, small, clean)
    if fd.message_type.full_name == "google.protobuf.Timestamp":
        return _timestamp(clean).map(lambda t: ("timestamp", t))
    if depth > 6 or small:
        return st.just(("message", {}))
    return _fill(fd.message_type, depth + 1, clean).map(lambda v: ("message", v))


def _apply(message: Message, values: dict[str, Any]) -> None:
    for name, value in values.items():
        fd = message.DESCRIPTOR.fields_by_name[name]
        if fd.type == FieldDescriptor.TYPE_MESSAGE:
            items = value if fd.is_repeated else [value]
            for kind, inner in items:
                target = getattr(message, name).add() if fd.is_repeated else getattr(message, name)
                if kind == "timestamp":
                    target.seconds, target.nanos = inner
                else:
                    _apply(target, inner)
                    target.SetInParent()
        elif fd.is_repeated:
            getattr(message, name).extend(value)
        else:
            setattr(message, name, value)


def messages(message_class: type[Message], clean: bool = False) -> st.SearchStrategy[Message]:
    """Instances of `message_class` with every field drawn from its descriptor: hostile
    values (boundaries mixed in) or, with `clean`, values every hub check accepts."""

    def build(values: dict[str, Any]) -> Message:
        message = message_class()
        _apply(message, values)
        return message

    return _fill(message_class.DESCRIPTOR, 0, clean).map(build)


def _wire_string(field_number: int, payload: bytes) -> bytes:
    """A length-delimited field on the wire, to carry bytes protobuf would not set (bad
    UTF-8 in a string field)."""
    return _VarintBytes(field_number << 3 | 2) + _VarintBytes(len(payload)) + payload


_STRING_FIELDS = [
    fd.number for fd in events_pb2.Event.DESCRIPTOR.fields if fd.type == FieldDescriptor.TYPE_STRING
]


@st.composite
def station_events(draw: st.DrawFn, unit_id: str, station_id: str, case_ids: list[str]) -> bytes:
    """One serialized Event as a station could publish it: most with a valid envelope for
    this station (so its payload is what gets checked), some entirely generated, some with
    bad UTF-8 or garbage appended on the wire."""
    event = draw(messages(events_pb2.Event, clean=draw(st.booleans())))
    assert isinstance(event, events_pb2.Event)
    if draw(st.integers(0, 9)) < 8:
        event.event_id = new_event_id()
        event.station_id, event.unit_id = station_id, unit_id
        event.schema_version = CONTRACT_VERSION
        event.case_id = draw(st.sampled_from(case_ids))
        if draw(st.integers(0, 9)) < 8:
            event.occurred_at.FromNanoseconds(time.time_ns())
        if draw(st.booleans()):
            event.station_seq = draw(st.sampled_from([1, 2, 2**63 - 1, 2**63, 2**64 - 1]))
    raw = event.SerializeToString()
    tail = draw(st.integers(0, 9))
    if tail == 0:
        raw += _wire_string(draw(st.sampled_from(_STRING_FIELDS)), draw(st.sampled_from(BAD_UTF8)))
    elif tail == 1:
        raw += draw(st.binary(min_size=1, max_size=12))
    return raw


def event_ids(raws: list[bytes]) -> list[str]:
    """The ids a receipt can name: those whose bytes start with a UUIDv7 event_id."""
    from hub.ingest.validation import salvage_event_id

    return [i for i in (salvage_event_id(r) for r in raws) if i]
