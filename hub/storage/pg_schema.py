"""PostgreSQL schema of the hub as numbered migrations, applied once each (`puente hub migrate`
and at start), under an advisory lock so that several workers starting together apply each once.

Version numbers follow hub/storage/schema.py: PostgreSQL migration N has the effect of SQLite
migration N (the same tables, columns, keys and indexes; timestamps stay ISO-8601 text, so both
backends sort and compare them alike). SQLite-only data fixes (301: a vitals backfill of events
stored before the projection existed) have no PostgreSQL counterpart: a PostgreSQL hub starts
with the projection in place.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

_LOCK_KEY = 0x70756E7465  # "punte": the advisory lock key of migrations

MIGRATIONS: list[tuple[int, str, str]] = [
    (
        1,
        "initial",
        """
        CREATE TABLE events (
            ingest_seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            event_id TEXT NOT NULL UNIQUE,
            station_id TEXT NOT NULL,
            unit_id TEXT NOT NULL,
            device_id TEXT NOT NULL,
            case_id TEXT NOT NULL,
            patient_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            occurred_at TEXT NOT NULL,
            station_seq BIGINT NOT NULL,
            received_at TEXT NOT NULL,
            clock_offset_ms BIGINT NOT NULL,
            payload_json TEXT,
            raw BYTEA NOT NULL
        );
        CREATE INDEX events_case_time ON events (case_id, occurred_at);
        CREATE INDEX events_station_seq ON events (station_id, station_seq);
        CREATE INDEX events_payload_pending ON events (ingest_seq) WHERE payload_json IS NULL;
        CREATE TABLE cases (
            case_id TEXT PRIMARY KEY,
            patient_id TEXT NOT NULL,
            unit_id TEXT NOT NULL,
            opened_at TEXT NOT NULL,
            closed_at TEXT,
            opened_by TEXT NOT NULL
        );
        CREATE INDEX cases_patient ON cases (patient_id);
        CREATE INDEX cases_opened ON cases (opened_at);
        CREATE TABLE stations (
            station_id TEXT PRIMARY KEY,
            unit_id TEXT NOT NULL,
            registered_at TEXT NOT NULL,
            retired_at TEXT,
            online INTEGER NOT NULL DEFAULT 0,
            last_seen_at TEXT,
            state_at TEXT,
            clock_offset_ms BIGINT,
            agent_version TEXT,
            outbox_depth BIGINT
        );
        CREATE TABLE quarantine (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            received_at TEXT NOT NULL,
            topic TEXT NOT NULL,
            station_id TEXT NOT NULL,
            event_id TEXT UNIQUE,
            reason_code TEXT NOT NULL,
            reason TEXT NOT NULL,
            raw BYTEA NOT NULL
        );
        CREATE TABLE api_tokens (
            token_sha256 TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            role TEXT NOT NULL,
            created_at TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE INDEX api_tokens_name ON api_tokens (name);
        """,
    ),
    (
        2,
        "station_keys",
        """
        CREATE TABLE station_keys (
            station_id TEXT PRIMARY KEY,
            public_key_pem TEXT NOT NULL,
            key_sha256 TEXT NOT NULL,
            set_at TEXT NOT NULL
        );
        """,
    ),
    (
        3,
        "documents",
        """
        CREATE TABLE documents (
            document_id TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            case_id TEXT NOT NULL,
            patient_id TEXT NOT NULL,
            document_type TEXT NOT NULL,
            origin TEXT NOT NULL,
            media_type TEXT NOT NULL,
            size BIGINT NOT NULL,
            event_id TEXT NOT NULL UNIQUE,
            station_id TEXT NOT NULL,
            occurred_at TEXT NOT NULL,
            title TEXT NOT NULL DEFAULT '',
            pages INTEGER,
            signer_subject TEXT,
            signer_role TEXT,
            signature_level TEXT,
            previous_sha256 TEXT,
            PRIMARY KEY (document_id, sha256)
        );
        CREATE INDEX documents_case ON documents (case_id, occurred_at);
        CREATE INDEX documents_type ON documents (document_type, occurred_at);
        """,
    ),
    (
        100,
        "fingerprint_templates",
        """
        CREATE TABLE fingerprint_templates (
            event_id TEXT PRIMARY KEY,
            patient_id TEXT NOT NULL,
            finger INTEGER NOT NULL,
            template_format TEXT NOT NULL,
            template_sha256 TEXT NOT NULL,
            nonce BYTEA NOT NULL,
            ciphertext BYTEA NOT NULL,
            station_id TEXT NOT NULL,
            enrolled_at TEXT NOT NULL
        );
        CREATE INDEX fingerprint_templates_patient ON fingerprint_templates (patient_id, finger);
        """,
    ),
    (
        101,
        "station_key_history",
        """
        CREATE TABLE station_key_history (
            station_id TEXT NOT NULL,
            key_sha256 TEXT NOT NULL,
            public_key_pem TEXT NOT NULL,
            valid_from TEXT NOT NULL,
            PRIMARY KEY (station_id, valid_from, key_sha256)
        );
        CREATE FUNCTION station_keys_history() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'INSERT' OR NEW.key_sha256 IS DISTINCT FROM OLD.key_sha256 THEN
                INSERT INTO station_key_history
                VALUES (NEW.station_id, NEW.key_sha256, NEW.public_key_pem, NEW.set_at)
                ON CONFLICT DO NOTHING;
            END IF;
            RETURN NEW;
        END $$;
        CREATE TRIGGER station_keys_history AFTER INSERT OR UPDATE ON station_keys
            FOR EACH ROW EXECUTE FUNCTION station_keys_history();
        """,
    ),
    (
        200,
        "signature_verdicts",
        """
        CREATE TABLE signature_verdicts (
            sha256 TEXT PRIMARY KEY,
            document_id TEXT NOT NULL,
            verdict TEXT NOT NULL,
            code TEXT NOT NULL,
            reason TEXT NOT NULL,
            checked_at TEXT NOT NULL,
            duration_ms DOUBLE PRECISION NOT NULL,
            signatures_json TEXT NOT NULL
        );
        CREATE INDEX signature_verdicts_document ON signature_verdicts (document_id);
        """,
    ),
    (
        201,
        "simple_signature_checks",
        """
        CREATE TABLE simple_signature_checks (
            event_id TEXT PRIMARY KEY,
            document_id TEXT NOT NULL,
            sha256 TEXT NOT NULL,
            verdict TEXT NOT NULL,
            code TEXT NOT NULL,
            reason TEXT NOT NULL,
            checked_at TEXT NOT NULL,
            duration_ms DOUBLE PRECISION NOT NULL,
            signatures_json TEXT NOT NULL
        );
        CREATE INDEX simple_signature_checks_document ON simple_signature_checks (document_id);
        """,
    ),
    (
        202,
        "revocation_verdicts",
        """
        ALTER TABLE signature_verdicts ADD COLUMN station_revocation TEXT NOT NULL DEFAULT '';
        CREATE INDEX signature_verdicts_recheck ON signature_verdicts (verdict, checked_at);
        DELETE FROM signature_verdicts;
        """,
    ),
    (
        300,
        "vitals",
        """
        CREATE TABLE vital_sets (
            event_id TEXT PRIMARY KEY,
            case_id TEXT NOT NULL,
            patient_id TEXT NOT NULL,
            station_id TEXT NOT NULL,
            unit_id TEXT NOT NULL,
            device_id TEXT NOT NULL,
            mode TEXT NOT NULL,
            session_id TEXT NOT NULL,
            occurred_at TEXT NOT NULL,
            operator_id TEXT NOT NULL,
            monitor_json TEXT NOT NULL
        );
        CREATE INDEX vital_sets_case ON vital_sets (case_id, occurred_at);
        CREATE INDEX vital_sets_session ON vital_sets (session_id) WHERE session_id != '';
        CREATE TABLE vital_readings (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            event_id TEXT NOT NULL REFERENCES vital_sets (event_id),
            case_id TEXT NOT NULL,
            parameter TEXT NOT NULL,
            mdc_code INTEGER NOT NULL,
            mdc_refid TEXT NOT NULL,
            loinc TEXT NOT NULL,
            value DOUBLE PRECISION NOT NULL,
            unit TEXT NOT NULL,
            measured_at TEXT NOT NULL,
            containment TEXT NOT NULL,
            flags TEXT NOT NULL,
            status TEXT NOT NULL,
            reason_code TEXT NOT NULL,
            reason TEXT NOT NULL
        );
        CREATE INDEX vital_readings_case ON vital_readings (case_id, parameter, measured_at);
        CREATE INDEX vital_readings_time ON vital_readings (measured_at);
        CREATE INDEX vital_readings_event ON vital_readings (event_id);
        """,
    ),
    (
        400,
        "scan_details",
        """
        CREATE TABLE scan_details (
            event_id TEXT PRIMARY KEY,
            document_id TEXT NOT NULL,
            resolution_dpi INTEGER NOT NULL,
            mode TEXT NOT NULL,
            source TEXT NOT NULL,
            blank_pages_dropped INTEGER NOT NULL,
            scanner_model TEXT NOT NULL,
            scanner_vendor TEXT NOT NULL,
            scanner_serial TEXT NOT NULL,
            scanner_driver TEXT NOT NULL
        );
        """,
    ),
    (
        500,
        "registry",
        """
        CREATE TABLE units (unit_id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL);
        CREATE TABLE devices (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            station_id TEXT NOT NULL,
            device_id TEXT NOT NULL,
            device_type TEXT NOT NULL,
            driver TEXT NOT NULL,
            model TEXT NOT NULL DEFAULT '',
            serial TEXT NOT NULL DEFAULT '',
            usb_vendor_id TEXT NOT NULL DEFAULT '',
            usb_product_id TEXT NOT NULL DEFAULT '',
            port TEXT NOT NULL DEFAULT '',
            baud_rate INTEGER,
            parity TEXT NOT NULL DEFAULT '',
            options_json TEXT NOT NULL DEFAULT '{}',
            installed_at TEXT NOT NULL,
            removed_at TEXT
        );
        CREATE UNIQUE INDEX devices_active_slot ON devices (station_id, device_id)
            WHERE removed_at IS NULL;
        CREATE UNIQUE INDEX devices_active_serial ON devices (model, serial)
            WHERE removed_at IS NULL AND serial != '';
        CREATE TABLE enrollment_codes (
            code_sha256 TEXT PRIMARY KEY,
            station_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT,
            created_by TEXT NOT NULL
        );
        CREATE TABLE station_certificates (
            serial_hex TEXT PRIMARY KEY,
            station_id TEXT NOT NULL,
            issued_at TEXT NOT NULL,
            not_after TEXT NOT NULL,
            key_sha256 TEXT NOT NULL,
            revoked_at TEXT
        );
        CREATE INDEX station_certificates_station ON station_certificates (station_id);
        CREATE TABLE station_configs (
            station_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            overrides_json TEXT NOT NULL DEFAULT '{}',
            sealed BYTEA NOT NULL,
            published_at TEXT NOT NULL,
            applied_version INTEGER NOT NULL DEFAULT 0,
            applied_error TEXT NOT NULL DEFAULT '',
            reported_at TEXT
        );
        """,
    ),
    (
        600,
        "web_users",
        """
        CREATE TABLE web_users (
            name TEXT PRIMARY KEY,
            role TEXT NOT NULL,
            password_hash TEXT NOT NULL,
            created_at TEXT NOT NULL,
            disabled_at TEXT
        );
        """,
    ),
    (
        610,
        "case_views",
        """
        CREATE TABLE case_views (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            viewed_at TEXT NOT NULL,
            viewer TEXT NOT NULL,
            role TEXT NOT NULL,
            case_id TEXT NOT NULL,
            what TEXT NOT NULL,
            client TEXT NOT NULL DEFAULT ''
        );
        CREATE INDEX case_views_case ON case_views (case_id, viewed_at);
        CREATE INDEX case_views_viewer ON case_views (viewer, viewed_at);
        """,
    ),
]

MIGRATIONS.append(
    (
        640,
        "web_sessions",
        """
        CREATE TABLE web_sessions (
            sid_sha256 TEXT PRIMARY KEY,
            name TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            ended_at TEXT
        );
        CREATE INDEX web_sessions_name ON web_sessions (name);
        """,
    )
)

# Counterparts of the migrations main added beside this backend (console, vitals, scans,
# payload problems, station clocks, hub heartbeat, pharmacy dispensing).
MIGRATIONS += [
    (
        402,
        "reading_equipment",
        "ALTER TABLE vital_readings ADD COLUMN equipment TEXT NOT NULL DEFAULT '';",
    ),
    (
        403,
        "scan_expected_pages",
        "ALTER TABLE scan_details ADD COLUMN expected_pages INTEGER NOT NULL DEFAULT 0;",
    ),
    (
        620,
        "unit_time_zones",
        "CREATE TABLE unit_time_zones (unit_id TEXT PRIMARY KEY, time_zone TEXT NOT NULL);",
    ),
    (
        621,
        "case_patients",
        """
        CREATE TABLE case_patients (
            case_id TEXT PRIMARY KEY,
            name TEXT NOT NULL DEFAULT '',
            name_folded TEXT NOT NULL DEFAULT '',
            sex TEXT NOT NULL DEFAULT '',
            birth_date TEXT NOT NULL DEFAULT ''
        );
        """,
    ),
    (
        622,
        "web_user_epochs",
        "CREATE TABLE web_user_epochs (name TEXT PRIMARY KEY, epoch BIGINT NOT NULL);",
    ),
    (
        623,
        "alarm_acks",
        """
        CREATE TABLE alarm_acks (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            session_id TEXT NOT NULL,
            case_id TEXT NOT NULL,
            parameter TEXT NOT NULL,
            value DOUBLE PRECISION,
            acked_by TEXT NOT NULL,
            acked_at TEXT NOT NULL
        );
        CREATE INDEX alarm_acks_session ON alarm_acks (session_id, parameter, acked_at);
        """,
    ),
    (
        624,
        "session_alarm_limits",
        """
        CREATE TABLE session_alarm_limits (
            id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            session_id TEXT NOT NULL,
            parameter TEXT NOT NULL,
            low DOUBLE PRECISION,
            high DOUBLE PRECISION,
            set_by TEXT NOT NULL,
            set_at TEXT NOT NULL
        );
        CREATE INDEX session_alarm_limits_s ON session_alarm_limits (session_id, id);
        """,
    ),
    (
        720,
        "payload_problems",
        "ALTER TABLE events ADD COLUMN payload_error TEXT;",
    ),
    (
        721,
        "drop_unreadable_readings",
        # SQLite's GLOB as a POSIX regular expression: same rows dropped.
        """
        DELETE FROM vital_readings WHERE NOT (
            measured_at ~ '^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}.*Z$'
            AND measured_at >= '1970');
        """,
    ),
    (
        690,
        "readings_by_case_time",
        "CREATE INDEX vital_readings_case_time ON vital_readings (case_id, measured_at);",
    ),
    (
        800,
        "event_time_flags",
        """
        ALTER TABLE events ADD COLUMN time_flag TEXT NOT NULL DEFAULT '';
        ALTER TABLE stations ADD COLUMN warnings TEXT NOT NULL DEFAULT '[]';
        ALTER TABLE stations ADD COLUMN clock_offset_known INTEGER NOT NULL DEFAULT 0;
        """,
    ),
    (
        801,
        "quarantine_reingest",
        """
        ALTER TABLE quarantine ADD COLUMN reingested_at TEXT;
        ALTER TABLE quarantine ADD COLUMN reingest_outcome TEXT;
        """,
    ),
    (
        820,
        "hub_heartbeat",
        "CREATE TABLE hub_heartbeat (holder TEXT PRIMARY KEY, written_at TEXT NOT NULL);",
    ),
    (
        900,
        "dispensing",
        """
        CREATE TABLE dispensings (
            event_id TEXT PRIMARY KEY,
            case_id TEXT NOT NULL,
            patient_id TEXT NOT NULL,
            station_id TEXT NOT NULL,
            occurred_at TEXT NOT NULL,
            session_id TEXT NOT NULL,
            prescription_id TEXT NOT NULL,
            pharmacist_id TEXT NOT NULL,
            confirmation_event_id TEXT NOT NULL,
            confirmation_decision TEXT NOT NULL,
            catalogue_version TEXT NOT NULL,
            lines_json TEXT NOT NULL,
            differences_json TEXT NOT NULL
        );
        CREATE INDEX dispensings_case ON dispensings (case_id, occurred_at);
        CREATE TABLE dispensed_items (
            event_id TEXT NOT NULL,
            position INTEGER NOT NULL,
            gtin TEXT NOT NULL,
            institute_code TEXT NOT NULL,
            name TEXT NOT NULL,
            lot TEXT NOT NULL,
            expiry TEXT NOT NULL,
            serial TEXT NOT NULL,
            quantity INTEGER NOT NULL,
            warning TEXT NOT NULL,
            PRIMARY KEY (event_id, position)
        );
        CREATE INDEX dispensed_items_lot ON dispensed_items (lot, gtin);
        CREATE INDEX dispensed_items_serial ON dispensed_items (gtin, serial);
        CREATE TABLE pharmacy_catalogue (
            id INTEGER PRIMARY KEY CHECK (id = 1),
            version TEXT NOT NULL,
            document TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        """,
    ),
]

MIGRATIONS.append((650, "drop_web_user_epochs", "DROP TABLE IF EXISTS web_user_epochs;"))


def _m670_device_catalogue() -> str:
    """The same steps as SQLite's m670: catalogue names, implied settings, reported devices."""
    import json

    from hub.storage import registry_schema

    steps = []
    for old, implied in registry_schema.implied_settings():
        extra = json.dumps(implied).replace("'", "''")
        steps.append(
            f"UPDATE devices SET options_json = ('{extra}'::jsonb || options_json::jsonb)::text "
            f"WHERE driver = '{old}'"
        )
    steps += registry_schema.catalogue_names_sql()
    steps.append(registry_schema.REPORTED_DEVICES_TABLE)
    return ";\n".join(steps) + ";"


MIGRATIONS.append((670, "device_catalogue", _m670_device_catalogue()))

# The key of each table INSERT OR REPLACE writes (PostgreSQL's ON CONFLICT needs it named).
CONFLICT_KEYS = {
    "signature_verdicts": "sha256",
    "simple_signature_checks": "event_id",
    "station_keys": "station_id",
    "station_configs": "station_id",
    "unit_time_zones": "unit_id",
    "case_patients": "case_id",
    "hub_heartbeat": "holder",
    "pharmacy_catalogue": "id",
    "dispensings": "event_id",
}


def migrate(conn: Any) -> int:
    """Apply every migration not yet recorded, in one transaction; return the version.
    `conn`: a psycopg connection in autocommit mode."""
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_LOCK_KEY,))
        conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)"
        )
        done = {r[0] for r in conn.execute("SELECT version FROM schema_migrations")}
        for version, name, sql in sorted(MIGRATIONS):
            if version in done:
                continue
            conn.execute(sql)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, applied_at) VALUES (%s, %s, %s)",
                (version, name, datetime.now(UTC).isoformat()),
            )
    return max(v for v, _, _ in MIGRATIONS)
