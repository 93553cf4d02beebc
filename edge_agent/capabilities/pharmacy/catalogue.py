"""The station's copy of the medicine catalogue (GTIN -> institute code, name) and used serials.

The hub distributes the catalogue (``GET /v1/pharmacy/catalogue``); the
station keeps the last copy it got in SQLite so dispensing works offline.
The same file remembers every (GTIN, serial) handed over at this station, so
a pack cannot be dispensed twice even across sessions.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from edge_agent.errors import InvalidInput
from edge_agent.private_files import connect_sqlite
from protos import pharmacy_catalogue as contract
from protos.pharmacy_catalogue import Product

PATH = "/v1/pharmacy/catalogue"
_SCHEMA = """
CREATE TABLE IF NOT EXISTS catalogue (
  gtin TEXT PRIMARY KEY, institute_code TEXT NOT NULL, name TEXT NOT NULL,
  units_per_pack INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS catalogue_code ON catalogue(institute_code);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS dispensed_serials (
  gtin TEXT NOT NULL, serial TEXT NOT NULL, session_id TEXT NOT NULL, at TEXT NOT NULL,
  PRIMARY KEY (gtin, serial));
"""


def parse_document(doc: Any) -> tuple[str, list[Product]]:
    """The contract's checks, as the agent's InvalidInput."""
    try:
        return contract.parse_document(doc)
    except contract.CatalogueError as exc:
        raise InvalidInput(str(exc), code="bad_catalogue") from exc


class Catalogue:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._db = connect_sqlite(path, check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(_SCHEMA)
        self._cache: dict[str, Product | None] = {}  # GTIN -> product, cleared on replace

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def replace(self, doc: Any) -> int:
        """Install a catalogue document in one transaction (all or nothing); returns item count."""
        version, products = parse_document(doc)
        with self._lock:
            db = self._db
            db.execute("BEGIN IMMEDIATE")
            try:
                db.execute("DELETE FROM catalogue")
                db.executemany(
                    "INSERT OR REPLACE INTO catalogue VALUES (?, ?, ?, ?)",
                    [(p.gtin, p.institute_code, p.name, p.units_per_pack) for p in products],
                )
                now = datetime.now(UTC).isoformat()
                db.executemany(
                    "INSERT OR REPLACE INTO meta VALUES (?, ?)",
                    [("version", version), ("installed_at", now)],
                )
                db.execute("COMMIT")
                self._cache.clear()
            except BaseException:
                db.execute("ROLLBACK")
                raise
        return len(products)

    def fetch(self, client: Any) -> int:
        """Get the hub's catalogue with an httpx client (base_url = hub) and install it."""
        response = client.get(PATH)
        response.raise_for_status()
        return self.replace(response.json())

    def version(self) -> str:
        with self._lock:
            row = self._db.execute("SELECT value FROM meta WHERE key='version'").fetchone()
        return row[0] if row else ""

    def count(self) -> int:
        with self._lock:
            return int(self._db.execute("SELECT count(*) FROM catalogue").fetchone()[0])

    def lookup(self, gtin: str) -> Product | None:
        with self._lock:
            if gtin in self._cache:
                return self._cache[gtin]
            row = self._db.execute("SELECT * FROM catalogue WHERE gtin=?", (gtin,)).fetchone()
            product = Product(*row) if row else None
            if len(self._cache) >= 10_000:
                self._cache.clear()
            self._cache[gtin] = product
        return product

    def serial_used(self, gtin: str, serial: str) -> str | None:
        """The session that dispensed this pack at this station, if any."""
        with self._lock:
            row = self._db.execute(
                "SELECT session_id FROM dispensed_serials WHERE gtin=? AND serial=?", (gtin, serial)
            ).fetchone()
        return row[0] if row else None

    def mark_dispensed(self, session_id: str, packs: list[tuple[str, str]]) -> None:
        now = datetime.now(UTC).isoformat()
        with self._lock:
            self._db.executemany(
                "INSERT OR IGNORE INTO dispensed_serials VALUES (?, ?, ?, ?)",
                [(g, s, session_id, now) for g, s in packs if s],
            )
