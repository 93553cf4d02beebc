"""Document bodies (PDFs, scans) stored by SHA-256, uploaded in resumable chunks.

Files live under ``data_dir/bodies``: ``<aa>/<sha256>`` once complete and
verified, ``partial/<sha256>.part`` while an upload is under way, and a
``.json`` beside each complete body with its size, media type and uploader.
A body is complete only when its bytes hash to its name; a mismatch discards
the partial upload.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import threading
from dataclasses import asdict, dataclass
from pathlib import Path

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class BodyError(Exception):
    code = "body_error"
    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class BadDigest(BodyError):
    code, status = "bad_digest", 422


class OffsetMismatch(BodyError):
    code, status = "offset_mismatch", 409

    def __init__(self, reason: str, offset: int) -> None:
        super().__init__(reason)
        self.offset = offset


class HashMismatch(BodyError):
    code, status = "hash_mismatch", 422


class TooLarge(BodyError):
    code, status = "body_too_large", 413


class LengthMismatch(BodyError):
    code, status = "length_mismatch", 409


@dataclass(frozen=True)
class BodyInfo:
    sha256: str
    size: int
    media_type: str
    stored_at: str
    uploaded_by: str


def check_digest(sha256: str) -> str:
    if not _SHA256.match(sha256):
        raise BadDigest(f"{sha256!r} is not a lowercase hex SHA-256 / no es un SHA-256 hexadecimal")
    return sha256


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class BodyStore:
    def __init__(self, root: Path, max_bytes: int = 200 * 1024 * 1024) -> None:
        self.root = root
        self.max_bytes = max_bytes
        self._locks: dict[str, threading.Lock] = {}
        self._locks_guard = threading.Lock()

    def _lock(self, sha256: str) -> threading.Lock:
        with self._locks_guard:
            return self._locks.setdefault(sha256, threading.Lock())

    def path(self, sha256: str) -> Path:
        return self.root / sha256[:2] / sha256

    def _partial(self, sha256: str) -> Path:
        return self.root / "partial" / f"{sha256}.part"

    def info(self, sha256: str) -> BodyInfo | None:
        meta = self.path(check_digest(sha256)).with_suffix(".json")
        if not meta.exists():
            return None
        return BodyInfo(**json.loads(meta.read_text()))

    def available(self, sha256: str) -> bool:
        """The body is here; False (never an error) for a digest that is not one, as a
        document stored by an older hub may name."""
        try:
            return self.info(sha256) is not None
        except BadDigest:
            return False

    def offset(self, sha256: str) -> int | None:
        """Bytes received so far of an upload under way (None: none started)."""
        partial = self._partial(check_digest(sha256))
        return partial.stat().st_size if partial.exists() else None

    def append(
        self,
        sha256: str,
        offset: int,
        total: int,
        chunk: bytes,
        media_type: str,
        uploaded_by: str,
        now: str,
    ) -> tuple[int, BodyInfo | None]:
        """Append ``chunk`` at ``offset``; returns the new offset and the info once complete."""
        check_digest(sha256)
        if total > self.max_bytes:
            raise TooLarge(
                f"body of {total} bytes exceeds the limit of {self.max_bytes} / "
                f"el documento excede el límite de {self.max_bytes} bytes"
            )
        with self._lock(sha256):
            done = self.info(sha256)
            if done is not None:
                if done.size != total:
                    raise LengthMismatch(
                        f"body {sha256} is stored with {done.size} bytes, not {total} / "
                        "el documento ya existe con otro tamaño"
                    )
                return done.size, done
            partial = self._partial(sha256)
            partial.parent.mkdir(parents=True, exist_ok=True)
            have = partial.stat().st_size if partial.exists() else 0
            if offset != have:
                raise OffsetMismatch(
                    f"upload of {sha256} is at byte {have}, not {offset} / "
                    f"la carga va en el byte {have}, no en {offset}",
                    have,
                )
            if have + len(chunk) > total:
                raise LengthMismatch(
                    f"chunk goes past the declared length {total} / "
                    f"el fragmento excede la longitud declarada {total}"
                )
            with open(partial, "ab") as f:
                f.write(chunk)
                f.flush()
                os.fsync(f.fileno())
            have += len(chunk)
            if have < total:
                return have, None
            return have, self._finish(sha256, partial, total, media_type, uploaded_by, now)

    def _finish(
        self, sha256: str, partial: Path, total: int, media_type: str, uploaded_by: str, now: str
    ) -> BodyInfo:
        digest = hashlib.sha256()
        with open(partial, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        if digest.hexdigest() != sha256:
            partial.unlink()
            raise HashMismatch(
                f"the uploaded bytes hash to {digest.hexdigest()}, not {sha256}; "
                "the upload was discarded / los bytes no coinciden con el hash; carga descartada"
            )
        final = self.path(sha256)
        final.parent.mkdir(parents=True, exist_ok=True)
        os.replace(partial, final)
        info = BodyInfo(sha256, total, media_type, now, uploaded_by)
        meta = final.with_suffix(".json")
        tmp = meta.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(info)))
        os.replace(tmp, meta)
        _fsync_dir(final.parent)
        return info
