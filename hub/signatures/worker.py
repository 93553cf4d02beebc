"""The validator: a thread that validates signed revisions whose body has arrived, off ingest.

It picks revisions of the documents read model with no verdict yet, waits
until their body is complete in the body store, validates every signature
and stores the verdict: PAdES with pyHanko, SIMPLE signatures with the
station's registered key (simple.py). Ingest never waits for it.

Re-validation: a verdict of ``revocation_unknown`` (the CA did not answer) is
validated again ``revalidate_s`` after its last check, until the CA answers
and the verdict becomes ``valid`` or ``revoked`` (or another final word).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from hub.bodies import BodyStore
from hub.signatures.simple import verify_simple
from hub.signatures.validation import BROKEN, SEVERITY, validate_pdf
from hub.storage.base import EventRow
from hub.storage.signatures import (
    PendingRevision,
    PendingSimple,
    SignatureStore,
    StoredVerdict,
)
from protos import events_pb2

log = logging.getLogger(__name__)

# Payload kinds whose events the documents projection turns into documents to check.
_DOCUMENT_KINDS = frozenset({"signed_document", "scanned_document"})


def load_roots(paths: list[Path]) -> list[bytes]:
    out: list[bytes] = []
    for path in paths:
        data = path.read_bytes()
        if b"-----BEGIN" in data:
            out += [
                c.public_bytes(serialization.Encoding.DER)
                for c in x509.load_pem_x509_certificates(data)
            ]
        else:
            out.append(data)
    return out


class SignatureValidator:
    def __init__(
        self,
        store: SignatureStore,
        bodies: BodyStore,
        trust_roots: list[bytes],
        poll_s: float = 0.5,
        *,
        fetch_revocation: bool = True,
        revocation_timeout_s: float = 5.0,
        revalidate_s: float = 300.0,
    ) -> None:
        self.store = store
        self.bodies = bodies
        self.trust_roots = trust_roots
        self.poll_s = poll_s
        self.fetch_revocation = fetch_revocation
        self.revocation_timeout_s = revocation_timeout_s
        self.revalidate_s = revalidate_s
        self.validated = 0
        self.revalidated = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="sig-validator", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)

    def wake(self, *_: object) -> None:
        self._wake.set()

    def on_commit(self, rows: Sequence[EventRow]) -> None:
        """Ingest's after-commit hook: wake for a batch that stored a document, not for every
        batch. Waking for every commit ran this thread's three queries after each ingest
        transaction (hundreds a second at a steady load of single events), taking CPU and the
        GIL from the ingest writer; what else may be due (a body that arrived later, a CA to ask
        again) is found by the poll every ``poll_s`` as before."""
        if any(row.kind in _DOCUMENT_KINDS for row in rows):
            self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:
                log.exception("signature validation pass failed")
            self._wake.wait(min(self.poll_s, self.revalidate_s))
            self._wake.clear()

    def run_once(self) -> int:
        """Validate every pending revision whose body is here, and again those whose CA did not
        answer last time (``revalidate_s`` ago); returns how many."""
        done = 0
        for rev in self.store.pending(100):
            if self._stop.is_set():
                break
            if self.bodies.info(rev.sha256) is None:
                continue  # the body is still on its way
            self.store.save(self.validate_revision(rev))
            done += 1
        before = (datetime.now(UTC) - timedelta(seconds=self.revalidate_s)).isoformat()
        # A few per pass: a CA that hangs (timeouts) must not hold back new revisions for long.
        for rev in self.store.stale_unknown(10, before):
            if self._stop.is_set():
                break
            verdict = self.validate_revision(rev)
            self.store.save(verdict)  # checked_at moves on: next try revalidate_s later
            self.revalidated += 1
            done += 1
        for simple in self.store.pending_simple(100):
            if self._stop.is_set():
                break
            if self.bodies.info(simple.sha256) is None:
                continue  # checked once the bytes it names are here (hash-verified on upload)
            self.store.save_simple(simple.event_id, self.verify_simple(simple))
            done += 1
        self.validated += done
        return done

    def verify_simple(self, pending: PendingSimple) -> StoredVerdict:
        started = time.perf_counter()
        event = events_pb2.Event.FromString(pending.raw)
        code, reason, details = verify_simple(event, self.store.station_key(event.station_id))
        elapsed = (time.perf_counter() - started) * 1000
        log.log(
            logging.INFO if code == "valid" else logging.WARNING,
            "document %s simple signature: %s (%s)",
            event.signed_document.document_id,
            code,
            reason,
            extra={"event_id": event.event_id, "case_id": event.case_id},
        )
        return StoredVerdict(
            sha256=event.signed_document.body.sha256.hex(),
            document_id=event.signed_document.document_id or event.event_id,
            verdict="valid" if code == "valid" else "invalid",
            code=code,
            reason=reason,
            checked_at=datetime.now(UTC).isoformat(),
            duration_ms=elapsed,
            signatures=[details],
        )

    def validate_revision(self, rev: PendingRevision) -> StoredVerdict:
        """The verdict of a revision, with what its station said of revocation at signing."""
        station = ""
        if rev.raw:
            try:
                signer = events_pb2.Event.FromString(rev.raw).signed_document.signer
                if signer.revocation == events_pb2.REVOCATION_PENDING:
                    station = "pending"
                elif signer.revocation == events_pb2.REVOCATION_GOOD:
                    station = "good"
            except Exception:
                log.warning("undecodable document event %s", rev.event_id)
        verdict = self.validate(rev.document_id, rev.sha256, rev.signature_level)
        return replace(verdict, station_revocation=station)

    def validate(self, document_id: str, sha256: str, level: str | None) -> StoredVerdict:
        started = time.perf_counter()
        data = self.bodies.path(sha256).read_bytes()
        verdict = validate_pdf(
            data,
            self.trust_roots,
            fetch=self.fetch_revocation,
            timeout_s=self.revocation_timeout_s,
        )
        elapsed = (time.perf_counter() - started) * 1000
        log.log(
            logging.INFO if verdict.valid else logging.WARNING,
            "document %s revision %s: %s (%s)",
            document_id,
            sha256[:12],
            verdict.code,
            verdict.reason,
        )
        return StoredVerdict(
            sha256=sha256,
            document_id=document_id,
            verdict=verdict.code if verdict.code in SEVERITY else BROKEN,
            code=verdict.code,
            reason=verdict.reason,
            checked_at=datetime.now(UTC).isoformat(),
            duration_ms=elapsed,
            signatures=[vars(c) for c in verdict.signatures],
        )
