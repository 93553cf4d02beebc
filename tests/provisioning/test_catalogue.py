"""One device catalogue: the drivers' manifests, the table in protos, the entry points, the docs
and one settings check that names the field and what is allowed, in each language."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from drivers import catalogue as declared
from protos import device_catalogue as catalogue
from protos.device_catalogue import SettingsProblem

ROOT = Path(__file__).resolve().parents[2]


def test_every_entry_point_is_in_the_catalogue_and_every_catalogue_name_is_an_entry_point() -> None:
    assert set(declared.entry_points()) == set(catalogue.CATALOGUE)


def test_the_table_in_protos_is_what_the_drivers_declare() -> None:
    assert declared.table() == catalogue.CATALOGUE


def test_the_generated_table_and_the_docs_are_not_stale() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/gen_catalogue.py", "--check"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin"},
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    doc = (ROOT / "docs" / "provisioning.md").read_text()
    for name in catalogue.CATALOGUE:
        assert f"`{name}`" in doc


def test_each_manifest_matches_its_constructor() -> None:
    problems = []
    for name, target in declared.entry_points().items():
        cls = declared.load_class(target)
        problems += declared.constructor_problems(cls.MANIFEST, cls)
        assert cls.MANIFEST.family == cls.family, name
    assert problems == []


def test_a_manifest_that_drifts_from_its_constructor_is_caught() -> None:
    from drivers.base import DriverManifest, Setting

    class Reader:
        def __init__(self, url: str, timeout_s: float = 1.0) -> None: ...

    drifted = DriverManifest(
        "x", "scanner", "p", "network", "X", (), (Setting("address", "str", required=True),)
    )
    assert declared.constructor_problems(drifted, Reader) == [
        "x: setting address is not a constructor keyword",
        "x: required keyword url is not a declared setting",
    ]


def test_families_of_the_catalogue_are_the_ones_people_read() -> None:
    assert {e["family"] for e in catalogue.CATALOGUE.values()} <= set(catalogue.FAMILIES)
    for entry in catalogue.CATALOGUE.values():
        for rule in entry["settings"].values():
            assert rule["en"] and rule["es"] and rule["en"] != rule["es"]


def test_a_baud_rate_the_monitor_does_not_speak_is_named_with_the_allowed_ones() -> None:
    with pytest.raises(SettingsProblem) as caught:
        catalogue.check_settings("nonin.format2", {"port": "/dev/ttyUSB0", "baudrate": 14400})
    problem = caught.value
    assert (problem.code, problem.field) == ("setting_not_allowed", "baudrate")
    assert "9600" in problem.allowed and "115200" in problem.allowed
    assert problem.en.startswith("'baudrate' 14400 is not supported by driver nonin.format2")
    assert problem.es.startswith("'baudrate' 14400 no es admitido por el controlador nonin.format2")
    assert problem.reason == f"{problem.en} / {problem.es}"


@pytest.mark.parametrize(
    ("driver", "settings", "code", "field"),
    [
        ("escl", {}, "missing_setting", "url"),
        ("escl", {"url": "ftp://scanner"}, "bad_setting", "url"),
        ("escl", {"url": "http://10.0.0.9/eSCL", "timeout_s": "60"}, "bad_setting", "timeout_s"),
        ("pkcs11", {"module": "/usr/lib/x.so", "pin": "1234"}, "unknown_setting", "pin"),
        (
            "sane",
            {"device": "test:0", "extra_options": {"mode": ["Color"]}},
            "bad_setting",
            "extra_options",
        ),
        ("hl7.pcd01.mllp", {"port": 70000}, "setting_not_allowed", "port"),
        ("escl", {"url": "http://10.0.0.9/eSCL", "verify": 1}, "bad_setting", "verify"),
    ],
)
def test_settings_are_checked_by_type_choice_range_and_pattern(
    driver: str, settings: dict[str, object], code: str, field: str
) -> None:
    with pytest.raises(SettingsProblem) as caught:
        catalogue.check_settings(driver, settings)
    assert (caught.value.code, caught.value.field) == (code, field)
    assert f"'{field}'" in caught.value.en and f"'{field}'" in caught.value.es


def test_good_settings_pass_unchanged() -> None:
    settings = {"url": "https://10.0.0.9/eSCL", "timeout_s": 10, "verify": False}
    assert catalogue.check_settings("escl", settings) == settings


def test_old_registry_names_map_to_catalogue_names_or_name_the_candidates() -> None:
    assert catalogue.resolve("scanner.sane") == ("sane", {})
    assert catalogue.resolve("fingerprint.usb") == ("usb.fingerprint", {})
    assert catalogue.resolve("token.pkcs11") == ("pkcs11", {})
    assert catalogue.resolve("sim.scanner") == ("sane", {"device": "test:0"})
    with pytest.raises(SettingsProblem) as caught:
        catalogue.resolve("vitals.serial")
    assert caught.value.code == "legacy_driver"
    assert caught.value.allowed.split(", ") == [
        n
        for n, e in catalogue.CATALOGUE.items()
        if e["family"] == "vitals" and e["attach"] == "serial"
    ]
    with pytest.raises(SettingsProblem) as unknown:
        catalogue.resolve("acme.oximeter")
    assert unknown.value.code == "unknown_driver" and "nonin.format2" in unknown.value.allowed


def test_typed_text_becomes_the_schema_type_or_a_named_problem() -> None:
    cell = "port=/dev/ttyUSB1; baudrate=19200; parity=E"
    assert catalogue.parse_settings_cell("contec.cms50d", cell) == {
        "port": "/dev/ttyUSB1",
        "baudrate": 19200,
        "parity": "E",
    }
    assert catalogue.parse_settings_cell("escl", '{"url": "http://h/eSCL"}') == {
        "url": "http://h/eSCL"
    }
    assert catalogue.parse_settings_cell("escl", "verify=no") == {"verify": False}
    with pytest.raises(SettingsProblem) as caught:
        catalogue.parse_settings_cell("contec.cms50d", "baudrate=fast")
    assert (caught.value.code, caught.value.field) == ("bad_setting", "baudrate")
    assert "whole number" in caught.value.en and "número entero" in caught.value.es


def test_there_is_one_driver_spec_type() -> None:
    """The registry's own DriverSpec (type/attach/baud rates) is gone: the catalogue replaced it."""
    found = subprocess.run(
        [
            "grep",
            "-rn",
            "class DriverSpec",
            "drivers",
            "protos",
            "provisioning",
            "edge_agent",
            "hub",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.stdout == ""


def test_the_cli_names_each_bad_row_in_both_languages(tmp_path: Path) -> None:
    from provisioning import csv_io

    path = tmp_path / "devices.csv"
    path.write_text(
        ",".join(csv_io.COLUMNS)
        + "\nU1,Zona 9,st-1,m-1,,nonin.format2,W,S1,,,/dev/ttyUSB0,14400,N,"
        + "\nU1,Zona 9,st-1,m-2,,contec.cms50d,W,S2,,,/dev/ttyUSB1,19200,N,\n"
    )
    done = subprocess.run(
        [sys.executable, "-m", "puente_cli.main", "hub", "registry", "check", str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(ROOT), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)},
        check=False,
    )
    assert done.returncode == 1, done.stderr
    lines = done.stderr.splitlines()
    assert lines[0].startswith("line 2, baud_rate [setting_not_allowed]: 'baud_rate' 14400 is")
    assert lines[1].startswith("línea 2, baud_rate [setting_not_allowed]: 'baud_rate' 14400 no es")
    assert lines[2].startswith("  allowed / admitido: 1200, 2400, 4800, 9600")
    assert "1 devices valid, 1 refused" in done.stdout
