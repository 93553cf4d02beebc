"""The PDF files of the signing jobs that may still sign: adopted from the upload, taken to be
signed in place, given back when a signature did not happen, dropped when no job needs them.

Without a job store (tests, a station that keeps nothing) uploads go to a private temporary
folder and every job has a file of its own. One lock (the signing service's) covers the
files and the jobs' states, so a drop never races a submit of the same bytes.
"""

from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from edge_agent.capabilities.signing import pdf_files
from edge_agent.capabilities.signing.errors import SigningFailed
from edge_agent.capabilities.signing.job import AWAITING, SIGNING, SigningJob
from edge_agent.capabilities.signing.jobs import JobStore
from edge_agent.capabilities.signing.pdf_files import PdfFile
from edge_agent.jobs import JobTable


class JobInputs:
    def __init__(
        self, store: JobStore | None, jobs: JobTable[SigningJob], lock: threading.Lock
    ) -> None:
        self.store = store
        self.jobs = jobs
        self.lock = lock
        self._spool: Path | None = None

    @property
    def spool(self) -> Path:
        """Where uploads are streamed to (the inputs folder: adopting one is a rename)."""
        if self.store is not None:
            return self.store.inputs
        if self._spool is None:
            self._spool = Path(tempfile.mkdtemp(prefix="puente-signing-"))
        return self._spool

    def adopt(self, pdf: PdfFile) -> PdfFile:
        """The upload as the job's input (caller holds the lock)."""
        if self.store is not None:
            return self.store.adopt_input(pdf)  # a rename, the reader's file follows
        return pdf

    def needed(self, job: SigningJob) -> bool:
        """Whether another open job holds the same input."""
        return any(
            j is not job and j.status in (AWAITING, SIGNING) and j.input_sha256 == job.input_sha256
            for j in self.jobs.values()
        )

    def release(self, job: SigningJob) -> None:
        """The job no longer signs: forget its input (the file goes in drop) and reader
        (caller holds the lock)."""
        pdf_files.close_parsed(job.parsed)
        job.parsed = None
        pdf, job.pdf = job.pdf, None
        if pdf is not None and self.store is None:
            pdf.discard()  # without a job store every upload has a file of its own

    def drop(self, job: SigningJob) -> None:
        """A finished job's input file, unless another open job needs the same bytes."""
        if self.store is not None:
            with self.lock:  # not while a submit of the same bytes adopts its input
                self.store.drop_input(job.input_sha256, self.needed(job))

    def take(self, job: SigningJob, parse: Callable[[Any], Any]) -> tuple[PdfFile, Any]:
        """The input's file to sign in place, and a reader parsed on it.

        The input itself (moved aside) unless another open job holds the same bytes (then a
        kernel copy); the reader kept from the submit when it is on that very file."""
        if job.pdf is None:
            raise SigningFailed("the PDF to sign is gone / el PDF a firmar ya no está")
        parsed, job.parsed = job.parsed, None  # one use: a retry after an error parses afresh
        try:
            with self.lock:
                shared = self.needed(job)
                work = pdf_files.take(job.pdf, job.job_id, shared)
        except BaseException:
            pdf_files.close_parsed(parsed)
            raise
        if shared or parsed is None:
            pdf_files.close_parsed(parsed)
            stream = open(work.path, "r+b")  # noqa: SIM115 - closed by the caller
            try:
                parsed = parse(stream)
            except BaseException:
                stream.close()
                self.give_back(job, work)
                raise
        return work, parsed

    def give_back(self, job: SigningJob, work: PdfFile) -> None:
        """A signature that did not happen: the input back as it was uploaded."""
        with self.lock:
            if job.pdf is not None:
                pdf_files.give_back(work, job.pdf)
            else:
                work.discard()
