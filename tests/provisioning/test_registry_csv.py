"""Registry validation, CSV import with per-row errors, export round trip, enrollment codes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from provisioning import csv_io, enrollment
from provisioning.errors import EnrollmentRefused

HEADER = ",".join(csv_io.COLUMNS)
CSV = "\n".join(
    [
        HEADER,
        "U1,Zona 9,st-1,monitor-1,monitor,vitals.serial,BM3,SN1,,,/dev/ttyUSB0,9600,N",
        "U1,,st-1,fp-1,fingerprint,fingerprint.usb,U.are.U,FP1,05ba,000a,,,",
        "U9,,st-9,monitor-1,monitor,sim.monitor,,,,,,,",  # unknown unit
        "U1,,st-2,monitor-1,monitor,vitals.serial,BM3,SN1,,,/dev/ttyUSB0,9600,N",  # dup serial
        "U1,,st-3,monitor-1,monitor,vitals.serial,BM3,SN3,,,/dev/ttyUSB0,14400,N",  # baud
        "U1,,st-4,scan-1,scanner,sim.scanner,,,,,/dev/ttyS0,,",  # port on a non-serial driver
        "U1,,st-5,,,,,,,,,,",  # a station without devices
        "U2,Xela,st-1,,,,,,,,,,",  # st-1 belongs to U1
    ]
)


def test_csv_import_keeps_good_rows_and_reports_each_bad_one() -> None:
    plan = csv_io.plan_import(CSV, {}, {}, {})
    assert plan.rows == 8
    assert [(e.line, e.code) for e in plan.errors] == [
        (4, "unknown_unit"),
        (5, "duplicate_serial"),
        (6, "unsupported_port_setting"),
        (7, "unsupported_port_setting"),
        (9, "station_in_other_unit"),
    ]
    assert "SN1" in plan.errors[1].reason and "st-1/monitor-1" in plan.errors[1].reason
    assert "14400" in plan.errors[2].reason
    assert sorted(plan.units) == ["U1"]
    assert sorted(plan.stations) == ["st-1", "st-5"]
    assert [(d.station_id, d.device_id) for d in plan.devices] == [
        ("st-1", "monitor-1"),
        ("st-1", "fp-1"),
    ]


def test_csv_import_checks_serials_already_in_the_registry() -> None:
    row = "U1,Zona 9,st-1,monitor-1,monitor,vitals.serial,BM3,SN1,,,/dev/ttyUSB0,9600,N"
    plan = csv_io.plan_import(
        f"{HEADER}\n{row}\n", {"U1": "Zona 9"}, {"st-1": "U1"}, {("BM3", "SN1"): "st-8/m"}
    )
    assert [(e.line, e.code) for e in plan.errors] == [(2, "duplicate_serial")]


def test_missing_columns_are_one_error_on_the_header() -> None:
    plan = csv_io.plan_import("unit,station\nU1,st-1\n", {}, {}, {})
    assert [(e.line, e.code) for e in plan.errors] == [(1, "bad_header")]


def test_export_reads_back_to_the_same_registry() -> None:
    plan = csv_io.plan_import(CSV, {}, {}, {})
    text = csv_io.export_csv(plan.units.values(), plan.stations.values(), plan.devices)
    again = csv_io.plan_import(text, {}, {}, {})
    assert again.errors == []
    assert again.devices == plan.devices
    assert again.stations == plan.stations


def test_enrollment_code_is_single_use_short_lived_and_stored_hashed() -> None:
    now = datetime(2025, 3, 1, tzinfo=UTC)
    code, record = enrollment.issue("st-1", timedelta(hours=1), now, "ops")
    assert code not in repr(record)
    assert enrollment.check(record, code.lower().replace("-", ""), now) == record
    with pytest.raises(EnrollmentRefused) as wrong:
        enrollment.check(record, "AAAA-BBBB-CCCC-DDDD", now)
    assert wrong.value.code == "unknown_code"
    with pytest.raises(EnrollmentRefused) as late:
        enrollment.check(record, code, now + timedelta(hours=1))
    assert late.value.code == "code_expired"
    used = enrollment.CodeRecord(**{**vars(record), "used_at": now})
    with pytest.raises(EnrollmentRefused) as reused:
        enrollment.check(used, code, now)
    assert reused.value.code == "code_used"
