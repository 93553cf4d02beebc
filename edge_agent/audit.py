"""The agent's audit log: every access decision of the local API, as JSON lines, no secrets.

Kept in ``data_dir/audit.log`` (rotated at ``max_bytes``) and mirrored to the
``puente.audit`` logger. Entries name the origin, the decision and its
reason; never a token, PIN or biometric datum (callers pass only names).
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections import deque
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge_agent.private_files import open_private, private_dir

log = logging.getLogger("puente.audit")

_FORBIDDEN_KEYS = ("token", "pin", "password", "secret", "template", "image")


class AuditLog:
    def __init__(self, path: Path, max_bytes: int = 10 * 1024 * 1024, keep: int = 500) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._recent: deque[dict[str, Any]] = deque(maxlen=keep)
        private_dir(path.parent)

    def record(self, decision: str, **fields: Any) -> None:
        entry: dict[str, Any] = {"at": datetime.now(UTC).isoformat(), "decision": decision}
        for key, value in fields.items():
            if any(bad in key.lower() for bad in _FORBIDDEN_KEYS):
                raise ValueError(f"audit entries never carry {key!r}")
            entry[key] = value
        line = json.dumps(entry, ensure_ascii=False)
        with self._lock:
            self._recent.append(entry)
            if self.path.exists() and self.path.stat().st_size > self.max_bytes:
                os.replace(self.path, self.path.with_suffix(".log.1"))
            fd = open_private(self.path, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
            with os.fdopen(fd, "a", encoding="utf-8") as f:
                f.write(line + "\n")
        log.info("audit %s", decision, extra={k: v for k, v in fields.items() if k == "origin"})

    def recent(self, limit: int = 100) -> list[dict[str, Any]]:
        with self._lock:
            return list(self._recent)[-limit:][::-1]
