"""Console facts kept beside the core tables (migrations 620-629): each unit's time zone and
who the patient of a case is (name, sex, birth date).

Separate tables, so the core tables (units, cases, web_users) and their writers are untouched.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import sqlite_utils

from hub.storage.base import Conflict, Connections

DEFAULT_TIME_ZONE = "America/Guatemala"
SEXES = ("female", "male", "other", "unknown")


def m620_unit_time_zones(db: sqlite_utils.Database) -> None:
    db.execute("CREATE TABLE unit_time_zones (unit_id TEXT PRIMARY KEY, time_zone TEXT NOT NULL)")


def m621_case_patients(db: sqlite_utils.Database) -> None:
    db.execute(
        """
        CREATE TABLE case_patients (
            case_id TEXT PRIMARY KEY,
            name TEXT NOT NULL DEFAULT '',
            name_folded TEXT NOT NULL DEFAULT '',  -- lower case, no accents: for search
            sex TEXT NOT NULL DEFAULT '',
            birth_date TEXT NOT NULL DEFAULT ''    -- YYYY-MM-DD or ''
        )
        """
    )


def m622_web_user_epochs(db: sqlite_utils.Database) -> None:
    # Cookie epochs, replaced by server-side sessions (640) and dropped by 650.
    db.execute("CREATE TABLE web_user_epochs (name TEXT PRIMARY KEY, epoch INTEGER NOT NULL)")


def m650_drop_web_user_epochs(db: sqlite_utils.Database) -> None:
    # Nothing reads or writes the epochs since sessions live in web_sessions (640).
    db.execute("DROP TABLE IF EXISTS web_user_epochs")


def fold(text: str) -> str:
    """Lower case without accents: "José Pérez" and "jose perez" match."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    return "".join(c for c in decomposed if not unicodedata.combining(c)).strip()


def valid_time_zone(name: str) -> str:
    """The IANA zone name if zoneinfo knows it, else ValueError naming it."""
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(
            f"unknown time zone {name!r} (IANA name, e.g. America/Guatemala) / "
            f"zona horaria desconocida {name!r}"
        ) from exc
    return name


@dataclass(frozen=True)
class PatientFacts:
    name: str = ""
    sex: str = ""
    birth_date: str = ""

    def __bool__(self) -> bool:
        return bool(self.name or self.sex or self.birth_date)


class ConsoleFacts:
    """The tables above, in the store's database (its connections, either backend)."""

    def __init__(self, store: Connections) -> None:
        self._store = store

    # -- unit time zones ------------------------------------------------------------------
    def time_zone(self, unit_id: str) -> str:
        row = (
            self._store._conn()
            .execute("SELECT time_zone FROM unit_time_zones WHERE unit_id = ?", (unit_id,))
            .fetchone()
        )
        return row[0] if row else DEFAULT_TIME_ZONE

    def time_zones(self) -> dict[str, str]:
        return dict(self._store._conn().execute("SELECT unit_id, time_zone FROM unit_time_zones"))

    def set_time_zone(self, unit_id: str, time_zone: str) -> None:
        valid_time_zone(time_zone)
        with self._store._write() as conn:
            conn.execute(
                "INSERT INTO unit_time_zones VALUES (?, ?) "
                "ON CONFLICT(unit_id) DO UPDATE SET time_zone = excluded.time_zone",
                (unit_id, time_zone),
            )

    # -- who the patient of a case is -----------------------------------------------------
    def patient(self, case_id: str) -> PatientFacts:
        return self.patients([case_id]).get(case_id, PatientFacts())

    def patients(self, case_ids: list[str]) -> dict[str, PatientFacts]:
        if not case_ids:
            return {}
        marks = ",".join("?" * len(case_ids))
        rows = self._store._conn().execute(
            f"SELECT case_id, name, sex, birth_date FROM case_patients WHERE case_id IN ({marks})",
            case_ids,
        )
        return {r[0]: PatientFacts(r[1], r[2], r[3]) for r in rows}

    def set_patient(self, case_id: str, facts: PatientFacts) -> None:
        """Store once; the same facts again are fine, different ones are a Conflict."""
        with self._store._write() as conn:
            row = conn.execute(
                "SELECT name, sex, birth_date FROM case_patients WHERE case_id = ?", (case_id,)
            ).fetchone()
            if row is not None:
                if PatientFacts(*row) != facts:
                    raise Conflict(
                        f"case {case_id} already names another patient / "
                        f"el caso {case_id} ya tiene otros datos del paciente"
                    )
                return
            conn.execute(
                "INSERT INTO case_patients VALUES (?, ?, ?, ?, ?)",
                (case_id, facts.name, fold(facts.name), facts.sex, facts.birth_date),
            )
