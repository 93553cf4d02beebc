"""Hub storage of the fleet registry: units, devices (with history), codes, certificates, configs.

Shares the SQLite store's per-thread connections and its write lock, so writes
of the registry and of ingest are serialised the same way.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from hub.storage.base import Conflict, Duplicate, NotFound
from provisioning.enrollment import CodeRecord
from provisioning.registry import Device, Station, Unit

_DEVICE_COLS = (
    "station_id, device_id, device_type, driver, model, serial, usb_vendor_id, usb_product_id, "
    "port, baud_rate, parity, options_json"
)


class _Connections(Protocol):
    def _conn(self) -> sqlite3.Connection: ...
    def _write(self) -> AbstractContextManager[sqlite3.Connection]: ...


@dataclass(frozen=True)
class DeviceRecord:
    device: Device
    installed_at: str
    removed_at: str | None


@dataclass(frozen=True)
class CertificateRecord:
    serial_hex: str
    station_id: str
    issued_at: str
    not_after: str
    key_sha256: str
    revoked_at: str | None


@dataclass(frozen=True)
class ConfigRecord:
    station_id: str
    version: int
    overrides: dict[str, Any]
    sealed: bytes
    published_at: str
    applied_version: int
    applied_error: str
    reported_at: str | None


def _device(row: sqlite3.Row | tuple[Any, ...]) -> Device:
    return Device(
        station_id=row[0],
        device_id=row[1],
        device_type=row[2],
        driver=row[3],
        model=row[4],
        serial=row[5],
        usb_vendor_id=row[6],
        usb_product_id=row[7],
        port=row[8],
        baud_rate=row[9],
        parity=row[10],
        options=json.loads(row[11] or "{}"),
    )


def _device_values(d: Device, at: str) -> tuple[Any, ...]:
    return (
        d.station_id,
        d.device_id,
        d.device_type,
        d.driver,
        d.model,
        d.serial,
        d.usb_vendor_id,
        d.usb_product_id,
        d.port,
        d.baud_rate,
        d.parity,
        json.dumps(d.options, sort_keys=True),
        at,
    )


class RegistryStore:
    def __init__(self, store: _Connections) -> None:
        self._store = store

    def _conn(self) -> sqlite3.Connection:
        return self._store._conn()

    def _write(self) -> AbstractContextManager[sqlite3.Connection]:
        return self._store._write()

    # -- units -------------------------------------------------------------------------
    def add_unit(self, unit: Unit, at: str) -> bool:
        with self._write() as conn:
            row = conn.execute(
                "SELECT name FROM units WHERE unit_id = ?", (unit.unit_id,)
            ).fetchone()
            if row is not None:
                return False
            conn.execute("INSERT INTO units VALUES (?, ?, ?)", (unit.unit_id, unit.name, at))
            return True

    def units(self) -> dict[str, str]:
        return dict(self._conn().execute("SELECT unit_id, name FROM units ORDER BY unit_id"))

    def stations(self) -> dict[str, str]:
        """station_id → unit_id of every registered station (retired ones too)."""
        return dict(self._conn().execute("SELECT station_id, unit_id FROM stations"))

    # -- bulk (CSV import) -------------------------------------------------------------
    def import_rows(
        self, units: Iterable[Unit], stations: Iterable[Station], devices: Iterable[Device], at: str
    ) -> None:
        """Insert a validated plan in one transaction."""
        with self._write() as conn:
            conn.executemany(
                "INSERT OR IGNORE INTO units VALUES (?, ?, ?)",
                ((u.unit_id, u.name, at) for u in units),
            )
            conn.executemany(
                "INSERT OR IGNORE INTO stations (station_id, unit_id, registered_at, online) "
                "VALUES (?, ?, ?, 0)",
                ((s.station_id, s.unit_id, at) for s in stations),
            )
            self._upsert_devices(conn, devices, at)

    @staticmethod
    def _upsert_devices(conn: sqlite3.Connection, devices: Iterable[Device], at: str) -> None:
        for d in devices:
            current = conn.execute(
                f"SELECT {_DEVICE_COLS} FROM devices "
                "WHERE station_id = ? AND device_id = ? AND removed_at IS NULL",
                (d.station_id, d.device_id),
            ).fetchone()
            if current is not None and _device(current) == d:
                continue
            if current is not None:
                conn.execute(
                    "UPDATE devices SET removed_at = ? WHERE station_id = ? AND device_id = ? "
                    "AND removed_at IS NULL",
                    (at, d.station_id, d.device_id),
                )
            conn.execute(
                f"INSERT INTO devices ({_DEVICE_COLS}, installed_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _device_values(d, at),
            )

    # -- devices -----------------------------------------------------------------------
    def active_serials(self) -> dict[tuple[str, str], str]:
        rows = self._conn().execute(
            "SELECT model, serial, station_id || '/' || device_id FROM devices "
            "WHERE removed_at IS NULL AND serial != ''"
        )
        return {(r[0], r[1]): r[2] for r in rows}

    def put_device(self, device: Device, at: str) -> None:
        """Install (or replace: the previous device at the slot is closed at ``at``)."""
        try:
            with self._write() as conn:
                self._upsert_devices(conn, [device], at)
        except (sqlite3.IntegrityError, Duplicate) as exc:
            raise Conflict(
                f"duplicate serial {device.serial} ({device.model}) / número de serie duplicado"
            ) from exc

    def remove_device(self, station_id: str, device_id: str, at: str) -> None:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE devices SET removed_at = ? WHERE station_id = ? AND device_id = ? "
                "AND removed_at IS NULL",
                (at, station_id, device_id),
            )
            if cur.rowcount == 0:
                raise NotFound(f"no device {device_id} at {station_id} / no existe el dispositivo")

    def devices(self, station_id: str | None = None) -> list[Device]:
        sql = f"SELECT {_DEVICE_COLS} FROM devices WHERE removed_at IS NULL"
        args: tuple[Any, ...] = ()
        if station_id is not None:
            sql += " AND station_id = ?"
            args = (station_id,)
        return [
            _device(r) for r in self._conn().execute(sql + " ORDER BY station_id, device_id", args)
        ]

    def device_history(self, station_id: str) -> list[DeviceRecord]:
        rows = self._conn().execute(
            f"SELECT {_DEVICE_COLS}, installed_at, removed_at FROM devices WHERE station_id = ? "
            "ORDER BY device_id, installed_at, id",
            (station_id,),
        )
        return [DeviceRecord(_device(r), r[12], r[13]) for r in rows]

    def device_at(self, station_id: str, device_id: str, at: str) -> Device | None:
        """The physical device installed at the slot at time ``at`` (ISO UTC)."""
        row = (
            self._conn()
            .execute(
                f"SELECT {_DEVICE_COLS} FROM devices WHERE station_id = ? AND device_id = ? "
                "AND installed_at <= ? AND (removed_at IS NULL OR removed_at > ?) "
                "ORDER BY id DESC LIMIT 1",
                (station_id, device_id, at, at),
            )
            .fetchone()
        )
        return _device(row) if row else None

    # -- enrollment codes --------------------------------------------------------------
    def add_code(self, record: CodeRecord) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO enrollment_codes VALUES (?, ?, ?, ?, NULL, ?)",
                (
                    record.code_sha256,
                    record.station_id,
                    record.created_at.isoformat(),
                    record.expires_at.isoformat(),
                    record.created_by,
                ),
            )

    def find_code(self, code_sha256: str) -> CodeRecord | None:
        row = (
            self._conn()
            .execute(
                "SELECT code_sha256, station_id, created_at, expires_at, used_at, created_by "
                "FROM enrollment_codes WHERE code_sha256 = ?",
                (code_sha256,),
            )
            .fetchone()
        )
        if row is None:
            return None
        return CodeRecord(
            row[0],
            row[1],
            datetime.fromisoformat(row[2]),
            datetime.fromisoformat(row[3]),
            datetime.fromisoformat(row[4]) if row[4] else None,
            row[5],
        )

    def use_code(self, code_sha256: str, at: str) -> bool:
        """Mark used; False if someone used it first (single use under concurrency)."""
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE enrollment_codes SET used_at = ? WHERE code_sha256 = ? AND used_at IS NULL",
                (at, code_sha256),
            )
            return cur.rowcount == 1

    def drop_codes(self, station_id: str) -> None:
        with self._write() as conn:
            conn.execute(
                "DELETE FROM enrollment_codes WHERE station_id = ? AND used_at IS NULL",
                (station_id,),
            )

    # -- certificates ------------------------------------------------------------------
    def add_certificate(self, cert: CertificateRecord) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO station_certificates VALUES (?, ?, ?, ?, ?, NULL)",
                (cert.serial_hex, cert.station_id, cert.issued_at, cert.not_after, cert.key_sha256),
            )

    def revoke_certificates(self, station_id: str, at: str, keep_serial: str | None = None) -> int:
        with self._write() as conn:
            cur = conn.execute(
                "UPDATE station_certificates SET revoked_at = ? WHERE station_id = ? "
                "AND revoked_at IS NULL AND serial_hex != ?",
                (at, station_id, keep_serial or ""),
            )
            return cur.rowcount

    def certificates(self, station_id: str | None = None) -> list[CertificateRecord]:
        sql = "SELECT * FROM station_certificates"
        args: tuple[Any, ...] = ()
        if station_id is not None:
            sql += " WHERE station_id = ?"
            args = (station_id,)
        return [
            CertificateRecord(*r) for r in self._conn().execute(sql + " ORDER BY issued_at", args)
        ]

    def revoked(self) -> list[tuple[str, str]]:
        return list(
            self._conn().execute(
                "SELECT serial_hex, revoked_at FROM station_certificates "
                "WHERE revoked_at IS NOT NULL"
            )
        )

    # -- configs -----------------------------------------------------------------------
    def config(self, station_id: str) -> ConfigRecord | None:
        row = (
            self._conn()
            .execute(
                "SELECT station_id, version, overrides_json, sealed, published_at, "
                "applied_version, "
                "applied_error, reported_at FROM station_configs WHERE station_id = ?",
                (station_id,),
            )
            .fetchone()
        )
        if row is None:
            return None
        return ConfigRecord(row[0], row[1], json.loads(row[2]), bytes(row[3]), *row[4:])

    def configs(self) -> Iterator[ConfigRecord]:
        for (station_id,) in (
            self._conn().execute("SELECT station_id FROM station_configs").fetchall()
        ):
            record = self.config(station_id)
            if record is not None:
                yield record

    def save_config(
        self, station_id: str, version: int, overrides: dict[str, Any], sealed: bytes, at: str
    ) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO station_configs (station_id, version, overrides_json, sealed, "
                "published_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT(station_id) DO UPDATE SET "
                "version = excluded.version, overrides_json = excluded.overrides_json, "
                "sealed = excluded.sealed, published_at = excluded.published_at",
                (station_id, version, json.dumps(overrides, sort_keys=True), sealed, at),
            )

    def config_report(self, station_id: str, version: int, error: str, at: str) -> None:
        with self._write() as conn:
            conn.execute(
                "UPDATE station_configs SET applied_version = ?, applied_error = ?, "
                "reported_at = ? "
                "WHERE station_id = ?",
                (version, error, at, station_id),
            )

    # -- devices as each station reports them (its state messages) ---------------------
    def save_reported(
        self, station_id: str, devices: list[dict[str, Any]], state_at: str, at: str
    ) -> bool:
        """Keep the station's latest reported device list (an older state is ignored)."""
        with self._write() as conn:
            cur = conn.execute(
                "INSERT INTO station_reported_devices (station_id, devices_json, state_at, "
                "received_at) VALUES (?, ?, ?, ?) ON CONFLICT(station_id) DO UPDATE SET "
                "devices_json = excluded.devices_json, state_at = excluded.state_at, "
                "received_at = excluded.received_at "
                "WHERE station_reported_devices.state_at <= excluded.state_at",
                (station_id, json.dumps(devices, sort_keys=True), state_at, at),
            )
            return cur.rowcount == 1

    def reported(self, station_ids: Iterable[str] | None = None) -> dict[str, ReportedDevices]:
        """station_id → the devices it last reported (stations that never did are absent)."""
        sql = "SELECT station_id, devices_json, state_at FROM station_reported_devices"
        args: tuple[Any, ...] = ()
        if station_ids is not None:
            wanted = list(dict.fromkeys(station_ids))
            if not wanted:
                return {}
            sql += f" WHERE station_id IN ({', '.join('?' for _ in wanted)})"
            args = tuple(wanted)
        return {
            r[0]: ReportedDevices(tuple(json.loads(r[1])), r[2])
            for r in self._conn().execute(sql, args)
        }

    # -- device health (read from the stations' DeviceStatus events) -------------------
    def device_health(self, station_id: str, scan: int = 500) -> dict[str, DeviceHealth]:
        """device_id → its latest reported state (among the station's last ``scan`` reports)."""
        from protos import events_pb2

        rows = self._conn().execute(
            "SELECT device_id, occurred_at, raw FROM events WHERE station_id = ? "
            "AND kind = 'device_status' ORDER BY station_seq DESC LIMIT ?",
            (station_id, scan),
        )
        out: dict[str, DeviceHealth] = {}
        for device_id, occurred_at, raw in rows:
            if device_id in out:
                continue
            status = events_pb2.Event.FromString(raw).device_status
            out[device_id] = DeviceHealth(
                events_pb2.DeviceState.Name(status.state).lower(),
                status.error_code,
                occurred_at,
            )
        return out


@dataclass(frozen=True)
class ReportedDevices:
    """What a station's agent said it runs: one dict per device (device_id, driver, family,
    state, since, error_code, model, serial), as of ``state_at``."""

    devices: tuple[dict[str, Any], ...]
    state_at: str


@dataclass(frozen=True)
class DeviceHealth:
    state: str  # connected, disconnected, error, busy, unsupported
    error_code: str
    at: str
