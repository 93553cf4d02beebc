"""Signing jobs kept on disk, so an agent restart does not lose a request awaiting consent.

One small SQLite file (``<data_dir>/signing/jobs.sqlite3``, WAL) holds each
job's fields as JSON; the PDF awaiting consent is a content-addressed file
next to it (``inputs/<sha256>``, see pdf_files.py). Neither is fsynced for
durability (an input is written back early in the background only because,
signed in place, it becomes a body that must be fsynced): they survive a process
restart (the usual case: an update, a crash) but a power cut may drop a job
still awaiting consent, which the user then submits again. What was SIGNED is
durable elsewhere (body store + outbox, both fsynced). The unsigned input is
kept here, not in the body store, so that a draft the user declines never
leaves the station.

Writes run on one background thread, in the order they were asked for, so
that keeping a job never slows the request that made it; :meth:`flush` waits
for them (the agent's stop does).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

from edge_agent.capabilities.signing import pdf_files
from edge_agent.capabilities.signing.pdf_files import PdfFile
from edge_agent.private_files import connect_sqlite, private_dir

log = logging.getLogger(__name__)


def _log_failure(future: Future[Any]) -> None:
    exc = future.exception()
    if exc is not None:
        log.error("keeping a signing job failed: %s: %s", type(exc).__name__, exc)


def _datasync(path: Path) -> None:
    try:
        fd = os.open(path, os.O_RDONLY)
    except FileNotFoundError:
        return  # already signed, declined or expired
    try:
        os.fdatasync(fd)
    finally:
        os.close(fd)


class JobStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.inputs = root / "inputs"
        private_dir(self.inputs)
        for partial in self.inputs.glob(".upload-*.part"):  # an upload a crash cut short
            partial.unlink(missing_ok=True)
        self._lock = threading.Lock()
        self._writer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="signing-jobs")
        self._conn = connect_sqlite(
            root / "jobs.sqlite3", isolation_level=None, check_same_thread=False
        )
        self._conn.execute("PRAGMA journal_mode=WAL")
        self._conn.execute("PRAGMA synchronous=NORMAL")  # no fsync per commit (see above)
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS signing_jobs (job_id TEXT PRIMARY KEY, "
            "status TEXT NOT NULL, created_at REAL NOT NULL, job_json TEXT NOT NULL)"
        )

    def _later(self, fn: Any, *args: Any) -> None:
        self._writer.submit(fn, *args).add_done_callback(_log_failure)

    def flush(self) -> None:
        """Wait until every write asked for so far is done."""
        self._writer.submit(lambda: None).result()

    def save(self, job_id: str, status: str, created_at: float, fields: dict[str, Any]) -> None:
        """``fields``: a snapshot (SigningJob.to_record: new containers of plain values, not
        changed after), turned into JSON by the writer thread, not by the request's."""
        self._later(self._save, job_id, status, created_at, fields)

    def _save(self, job_id: str, status: str, created_at: float, fields: dict[str, Any]) -> None:
        text = json.dumps(fields, default=str)
        with self._lock:
            self._conn.execute(
                "INSERT OR REPLACE INTO signing_jobs (job_id, status, created_at, job_json) "
                "VALUES (?,?,?,?)",
                (job_id, status, created_at, text),
            )

    def delete(self, job_id: str) -> None:
        self._later(self._delete, job_id)

    def _delete(self, job_id: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM signing_jobs WHERE job_id = ?", (job_id,))

    def load(self) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._conn.execute(
                "SELECT job_json FROM signing_jobs ORDER BY created_at"
            ).fetchall()
        return [json.loads(r[0]) for r in rows]

    def adopt_input(self, pdf: PdfFile) -> PdfFile:
        """The spooled upload becomes ``inputs/<sha256>`` (a rename in the same folder; the
        caller holds the signing service's lock, so a drop of the same input cannot race)."""
        target = self.inputs / pdf.sha256
        if pdf.path != target:
            os.replace(pdf.path, target)  # the same bytes if one was there already
        # Start writing it to disk now, in the background, while the person reads the consent
        # page: signed in place, this file becomes the body that must be fsynced before its
        # event, and that fsync then has only the appended revision left to write.
        self._later(_datasync, target)
        return PdfFile(target, pdf.size, pdf.digest)

    def input_file(self, sha256: str, size: int | None) -> PdfFile | None:
        """A kept input after a restart (put back first if a crash caught it mid-signature)."""
        path = pdf_files.recover(self.inputs, sha256, size)
        return pdf_files.hash_file(path) if path is not None else None

    def drop_input(self, sha256: str, still_needed: bool) -> None:
        """Called under the signing service's lock (see :meth:`adopt_input`)."""
        if not still_needed:
            (self.inputs / sha256).unlink(missing_ok=True)

    def close(self) -> None:
        self._writer.shutdown(wait=True)
        with self._lock:
            self._conn.close()
