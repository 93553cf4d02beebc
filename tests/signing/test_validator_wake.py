"""The signature validator is woken by ingest only for batches that stored a document."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

from hub.bodies import BodyStore
from hub.signatures.worker import SignatureValidator
from tests.hub.events import vitals_event
from tests.hub.test_storage import row


def _validator(tmp_path: Path) -> SignatureValidator:
    store: Any = object()  # never queried: the validator is not started
    return SignatureValidator(store, BodyStore(tmp_path / "bodies", 1 << 20), [])


def test_a_batch_of_readings_does_not_wake_the_validator(tmp_path: Path) -> None:
    validator = _validator(tmp_path)
    validator.on_commit([row(vitals_event()) for _ in range(3)])
    assert not validator._wake.is_set()


def test_a_batch_with_a_signed_or_scanned_document_wakes_it(tmp_path: Path) -> None:
    for kind in ("signed_document", "scanned_document"):
        validator = _validator(tmp_path)
        readings = row(vitals_event())
        validator.on_commit([readings, replace(readings, kind=kind)])
        assert validator._wake.is_set(), kind
