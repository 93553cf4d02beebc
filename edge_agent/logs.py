"""Logging setup: context fields and a filter that strips PINs, tokens and biometric data."""

from __future__ import annotations

import logging
import re

_SECRET_KEYS = r"pin|password|passwd|token|secret|template|image|fingerprint_image|authorization"
_SECRET = re.compile(rf"(?i)\b({_SECRET_KEYS})(\s*[=:]\s*)(\"[^\"]*\"|'[^']*'|\S+)")
CONTEXT_FIELDS = ("station_id", "event_id", "case_id", "device_id")


class RedactFilter(logging.Filter):
    """Masks ``pin=...``, ``token: ...`` and the like in the final message."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = _SECRET.sub(r"\1\2[redacted]", message)
        if redacted != message:
            record.msg, record.args = redacted, None
        return True


class ContextFormatter(logging.Formatter):
    """Appends the context fields a record carries (``extra={"event_id": ...}``)."""

    def format(self, record: logging.LogRecord) -> str:
        base = super().format(record)
        ctx = [f"{k}={getattr(record, k)}" for k in CONTEXT_FIELDS if hasattr(record, k)]
        return f"{base} {' '.join(ctx)}" if ctx else base


def configure(level: str = "INFO") -> None:
    handler = logging.StreamHandler()
    handler.addFilter(RedactFilter())
    handler.setFormatter(ContextFormatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
