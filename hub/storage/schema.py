"""SQLite schema of the hub as numbered migrations, applied once each at start."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime

import sqlite_utils

from hub.storage import case_vitals, central_station, console_facts, registry_schema
from hub.storage import readings as vitals_readings
from hub.storage.biometrics import m100_fingerprint_templates
from hub.storage.case_views import m610_case_views
from hub.storage.dispensing import m900_dispensing
from hub.storage.heartbeat import m820_hub_heartbeat
from hub.storage.payloads import m720_payload_problems, m721_drop_unreadable_readings
from hub.storage.scans import m400_scan_details, m403_scan_expected_pages
from hub.storage.signatures import (
    m200_signature_verdicts,
    m201_simple_signature_checks,
    m202_revocation_verdicts,
)
from hub.storage.station_key_history import m101_station_key_history
from hub.storage.web_users import m600_web_users, m640_web_sessions


def _m1_initial(db: sqlite_utils.Database) -> None:
    # event_id is the dedup key (UNIQUE); ingest_seq is the rowid alias because SQLite
    # allows AUTOINCREMENT only on an INTEGER PRIMARY KEY.
    db.execute(
        """
        CREATE TABLE events (
            ingest_seq INTEGER PRIMARY KEY AUTOINCREMENT,
            event_id TEXT NOT NULL UNIQUE,
            station_id TEXT NOT NULL,
            unit_id TEXT NOT NULL,
            device_id TEXT NOT NULL,
            case_id TEXT NOT NULL,
            patient_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            occurred_at TEXT NOT NULL,
            station_seq INTEGER NOT NULL,
            received_at TEXT NOT NULL,
            clock_offset_ms INTEGER NOT NULL,
            payload_json TEXT,
            raw BLOB NOT NULL
        )
        """
    )
    db.table("events").create_index(["case_id", "occurred_at"], index_name="events_case_time")
    db.table("events").create_index(["station_id", "station_seq"], index_name="events_station_seq")
    # Events whose payload JSON is still to be rendered (filled when ingest is idle).
    db.execute(
        "CREATE INDEX events_payload_pending ON events(ingest_seq) WHERE payload_json IS NULL"
    )
    db.table("cases").create(
        {
            "case_id": str,
            "patient_id": str,
            "unit_id": str,
            "opened_at": str,
            "closed_at": str,
            "opened_by": str,
        },
        pk="case_id",
        not_null={"patient_id", "unit_id", "opened_at", "opened_by"},
    )
    db.table("cases").create_index(["patient_id"], index_name="cases_patient")
    db.table("cases").create_index(["opened_at"], index_name="cases_opened")
    db.table("stations").create(
        {
            "station_id": str,
            "unit_id": str,
            "registered_at": str,
            "retired_at": str,
            "online": int,
            "last_seen_at": str,
            "state_at": str,
            "clock_offset_ms": int,
            "agent_version": str,
            "outbox_depth": int,
        },
        pk="station_id",
        not_null={"unit_id", "registered_at", "online"},
        defaults={"online": 0},
    )
    db.execute(
        """
        CREATE TABLE quarantine (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            received_at TEXT NOT NULL,
            topic TEXT NOT NULL,
            station_id TEXT NOT NULL,
            event_id TEXT UNIQUE,
            reason_code TEXT NOT NULL,
            reason TEXT NOT NULL,
            raw BLOB NOT NULL
        )
        """
    )
    db.table("api_tokens").create(
        {"token_sha256": str, "name": str, "role": str, "created_at": str, "revoked_at": str},
        pk="token_sha256",
        not_null={"name", "role", "created_at"},
    )
    db.table("api_tokens").create_index(["name"], index_name="api_tokens_name")


def _m2_station_keys(db: sqlite_utils.Database) -> None:
    # The public key each station signs its attestations with (set at registration or
    # enrollment); the hub verifies biometric confirmations and simple signatures with it.
    db.table("station_keys").create(
        {"station_id": str, "public_key_pem": str, "key_sha256": str, "set_at": str},
        pk="station_id",
        not_null={"public_key_pem", "key_sha256", "set_at"},
    )


def _m3_documents(db: sqlite_utils.Database) -> None:
    from hub.storage.documents import create_table

    create_table(db.conn)


# Numbering: foundation 1-99; each later capability takes its own hundred
# (fingerprint 100s, signatures 200s, vitals 300s, scans 400s, provisioning 500s,
# console 600s) so that work landing in parallel never collides.
def _m800_event_time_flags(db: sqlite_utils.Database) -> None:
    # Why an event's time cannot be trusted ('' when it can): hub.ingest.clock.
    db.execute("ALTER TABLE events ADD COLUMN time_flag TEXT NOT NULL DEFAULT ''")
    # What a station says ops should know (JSON list of bilingual sentences), and whether its
    # clock offset is the station's own round-trip estimate (1) or received - sent_at (0).
    db.execute("ALTER TABLE stations ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]'")
    db.execute("ALTER TABLE stations ADD COLUMN clock_offset_known INTEGER NOT NULL DEFAULT 0")


def _m801_quarantine_reingest(db: sqlite_utils.Database) -> None:
    # Ops may re-ingest a quarantined event under today's rules (hub.ingest.reingest).
    db.execute("ALTER TABLE quarantine ADD COLUMN reingested_at TEXT")
    db.execute("ALTER TABLE quarantine ADD COLUMN reingest_outcome TEXT")


MIGRATIONS: list[tuple[int, Callable[[sqlite_utils.Database], None]]] = [
    (1, _m1_initial),
    (2, _m2_station_keys),
    (100, m100_fingerprint_templates),
    (101, m101_station_key_history),
    (500, registry_schema.m500_registry),
    (600, m600_web_users),
    (610, m610_case_views),
    (620, console_facts.m620_unit_time_zones),
    (621, console_facts.m621_case_patients),
    (622, console_facts.m622_web_user_epochs),
    (623, central_station.m623_alarm_acks),
    (624, central_station.m624_session_alarm_limits),
    (640, m640_web_sessions),
    (650, console_facts.m650_drop_web_user_epochs),
    (300, vitals_readings.m300_vitals),
    (301, vitals_readings.m301_vitals_backfill),
    (3, _m3_documents),
    (200, m200_signature_verdicts),
    (201, m201_simple_signature_checks),
    (202, m202_revocation_verdicts),
    (400, m400_scan_details),
    (402, vitals_readings.m402_reading_equipment),
    (403, m403_scan_expected_pages),
    (720, m720_payload_problems),
    (721, m721_drop_unreadable_readings),
    (690, case_vitals.m690_readings_by_case_time),
    (800, _m800_event_time_flags),
    (801, _m801_quarantine_reingest),
    (820, m820_hub_heartbeat),
    (900, m900_dispensing),
    (670, registry_schema.m670_device_catalogue),
]


def migrate(conn: sqlite3.Connection) -> int:
    """Apply every migration not yet recorded in schema_migrations; return the version."""
    db = sqlite_utils.Database(conn)
    conn.execute(
        "CREATE TABLE IF NOT EXISTS schema_migrations "
        "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
    )
    done = {row[0] for row in conn.execute("SELECT version FROM schema_migrations")}
    for version, step in sorted(MIGRATIONS, key=lambda m: m[0]):
        if version in done:
            continue
        conn.execute("BEGIN IMMEDIATE")
        try:
            step(db)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)",
                (version, step.__name__.lstrip("_"), datetime.now(UTC).isoformat()),
            )
            conn.execute("COMMIT")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
    return max(v for v, _ in MIGRATIONS)
