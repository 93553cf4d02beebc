"""The signed PDF's digest continues the input's hash over the appended revision only."""

from __future__ import annotations

import hashlib

from edge_agent.capabilities.signing.service import _appended_digest


def test_an_incremental_update_is_hashed_from_where_the_input_ended() -> None:
    pdf = b"%PDF-1.7\n" + bytes(range(256)) * 1000 + b"%%EOF\n"
    signed = pdf + b"1 0 obj << /Type /Sig >> endobj\n%%EOF\n"
    state = hashlib.sha256(pdf)
    assert _appended_digest(state, pdf, signed) == hashlib.sha256(signed).hexdigest()
    assert state.hexdigest() == hashlib.sha256(pdf).hexdigest()  # the job's state is untouched


def test_an_output_that_does_not_start_with_the_input_is_hashed_whole() -> None:
    pdf = b"%PDF-1.7\n" + b"a" * 5000 + b"%%EOF\n"
    rewritten = b"%PDF-1.7\n" + b"b" * 5000 + b"%%EOF\nmore"
    assert _appended_digest(hashlib.sha256(pdf), pdf, rewritten) is None
    assert _appended_digest(hashlib.sha256(pdf), pdf, pdf[:-1]) is None
    assert _appended_digest(None, pdf, pdf + b"x") is None
