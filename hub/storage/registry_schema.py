"""Hub tables of provisioning (migrations 500-599, 670-689): units, devices, codes, certificates,
configs, and the devices each station reports."""

from __future__ import annotations

import sqlite_utils


def m500_registry(db: sqlite_utils.Database) -> None:
    db.execute(
        "CREATE TABLE units "
        "(unit_id TEXT PRIMARY KEY, name TEXT NOT NULL, created_at TEXT NOT NULL)"
    )
    # One row per installation of a physical device at a station's slot (device_id). A
    # replacement closes the row (removed_at) and opens a new one with the same device_id,
    # so "which device produced this event" is the row whose period holds occurred_at.
    db.execute(
        """
        CREATE TABLE devices (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
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
        )
        """
    )
    db.execute(
        "CREATE UNIQUE INDEX devices_active_slot ON devices(station_id, device_id) "
        "WHERE removed_at IS NULL"
    )
    db.execute(
        "CREATE UNIQUE INDEX devices_active_serial ON devices(model, serial) "
        "WHERE removed_at IS NULL AND serial != ''"
    )
    db.execute(
        """
        CREATE TABLE enrollment_codes (
            code_sha256 TEXT PRIMARY KEY,
            station_id TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            used_at TEXT,
            created_by TEXT NOT NULL
        )
        """
    )
    db.execute(
        """
        CREATE TABLE station_certificates (
            serial_hex TEXT PRIMARY KEY,
            station_id TEXT NOT NULL,
            issued_at TEXT NOT NULL,
            not_after TEXT NOT NULL,
            key_sha256 TEXT NOT NULL,
            revoked_at TEXT
        )
        """
    )
    db.execute("CREATE INDEX station_certificates_station ON station_certificates(station_id)")
    db.execute(
        """
        CREATE TABLE station_configs (
            station_id TEXT PRIMARY KEY,
            version INTEGER NOT NULL,
            overrides_json TEXT NOT NULL DEFAULT '{}',
            sealed BLOB NOT NULL,
            published_at TEXT NOT NULL,
            applied_version INTEGER NOT NULL DEFAULT 0,
            applied_error TEXT NOT NULL DEFAULT '',
            reported_at TEXT
        )
        """
    )


def catalogue_names_sql() -> list[str]:
    """Statements that move registry rows to the device catalogue's names (both engines)."""
    from protos.device_catalogue import LEGACY_DRIVERS, LEGACY_TYPES

    out = [
        f"UPDATE devices SET device_type = '{new}' WHERE device_type = '{old}'"
        for old, new in LEGACY_TYPES.items()
    ]
    for old, (new, _implied) in LEGACY_DRIVERS.items():
        if new is not None:  # settings an old name implied are added by the next statements
            out.append(f"UPDATE devices SET driver = '{new}' WHERE driver = '{old}'")
    return out


def implied_settings() -> list[tuple[str, dict[str, object]]]:
    """(old driver name, settings it implied) of the names renamed by migration 670."""
    from protos.device_catalogue import LEGACY_DRIVERS

    return [(old, implied) for old, (new, implied) in LEGACY_DRIVERS.items() if new and implied]


REPORTED_DEVICES_TABLE = """
    CREATE TABLE station_reported_devices (
        station_id TEXT PRIMARY KEY,
        devices_json TEXT NOT NULL,
        state_at TEXT NOT NULL,
        received_at TEXT NOT NULL
    )
"""


def m670_device_catalogue(db: sqlite_utils.Database) -> None:
    """Registry rows take the catalogue's driver names (old names mapped, the settings an
    old name implied added); the devices each station reports get a table."""
    import json

    for old, implied in implied_settings():
        rows = db.execute(
            "SELECT id, options_json FROM devices WHERE driver = ?", (old,)
        ).fetchall()
        for row_id, options in rows:
            merged = {**implied, **json.loads(options or "{}")}
            db.execute(
                "UPDATE devices SET options_json = ? WHERE id = ?",
                (json.dumps(merged, sort_keys=True), row_id),
            )
    for statement in catalogue_names_sql():
        db.execute(statement)
    db.execute(REPORTED_DEVICES_TABLE)
