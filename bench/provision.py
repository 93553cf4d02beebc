"""Provisioning figures: CSV import of 112 units × 40 stations × 4 devices and 100 enrollments
back to back, each against the hub's bare insert of the same rows in the same run.

Run: .venv/bin/python -m bench.provision
"""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric import ec

from hub.fleet import FleetService
from hub.ingest.timefmt import now_iso
from hub.settings import HubSettings
from hub.storage.sqlite import SQLiteStore
from provisioning import csv_io
from provisioning.pki import make_csr

UNITS, STATIONS, DEVICES = 112, 40, 4
ENROLLMENTS = 100
# (device type, catalogue driver, settings cell)
_KINDS = [
    ("vitals", "nonin.format2", ""),
    ("fingerprint", "usb.fingerprint", ""),
    ("scanner", "sane", "device=fujitsu:fi-7160"),
    ("token", "pkcs11", "module=/usr/lib/libeTPkcs11.so"),
]


def make_csv() -> str:
    lines = [",".join(csv_io.COLUMNS)]
    for u in range(UNITS):
        for s in range(STATIONS):
            for d, (kind, driver, settings) in enumerate(_KINDS[:DEVICES]):
                serial = f"SN-{u:03d}-{s:02d}-{d}"
                monitor = kind == "vitals"
                lines.append(
                    ",".join(
                        [
                            f"U{u:03d}",
                            f"Unidad {u}",
                            f"U{u:03d}-S{s:02d}",
                            f"{kind}-1",
                            kind,
                            driver,
                            f"M-{kind}",
                            serial,
                            *(("", "") if monitor else ("05ba", "000a")),
                            *(("/dev/ttyUSB0", "9600", "N") if monitor else ("", "", "")),
                            settings,
                        ]
                    )
                )
    return "\n".join(lines) + "\n"


def store_at(path: Path) -> SQLiteStore:
    store = SQLiteStore(path)
    store.migrate()
    return store


def bare_insert(store: SQLiteStore, plan: csv_io.ImportPlan) -> None:
    """The floor: the same rows, one transaction, executemany, no validation."""
    at = now_iso()
    with store._write() as conn:
        conn.executemany(
            "INSERT INTO units VALUES (?, ?, ?)",
            [(u.unit_id, u.name, at) for u in plan.units.values()],
        )
        conn.executemany(
            "INSERT INTO stations (station_id, unit_id, registered_at, online) VALUES (?, ?, ?, 0)",
            [(s.station_id, s.unit_id, at) for s in plan.stations.values()],
        )
        conn.executemany(
            "INSERT INTO devices (station_id, device_id, device_type, driver, model, serial, "
            "usb_vendor_id, usb_product_id, port, baud_rate, parity, installed_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
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
                    at,
                )
                for d in plan.devices
            ],
        )


def main() -> None:
    text = make_csv()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        base = store_at(tmp / "bare.sqlite3")
        reference = csv_io.plan_import(text, {}, {}, {})
        assert not reference.errors, reference.errors[:3]
        t0 = time.perf_counter()
        bare_insert(base, reference)
        bare_s = time.perf_counter() - t0

        store = store_at(tmp / "hub.sqlite3")
        reg = store.registry()
        t0 = time.perf_counter()
        plan = csv_io.plan_import(text, reg.units(), reg.stations(), reg.active_serials())
        reg.import_rows(plan.units.values(), plan.stations.values(), plan.devices, now_iso())
        import_s = time.perf_counter() - t0
        assert len(reg.devices()) == UNITS * STATIONS * DEVICES

        fleet = FleetService(HubSettings(data_dir=tmp / "hub"), store)
        stations = sorted(plan.stations)[:ENROLLMENTS]
        csrs = [make_csr(ec.generate_private_key(ec.SECP256R1())).decode() for _ in stations]
        t0 = time.perf_counter()
        for station_id, csr in zip(stations, csrs, strict=True):
            code, _ = fleet.create_code(station_id, "bench")
            fleet.enroll(code, csr)
        enroll_s = time.perf_counter() - t0
        # Bare insert of what enrollment writes per station: a code, a certificate, a key,
        # a config row.
        t0 = time.perf_counter()
        with base._write() as conn:
            at = now_iso()
            for i, station_id in enumerate(stations):
                conn.execute(
                    "INSERT INTO enrollment_codes VALUES (?, ?, ?, ?, ?, 'bench')",
                    (f"h{i}", station_id, at, at, at),
                )
                conn.execute(
                    "INSERT INTO station_certificates VALUES (?, ?, ?, ?, ?, NULL)",
                    (f"s{i}", station_id, at, at, "k"),
                )
                conn.execute(
                    "INSERT INTO station_keys VALUES (?, ?, ?, ?)", (station_id, "pem", "k", at)
                )
                conn.execute(
                    "INSERT INTO station_configs (station_id, version, sealed, "
                    "published_at) VALUES (?, 1, x'00', ?)",
                    (station_id, at),
                )
        bare_enroll_s = time.perf_counter() - t0
        store.close()
        base.close()
    rows = UNITS * STATIONS * DEVICES
    result = {
        "csv_rows": rows,
        "import_s": round(import_s, 3),
        "bare_insert_s": round(bare_s, 3),
        "import_vs_bare": round(import_s / bare_s, 2),
        "import_rows_per_s": round(rows / import_s),
        "enrollments": ENROLLMENTS,
        "enroll_s": round(enroll_s, 3),
        "enroll_ms_each": round(enroll_s / ENROLLMENTS * 1000, 2),
        "bare_enroll_rows_s": round(bare_enroll_s, 4),
        "enroll_vs_bare": round(enroll_s / bare_enroll_s, 1),
    }
    print(json.dumps(result, indent=2))
    out = Path(__file__).parent / "results" / "provision.json"
    out.parent.mkdir(exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
