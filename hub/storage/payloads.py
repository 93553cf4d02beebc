"""Payload JSON of stored events, rendered from the raw Event bytes (protobuf JSON mapping)."""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format

from protos import events_pb2


def render_payload(raw: bytes) -> dict[str, Any]:
    """The payload oneof of a serialized Event as protobuf JSON (proto field names, bytes
    as base64, 64-bit integers as strings), or {} if the event carries none."""
    event = events_pb2.Event.FromString(raw)
    kind = event.WhichOneof("payload")
    if kind is None:
        return {}
    return json_format.MessageToDict(getattr(event, kind), preserving_proto_field_name=True)


def render_payload_json(raw: bytes) -> str:
    return json.dumps(render_payload(raw), separators=(",", ":"), ensure_ascii=False)
