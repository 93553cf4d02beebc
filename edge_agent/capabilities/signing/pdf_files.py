"""PDFs to sign as private files: streamed to disk once, hashed once, signed in place.

The upload goes straight from the request body to a private spool file
(``<data_dir>/signing/inputs/.upload-*``, 0600) while its SHA-256 is computed
over the same chunks, so a 20 MB PDF is never joined into one bytes object nor
hashed twice. The spool file then becomes the job's input
(``inputs/<sha256>``, a rename). At the consent pyHanko is handed that file
opened read-write and appends its revision IN PLACE (an incremental update
never changes the input's bytes): the signed PDF is the input file plus the
appended revision, so it is neither copied nor written again, and its SHA-256
continues from the input's hash state over the appended bytes only. The file is
fsynced once and renamed into the body store.

If the signature fails (wrong PIN, token pulled out), the file is truncated
back to the input's size and put back, byte for byte what was uploaded. A
crash mid-signature leaves it as ``inputs/<sha256>.<job>.signing``;
:func:`recover` truncates it back at the next start.

Nothing here logs or keeps anything but the PDF's bytes.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import hashlib
import os
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

from edge_agent.errors import InvalidInput
from edge_agent.private_files import open_private, private_dir

WRITE_BYTES = 1024 * 1024  # chunks of the body are gathered to this before a write + hash
SIGNING_SUFFIX = ".signing"


class PdfTooLarge(InvalidInput):
    """The PDF is larger than ``signing.max_pdf_bytes`` (HTTP 413, like the body limit)."""

    title = "PDF too large / PDF demasiado grande"
    http_status = 413

    def __init__(self, limit: int) -> None:
        super().__init__(
            f"the PDF is larger than {limit} bytes / "
            f"el PDF excede el tamaño máximo ({limit} bytes)",
            code="pdf_too_large",
        )


@dataclass
class PdfFile:
    """A PDF kept in a private file: its path, size and the SHA-256 state after its bytes."""

    path: Path
    size: int
    digest: Any  # hashlib sha256 object, updated over exactly ``size`` bytes

    @property
    def sha256(self) -> str:
        return str(self.digest.hexdigest())

    def read(self) -> bytes:
        return self.path.read_bytes()

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)


def spool_path(spool: Path) -> Path:
    return spool / f".upload-{uuid.uuid4().hex}.part"


class _Writer:
    """One private spool file written and hashed in gathered chunks."""

    def __init__(self, spool: Path, max_bytes: int) -> None:
        private_dir(spool)
        self.path = spool_path(spool)
        self.max_bytes = max_bytes
        self.digest = hashlib.sha256()
        self.size = 0
        self._file: BinaryIO = os.fdopen(open_private(self.path), "wb", buffering=0)

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.size += len(data)
        if self.size > self.max_bytes:
            raise PdfTooLarge(self.max_bytes)
        self.digest.update(data)  # releases the GIL for large buffers
        view = memoryview(data)
        while view:
            written = self._file.write(view)
            view = view[written or 0 :]

    def close(self) -> PdfFile:
        self._file.close()
        return PdfFile(self.path, self.size, self.digest)

    def abort(self) -> None:
        try:
            self._file.close()
        finally:
            self.path.unlink(missing_ok=True)


async def receive(chunks: AsyncIterator[bytes], spool: Path, max_bytes: int) -> PdfFile:
    """Stream a request body into a private spool file, hashing it on the way.

    Each gathered megabyte is written and hashed on a worker thread (never on the event
    loop that answers every other caller) while the next one arrives. A body past
    ``max_bytes`` raises :class:`PdfTooLarge` (the rest of the body is read and dropped, so
    the answer is not lost to a reset connection); any failure (the client going away, the
    body-limit middleware's 413) removes the partial file.
    """
    loop = asyncio.get_running_loop()
    writer = _Writer(spool, max_bytes)
    pending: asyncio.Future[None] | None = None
    buffer = bytearray()
    too_large: PdfTooLarge | None = None
    try:
        async for chunk in chunks:
            if too_large is not None:
                continue  # drain
            buffer += chunk
            if len(buffer) >= WRITE_BYTES:
                if pending is not None:
                    await pending
                if writer.size + len(buffer) > max_bytes:
                    too_large = PdfTooLarge(max_bytes)
                    continue
                pending = loop.run_in_executor(None, writer.write, buffer)
                buffer = bytearray()
        if pending is not None:
            await pending
            pending = None
        if too_large is not None:
            raise too_large
        if len(buffer) > 65536:
            await loop.run_in_executor(None, writer.write, buffer)  # the last part
        elif buffer:
            writer.write(buffer)  # a small PDF: a thread hop would cost more than this
        return writer.close()
    except BaseException:
        if pending is not None:
            with contextlib.suppress(BaseException):  # the first error is the one to raise
                await pending
        writer.abort()
        raise


def from_bytes(data: bytes, spool: Path, max_bytes: int) -> PdfFile:
    """A PDF that came whole (gRPC, the JSON form) into a private spool file, hashed once."""
    writer = _Writer(spool, max_bytes)
    try:
        writer.write(data)
        return writer.close()
    except BaseException:
        writer.abort()
        raise


def from_base64(text: str, spool: Path, max_bytes: int) -> PdfFile:
    """The JSON form's ``pdf_base64`` decoded piece by piece into a private spool file."""
    if len(text) * 3 // 4 > max_bytes + 2:
        raise PdfTooLarge(max_bytes)
    step = WRITE_BYTES // 3 * 4  # whole base64 quanta: each piece decodes on its own
    writer = _Writer(spool, max_bytes)
    try:
        for i in range(0, len(text), step):
            try:
                writer.write(base64.b64decode(text[i : i + step], validate=True))
            except (binascii.Error, ValueError) as exc:
                raise InvalidInput(
                    "pdf_base64 is not valid base64 / pdf_base64 no es base64 válido",
                    code="bad_base64",
                ) from exc
        return writer.close()
    except BaseException:
        writer.abort()
        raise


def hash_file(path: Path) -> PdfFile:
    """A PdfFile for a file already on disk (a job restored after a restart)."""
    digest = hashlib.sha256()
    size = 0
    with open(path, "rb", buffering=0) as f:
        buf = bytearray(WRITE_BYTES)
        view = memoryview(buf)
        while n := f.readinto(buf):
            digest.update(view[:n])
            size += n
    return PdfFile(path, size, digest)


def working_path(pdf: PdfFile, job_id: str) -> Path:
    """Where a job's input is signed in place (next to the input, so a crash leaves it found)."""
    return pdf.path.with_name(f"{pdf.path.name}.{job_id}{SIGNING_SUFFIX}")


def take(pdf: PdfFile, job_id: str, shared: bool) -> PdfFile:
    """The file to sign in place: the input itself (moved aside), or a copy if another job
    awaiting consent holds the same input."""
    work = working_path(pdf, job_id)
    if shared:
        _copy(pdf.path, work)
    else:
        os.replace(pdf.path, work)
    return PdfFile(work, pdf.size, pdf.digest)


def give_back(work: PdfFile, original: PdfFile) -> None:
    """A signature that failed: the file back to the input's bytes and place."""
    try:
        os.truncate(work.path, work.size)
    except FileNotFoundError:
        return  # it had become the body already: the retry finds no input and says so
    if original.path.exists():
        work.discard()  # a copy (or the same bytes submitted again meanwhile)
    else:
        os.replace(work.path, original.path)


def signed_digest(work: PdfFile, f: BinaryIO) -> tuple[str, int]:
    """SHA-256 and size of the signed file: the input's hash state goes on over the appended
    revision alone (the input part of an incremental update is the input, unchanged)."""
    digest = work.digest.copy()
    f.seek(work.size)
    while chunk := f.read(WRITE_BYTES):
        digest.update(chunk)
    return digest.hexdigest(), f.tell()


def recover(inputs: Path, sha256: str, size: int | None) -> Path | None:
    """After a crash mid-signature: ``inputs/<sha256>.<job>.signing`` truncated back to the
    input (checked against its hash) and put back as ``inputs/<sha256>``."""
    target = inputs / sha256
    if target.exists():
        return target
    for work in sorted(inputs.glob(f"{sha256}.*{SIGNING_SUFFIX}")):
        if size is not None:
            os.truncate(work, size)
        if hash_file(work).sha256 == sha256:
            os.replace(work, target)
            return target
        work.unlink(missing_ok=True)
    return None


def _copy(src: Path, dst: Path) -> None:
    """A private copy made by the kernel (copy_file_range), not through Python buffers."""
    with open(src, "rb") as fin, os.fdopen(open_private(dst), "wb") as fout:
        remaining = os.fstat(fin.fileno()).st_size
        while remaining > 0:
            n = os.copy_file_range(fin.fileno(), fout.fileno(), remaining)
            if n == 0:
                break
            remaining -= n


def close_parsed(parsed: Any) -> None:
    """Close the file under a kept ``parse_pdf`` answer (a job that will not sign now)."""
    if parsed is not None:
        stream = getattr(parsed[1], "stream", None)
        if stream is not None:
            stream.close()
