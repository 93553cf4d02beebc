"""Payload JSON of stored events, rendered from the raw Event bytes (protobuf JSON mapping).

Rendering never raises: an event stored by an older hub that today's checks refuse (a
timestamp protobuf cannot render, a NaN, an unknown enum value) renders as an empty
payload with a `problem` in words, so one bad event never breaks a reader or the renderer.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from typing import Any

import sqlite_utils
from google.protobuf import json_format

from hub.ingest.limits import IngestLimits, check_message
from protos import events_pb2

# What a stored event is held to when read: today's ranges, not today's sizes.
READ_LIMITS = IngestLimits(max_event_bytes=2**62, max_batch_bytes=2**62)


def render_checked(raw: bytes) -> tuple[dict[str, Any], str | None]:
    """(payload, None) for a good event; ({}, why in English / Spanish) for a bad one."""
    try:
        event = events_pb2.Event.FromString(raw)
        problem = check_message(event, READ_LIMITS)
        kind = event.WhichOneof("payload")
        if problem is None and kind is not None:
            payload = json_format.MessageToDict(
                getattr(event, kind), preserving_proto_field_name=True
            )
            json.dumps(payload, allow_nan=False)  # what the API will have to write
            return payload, None
        if problem is None:
            return {}, None
    except Exception as exc:  # any failure to read is a flag, never an error of the reader
        problem = f"{type(exc).__name__}: {exc}"[:300]
    return {}, flag(problem)


RENDER_STOP_EVERY = 25  # rows rendered between two looks at render_rows' ``stop``


def render_rows(
    rows: Iterable[tuple[int, bytes]], stop: Callable[[], bool] | None = None
) -> list[tuple[int, str, str | None]]:
    """``(ingest_seq, payload JSON, problem)`` for stored ``(ingest_seq, raw)`` rows, in
    order; a bad event is flagged and passed, never retried forever. ``stop`` is asked
    every ``RENDER_STOP_EVERY`` rows: once it answers True the rows rendered so far are
    returned, so an idle ingest writer is back at its queue within a few events."""
    rendered: list[tuple[int, str, str | None]] = []
    for n, (seq, raw) in enumerate(rows):
        if n and n % RENDER_STOP_EVERY == 0 and stop is not None and stop():
            break
        payload, problem = render_checked(bytes(raw))
        text = json.dumps(payload, separators=(",", ":"), ensure_ascii=False)
        rendered.append((seq, text, problem))
    return rendered


def flag(problem: str) -> str:
    return (
        f"stored event not shown, it fails the hub's checks ({problem}) / "
        f"evento guardado no mostrado, no pasa las verificaciones del hub ({problem})"
    )


def render_payload(raw: bytes) -> dict[str, Any]:
    """The payload oneof of a serialized Event as protobuf JSON (proto field names, bytes
    as base64, 64-bit integers as strings), or {} if it carries none or is bad."""
    return render_checked(raw)[0]


def render_payload_json(raw: bytes) -> str:
    return json.dumps(render_payload(raw), separators=(",", ":"), ensure_ascii=False)


def m720_payload_problems(db: sqlite_utils.Database) -> None:
    """Why a stored event's payload is not shown (None: it is), set by the renderer."""
    db.execute("ALTER TABLE events ADD COLUMN payload_error TEXT")


def m721_drop_unreadable_readings(db: sqlite_utils.Database) -> None:
    """Readings an older hub derived from a measured_at ingest refuses today (after 9999 or
    before 1970, stored as text no export can read) are dropped from the read model; their
    events stay, flagged by the renderer."""
    db.execute(
        "DELETE FROM vital_readings WHERE NOT (measured_at GLOB "
        "'[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]*Z' "
        "AND measured_at >= '1970')"
    )
