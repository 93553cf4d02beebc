"""Files and folders only the agent's user may read (0600 / 0700), whatever the umask.

Every data file of the agent — outbox, signing jobs, audit log, document bodies
and signed PDFs, scans, the fingerprint template cache, keys, pairings — holds
clinical or secret data. The mode is set when the file is made (``os.open``
with 0600, ``mkdir`` with 0700) and enforced with ``chmod`` (a umask can only
take bits away, but a file made earlier by an older version may be wider).

SQLite makes its ``-wal``, ``-shm`` and ``-journal`` files with the main
database file's mode (unix VFS, ``findCreateFileMode``), so creating the
database file 0600 before SQLite opens it covers all three.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sqlite3
import stat
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

FILE_MODE = 0o600
DIR_MODE = 0o700
SQLITE_SIDE_FILES = ("-wal", "-shm", "-journal")


def private_dir(path: Path) -> Path:
    """``mkdir -p`` where every folder made is 0700, and ``path`` itself is made 0700."""
    missing: list[Path] = []
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        with contextlib.suppress(FileExistsError):
            folder.mkdir(mode=DIR_MODE)
        os.chmod(folder, DIR_MODE)
    if not missing:
        try:
            os.chmod(path, DIR_MODE)
        except PermissionError:  # a folder of another user: say so, the files stay private
            log.warning(
                "%s belongs to another user and stays %o; the agent's files in it are 0600",
                path,
                stat.S_IMODE(path.stat().st_mode),
            )
    return path


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_CREAT | os.O_TRUNC) -> int:
    """``os.open`` that creates the file 0600 and makes an existing one 0600 too."""
    fd = os.open(path, flags | os.O_CLOEXEC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
    except BaseException:
        os.close(fd)
        raise
    return fd


def write_private(path: Path, data: bytes, *, durable: bool = False) -> None:
    """Write ``data`` to ``path`` (0600) through a temporary file and a rename."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with os.fdopen(open_private(tmp), "wb") as f:
        f.write(data)
        if durable:
            f.flush()
            os.fsync(f.fileno())
    os.replace(tmp, path)


def touch_private(path: Path) -> Path:
    """Make ``path`` exist with mode 0600 (without changing an existing file's content)."""
    os.close(open_private(path, os.O_RDWR | os.O_CREAT))
    return path


def connect_sqlite(path: Path, **kwargs: Any) -> sqlite3.Connection:
    """``sqlite3.connect`` to a database whose file (and so its -wal/-shm) is 0600."""
    path = Path(path)
    private_dir(path.parent)
    touch_private(path)
    for suffix in SQLITE_SIDE_FILES:
        side = path.with_name(path.name + suffix)
        if side.exists():
            os.chmod(side, FILE_MODE)
    conn: sqlite3.Connection = sqlite3.connect(path, **kwargs)
    return conn
