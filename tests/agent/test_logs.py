"""Logs never carry PINs, tokens or biometric data."""

from __future__ import annotations

import logging

from edge_agent.logs import RedactFilter


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
    assert RedactFilter().filter(record)
    message = record.getMessage()
    assert "1234" not in message and "abc.def" not in message and "\\x01" not in message
    assert message == "login pin=[redacted] token: [redacted] template=[redacted] case=C-1"
