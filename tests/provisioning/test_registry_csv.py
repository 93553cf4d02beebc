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
        "U1,Zona 9,st-1,monitor-1,vitals,nonin.format2,WristOx2,SN1,,,/dev/ttyUSB0,9600,N,",
        "U1,,st-1,fp-1,fingerprint,usb.fingerprint,U.are.U,FP1,05ba,000a,,,,",
        "U9,,st-9,monitor-1,vitals,sim.monitor,,,,,,,,",  # unknown unit
        "U1,,st-2,monitor-1,vitals,nonin.format2,WristOx2,SN1,,,/dev/ttyUSB0,9600,N,",  # dup serial
        "U1,,st-3,monitor-1,vitals,nonin.format2,WristOx2,SN3,,,/dev/ttyUSB0,14400,N,",  # baud
        "U1,,st-4,scan-1,scanner,sane,Fi-7160,SC1,,,/dev/ttyS0,,,device=fujitsu:fi-7160",  # port
        "U1,,st-5,,,,,,,,,,,",  # a station without devices
        "U2,Xela,st-1,,,,,,,,,,,",  # st-1 belongs to U1
    ]
)


def test_csv_import_keeps_good_rows_and_reports_each_bad_one() -> None:
    plan = csv_io.plan_import(CSV, {}, {}, {})
    assert plan.rows == 8
    assert [(e.line, e.code, e.field) for e in plan.errors] == [
        (4, "unknown_unit", ""),
        (5, "duplicate_serial", ""),
        (6, "setting_not_allowed", "baud_rate"),
        (7, "unknown_setting", "port"),
        (9, "station_in_other_unit", ""),
    ]
    assert "SN1" in plan.errors[1].reason and "st-1/monitor-1" in plan.errors[1].reason
    baud = plan.errors[2]
    assert "14400" in baud.reason and "9600" in baud.allowed
    assert baud.text("en").startswith("'baud_rate' 14400 is not supported by driver nonin.format2")
    assert baud.text("es").startswith("'baud_rate' 14400 no es admitido por el controlador")
    assert "device, config_dir, extra_options" in plan.errors[3].allowed
    assert sorted(plan.units) == ["U1"]
    assert sorted(plan.stations) == ["st-1", "st-5"]
    assert [(d.station_id, d.device_id) for d in plan.devices] == [
        ("st-1", "monitor-1"),
        ("st-1", "fp-1"),
    ]
    fingerprint = plan.devices[1]
    assert fingerprint.driver_options() == {"usb_id": "05ba:000a"}


def test_csv_rows_with_old_names_are_read_as_catalogue_names() -> None:
    rows = [
        HEADER,
        "U1,Zona 9,st-1,fp-1,fingerprint,fingerprint.usb,U.are.U,FP1,05ba,000a,,,,",
        "U1,,st-1,scan-1,scanner,scanner.sane,Fi-7160,SC1,,,,,,device=fujitsu:fi-7160",
        "U1,,st-1,monitor-1,monitor,vitals.serial,BM3,SN1,,,/dev/ttyUSB0,9600,N,",
        "U1,,st-1,token-1,token,token.pkcs11,eToken,TK1,,,,,,",
    ]
    plan = csv_io.plan_import("\n".join(rows), {}, {}, {})
    assert [(d.device_id, d.device_type, d.driver) for d in plan.devices] == [
        ("fp-1", "fingerprint", "usb.fingerprint"),
        ("scan-1", "scanner", "sane"),
    ]
    legacy, token = plan.errors
    assert (legacy.line, legacy.code, legacy.field) == (4, "legacy_driver", "driver")
    assert "nonin.format2" in legacy.allowed and "masimo.ascii1" in legacy.allowed
    assert (token.line, token.code, token.field) == (5, "missing_setting", "settings.module")
    assert "PKCS#11" in token.text("en") and "módulo PKCS#11" in token.text("es")


def test_the_settings_column_carries_the_drivers_other_settings() -> None:
    rows = [
        HEADER,
        "U1,Zona 9,st-1,mfp-1,,escl,MFP 9000,E1,,,,,,url=http://10.0.0.9/eSCL; timeout_s=20",
        "U1,,st-1,mfp-2,,escl,MFP 9000,E2,,,,,,url=http://10.0.0.9/eSCL; timeout=20",
        "U1,,st-1,mfp-3,,escl,MFP 9000,E3,,,,,,timeout_s=soon",
    ]
    plan = csv_io.plan_import("\n".join(rows), {}, {}, {})
    (device,) = plan.devices
    assert device.device_type == "scanner"
    assert device.driver_options() == {"url": "http://10.0.0.9/eSCL", "timeout_s": 20.0}
    assert [(e.line, e.code, e.field) for e in plan.errors] == [
        (3, "unknown_setting", "settings.timeout"),
        (4, "bad_setting", "settings.timeout_s"),
    ]
    assert "url, timeout_s, verify" in plan.errors[0].allowed


def test_csv_import_checks_serials_already_in_the_registry() -> None:
    row = "U1,Zona 9,st-1,monitor-1,vitals,nonin.ascii,BM3,SN1,,,/dev/ttyUSB0,9600,N,"
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


def test_a_column_takes_the_type_of_the_setting_it_carries() -> None:
    """An MLLP listener's `port` column is a TCP port number, a serial monitor's a path."""
    rows = [
        HEADER,
        "U1,Zona 9,st-1,gw-1,,hl7.pcd01.mllp,GW,G1,,,2575,,,",
        "U1,,st-1,gw-2,,hl7.pcd01.mllp,GW,G2,,,COM3,,,",
    ]
    plan = csv_io.plan_import("\n".join(rows), {}, {}, {})
    (gateway,) = plan.devices
    assert gateway.driver_options() == {"port": 2575, "serial_number": "G1"}
    (bad,) = plan.errors
    assert (bad.line, bad.code, bad.field) == (3, "bad_setting", "port")
    assert bad.text("en") == "'port' must be a whole number, got 'COM3'"
