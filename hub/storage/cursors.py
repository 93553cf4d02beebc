"""Opaque pagination cursors: the sort key of the last row of a page, base64url-encoded.

A cursor comes back from a caller, so decoding checks its shape and the type and range of
each element (a bound SQLite parameter must be text of sane length or a 64-bit integer);
anything else is `BadCursor` (a 400 problem at the API), never an error of the query.
"""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from hub.storage.base import StoreError

MAX_CURSOR_CHARS = 1024
_INT64 = (-(2**63), 2**63 - 1)


class BadCursor(StoreError):
    code = "bad_cursor"


def encode(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode(cursor: str, *kinds: type[str] | type[int] | int) -> list[Any]:
    """The key in `cursor`, one element per kind (str or int), e.g. decode(c, str, str).
    The older form decode(c, arity) takes each element as text or a 64-bit integer."""
    if len(kinds) == 1 and type(kinds[0]) is int:
        return _decode(cursor, [None] * kinds[0])
    return _decode(cursor, list(kinds))


def _decode(cursor: str, kinds: list[Any]) -> list[Any]:
    if len(cursor) > MAX_CURSOR_CHARS:
        raise BadCursor(_BAD)
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, UnicodeError, binascii.Error, RecursionError) as exc:
        raise BadCursor(_BAD) from exc
    if not isinstance(key, list) or len(key) != len(kinds):
        raise BadCursor(_BAD)
    for value, kind in zip(key, kinds, strict=True):
        is_int = type(value) is int and _INT64[0] <= value <= _INT64[1]
        is_text = type(value) is str and _utf8(value)
        ok = is_int if kind is int else is_text if kind is str else is_int or is_text
        if not ok:
            raise BadCursor(_BAD)
    return key


def _utf8(text: str) -> bool:
    """False for lone surrogates ("\\ud800" in JSON), which SQLite cannot bind."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


_BAD = "the cursor is not valid / el cursor no es válido"
