"""Event ids: UUIDv7 (RFC 9562), sortable by creation time.

Python 3.11's ``uuid`` has no version 7; the ``uuid6`` package provides it.
"""

from __future__ import annotations

import uuid

from uuid6 import uuid7


def new_event_id() -> str:
    return str(uuid7())


def is_uuid7(value: str) -> bool:
    try:
        parsed = uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        return False
    return parsed.version == 7 and str(parsed) == value
