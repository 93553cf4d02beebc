"""Log lines never carry PINs, tokens, passwords or biometric data."""

from __future__ import annotations

import io
import json
import logging

from puente_cli.logs import JsonFormatter, RedactSecrets


def _capture() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactSecrets())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger(f"test-redact-{id(stream)}")
    logger.handlers[:] = [handler]
    logger.propagate = False
    logger.setLevel(logging.INFO)
    return logger, stream


def test_secrets_in_messages_and_extras_are_stripped() -> None:
    logger, stream = _capture()
    logger.info(
        "login with pin=123456 and Authorization: Bearer abc.DEF-123 for %s",
        "dr-lopez",
        extra={"event_id": "e1", "pin": "9999", "template": b"\x01\x02", "case_id": "C-7"},
    )
    line = stream.getvalue()
    entry = json.loads(line)
    assert "123456" not in line and "abc.DEF-123" not in line and "9999" not in line
    assert "\\u0001" not in line
    assert entry["pin"] == "[redacted]" and entry["template"] == "[redacted]"
    assert entry["event_id"] == "e1" and entry["case_id"] == "C-7"
    assert "dr-lopez" in entry["msg"]


def test_bytes_in_extras_become_sizes_only() -> None:
    logger, stream = _capture()
    logger.info("capture", extra={"frame": b"\x00" * 4096})
    assert json.loads(stream.getvalue())["frame"] == "<4096 bytes>"


def test_secrets_are_masked_in_the_final_message() -> None:
    record = logging.LogRecord(
        "x",
        logging.INFO,
        __file__,
        1,
        "login pin=%s token: %s template=%r case=%s",
        ("1234", "abc.def", b"\x01\x02", "C-1"),
        None,
    )
    assert RedactSecrets().filter(record)
    message = record.getMessage()
    assert "1234" not in message and "abc.def" not in message and "\\x01" not in message
    assert message == "login pin=[redacted] token: [redacted] template=[redacted] case=C-1"
