"""Opaque pagination cursors: the sort key of the last row of a page, base64url-encoded."""

from __future__ import annotations

import base64
import json
from typing import Any

from hub.storage.base import StoreError


class BadCursor(StoreError):
    code = "bad_cursor"


def encode(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode(cursor: str, arity: int) -> list[Any]:
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadCursor(_BAD) from exc
    if not isinstance(key, list) or len(key) != arity:
        raise BadCursor(_BAD)
    return key


_BAD = "the cursor is not valid / el cursor no es válido"
