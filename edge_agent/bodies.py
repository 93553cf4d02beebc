"""Document bodies at the station: kept by SHA-256 on disk, uploaded to the hub resumably.

A body is written and fsynced before the event that names it is appended to
the outbox, so a crash never leaves an event pointing at nothing. The
uploader sends pending bodies in chunks (``HEAD`` for the hub's offset, then
``PATCH`` from there), so a link that drops mid-upload resumes where it was,
and forgets a body only when the hub answers that it holds it complete and
verified. See hub/api/bodies.py for the protocol.
"""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import random
import sys
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from edge_agent.hub_client import hub_client
from edge_agent.private_files import open_private, private_dir, write_private
from edge_agent.settings import AgentSettings

if TYPE_CHECKING:
    import httpx

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StoredBody:
    sha256: str
    size: int
    media_type: str


class LocalBodies:
    """Content-addressed files: ``<sha256>`` with ``<sha256>.pending`` until uploaded."""

    def __init__(self, root: Path) -> None:
        self.root = root
        private_dir(root)

    def put(self, data: bytes, media_type: str, sha256: str | None = None) -> StoredBody:
        """Store ``data`` durably. ``sha256``: its digest when the caller already has it
        (computed without a second pass over the bytes); it names the file, so it must be right.
        """
        sha256 = sha256 or hashlib.sha256(data).hexdigest()
        path = self.root / sha256
        if not path.exists():
            write_private(path, data, durable=True)
        return self._queue(sha256, len(data), media_type)

    def adopt(self, path: Path, media_type: str, sha256: str, size: int) -> StoredBody:
        """Keep the file at ``path`` (``sha256`` and ``size`` are its, computed by the caller)
        as a body: fsynced, then renamed into the store (no copy; same file system)."""
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        target = self.root / sha256
        try:
            os.replace(path, target)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            write_private(target, path.read_bytes(), durable=True)  # another file system
            path.unlink(missing_ok=True)
        return self._queue(sha256, size, media_type)

    def _queue(self, sha256: str, size: int, media_type: str) -> StoredBody:
        marker = self.root / f"{sha256}.pending"
        with os.fdopen(open_private(marker), "w") as f:
            f.write(media_type)
        fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return StoredBody(sha256, size, media_type)

    def read(self, sha256: str) -> bytes:
        return (self.root / sha256).read_bytes()

    def path(self, sha256: str) -> Path:
        """Where the body named ``sha256`` is (for an answer streamed from the file)."""
        return self.root / sha256

    def pending(self) -> list[StoredBody]:
        out = []
        for marker in sorted(self.root.glob("*.pending"), key=lambda p: p.stat().st_mtime):
            sha256 = marker.name.removesuffix(".pending")
            body = self.root / sha256
            if body.exists():
                out.append(StoredBody(sha256, body.stat().st_size, marker.read_text()))
        return out

    def mark_uploaded(self, sha256: str) -> None:
        (self.root / f"{sha256}.pending").unlink(missing_ok=True)

    def mark_failed(self, sha256: str) -> None:
        """The hub refused the bytes for good (they no longer hash to their name)."""
        marker = self.root / f"{sha256}.pending"
        if marker.exists():
            os.replace(marker, self.root / f"{sha256}.failed")


class BodyUploader:
    """One thread that uploads pending bodies to the hub, resuming after any failure."""

    def __init__(self, settings: AgentSettings, bodies: LocalBodies) -> None:
        self.settings = settings
        self.bodies = bodies
        self.bytes_sent = 0
        self.uploaded = 0
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._rng = random.Random()

    def start(self) -> None:
        if not self.settings.hub_url:
            log.info("no hub_url: document bodies stay at the station until one is configured")
            return
        self._thread = threading.Thread(target=self._run, name="body-uploader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(10)

    def wake(self) -> None:
        self._wake.set()

    def submit(self, data: bytes, media_type: str, sha256: str | None = None) -> StoredBody:
        """Keep ``data`` durably at the station and queue it for upload."""
        body = self.bodies.put(data, media_type, sha256)
        self._wake.set()
        return body

    def adopt(self, path: Path, media_type: str, sha256: str, size: int) -> StoredBody:
        """Keep the file at ``path`` durably as a body (renamed, not copied) and queue it."""
        body = self.bodies.adopt(path, media_type, sha256, size)
        self._wake.set()
        return body

    def _client(self) -> httpx.Client:
        return hub_client(self.settings)

    def _run(self) -> None:
        attempt = 0
        client: httpx.Client | None = None
        try:
            while not self._stop.is_set():
                self._wake.clear()
                try:
                    pending = self.bodies.pending()
                    if pending and client is None:
                        client = self._client()
                    for body in pending:
                        if self._stop.is_set():
                            return
                        assert client is not None
                        self.upload(client, body)
                    attempt = 0
                    self._wake.wait(30)
                except Exception as exc:
                    if not _retryable(exc):
                        raise
                    delay = self._rng.uniform(0.2, min(30.0, 0.5 * 2 ** min(attempt, 6)))
                    attempt += 1
                    log.warning("body upload interrupted (%s); retrying in %.1fs", exc, delay)
                    self._stop.wait(delay)
        finally:
            if client is not None:
                client.close()

    def upload(self, client: httpx.Client, body: StoredBody) -> None:
        """Send what the hub lacks of ``body``; mark it uploaded once the hub verified it."""
        url = f"/v1/bodies/{body.sha256}"
        head = client.head(url)
        head.raise_for_status()
        if head.headers.get("Upload-Complete") == "?1":
            self.bodies.mark_uploaded(body.sha256)
            return
        offset = int(head.headers.get("Upload-Offset", "0"))
        data = self.bodies.read(body.sha256)
        chunk_size = self.settings.body_chunk_bytes
        while offset < body.size and not self._stop.is_set():
            chunk = data[offset : offset + chunk_size]
            response = client.patch(
                url,
                content=chunk,
                headers={
                    "Upload-Offset": str(offset),
                    "Upload-Length": str(body.size),
                    "Content-Type": "application/offset+octet-stream",
                    "Body-Media-Type": body.media_type,
                },
            )
            if response.status_code == 409 and "Upload-Offset" in response.headers:
                offset = int(response.headers["Upload-Offset"])  # the hub says where it is
                continue
            if response.status_code in (413, 422):
                log.error("hub refused body %s for good: %s", body.sha256, response.text[:300])
                self.bodies.mark_failed(body.sha256)
                return
            response.raise_for_status()
            self.bytes_sent += len(chunk)
            offset = int(response.headers["Upload-Offset"])
            if response.headers.get("Upload-Complete") == "?1":
                self.bodies.mark_uploaded(body.sha256)
                self.uploaded += 1
                log.info("body %s uploaded (%d bytes)", body.sha256, body.size)
                return


def _retryable(exc: Exception) -> bool:
    """A transport error or a local file error: retried with backoff (httpx is loaded by then)."""
    if isinstance(exc, OSError):
        return True
    httpx = sys.modules.get("httpx")
    return httpx is not None and isinstance(exc, httpx.HTTPError)
