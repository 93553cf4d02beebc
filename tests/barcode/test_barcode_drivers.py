"""Barcode drivers: the simulator's scanner bytes through the real serial driver; the wedge."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from drivers.barcode.base import GS, BarcodeReader, ReaderVanished, ScanTooLong
from drivers.barcode.hid_wedge import HidWedgeScanner, KeyDecoder, keystrokes
from drivers.barcode.serial_scanner import SerialScanner
from drivers.barcode.sim import EAN13, GS1_128, PtyScanner, gs1_data, medicine_pack


@pytest.fixture
def pty_scanner(tmp_path: Path):
    sim = PtyScanner(tmp_path / "ttyACM-scanner")
    yield sim
    sim.stop()


def _collect(driver: SerialScanner, n: int, timeout_s: float = 5.0) -> list:
    out = []
    deadline = time.monotonic() + timeout_s
    while len(out) < n and time.monotonic() < deadline:
        out.extend(driver.scans(0.2))
    return out


def test_datamatrix_gs1_128_and_ean13_arrive_whole_through_the_serial_driver(pty_scanner):
    driver = SerialScanner(pty_scanner.path)
    assert isinstance(driver, BarcodeReader)
    driver.open()
    pack = medicine_pack("07501031311309", "270531", "L0T-42", "SN0001")
    linear = gs1_data(("01", "07501031311309"), ("10", "B7"), ("17", "261200"))
    pty_scanner.scan(pack)
    pty_scanner.scan(linear, GS1_128, suffix=b"\r")
    pty_scanner.scan("7501031311309", EAN13, suffix=b"\n")
    scans = _collect(driver, 3)
    driver.close()
    assert [(s.symbology, s.data) for s in scans] == [
        ("]d2", "0107501031311309172705311" + "0L0T-42" + GS + "21SN0001"),
        ("]C1", "010750103131130910B7" + GS + "17261200"),
        ("]E0", "7501031311309"),
    ]
    assert scans[0].raw.startswith("]d201075")


def test_a_symbol_split_across_reads_is_joined(pty_scanner):
    driver = SerialScanner(pty_scanner.path)
    driver.open()
    raw = b"]d201075010313113091727053110ABC"
    pty_scanner.write(raw[:9])
    first = list(driver.scans(0.2))
    pty_scanner.write(raw[9:] + b"\r\n")
    rest = _collect(driver, 1)
    driver.close()
    assert first == []
    assert rest[0].data == raw.decode()[3:]


def test_a_line_without_suffix_is_refused_with_a_reason(pty_scanner):
    driver = SerialScanner(pty_scanner.path)
    driver.open()
    pty_scanner.write(b"9" * 600)
    with pytest.raises(ScanTooLong) as err:
        _collect(driver, 1, 2.0)
    assert "CR" in err.value.reason and "sufijo" in err.value.reason
    driver.close()


def test_unplugged_scanner_reports_and_comes_back(pty_scanner):
    driver = SerialScanner(pty_scanner.path)
    driver.open()
    pty_scanner.unplug()
    with pytest.raises(ReaderVanished):
        _collect(driver, 1, 2.0)
    assert driver.health().health.value == "disconnected"
    pty_scanner.replug()
    assert driver.health().health.value == "connected"
    pty_scanner.scan("7501031311309", EAN13)
    assert _collect(driver, 1)[0].data == "7501031311309"
    driver.close()


def _events(text: str) -> str:
    from evdev import ecodes

    dec = KeyDecoder()
    return "".join(dec.feed(ecodes.EV_KEY, ecodes.ecodes[n], v) for n, v in keystrokes(text))


def test_wedge_key_presses_decode_to_the_symbol_with_fnc1_as_gs():
    raw = "]d2" + medicine_pack("07501031311309", "270531", "Lot-a/b", "Sn9") + "\r"
    assert _events(raw) == raw


def test_wedge_alt_numpad_029_is_gs():
    from evdev import ecodes

    dec = KeyDecoder()
    seq = [("KEY_LEFTALT", 1), ("KEY_KP0", 1), ("KEY_KP0", 0), ("KEY_KP2", 1), ("KEY_KP2", 0)]
    seq += [("KEY_KP9", 1), ("KEY_KP9", 0), ("KEY_LEFTALT", 0)]
    assert "".join(dec.feed(ecodes.EV_KEY, ecodes.ecodes[n], v) for n, v in seq) == GS


def _uinput_reason() -> str:
    if not os.path.exists("/dev/uinput"):
        return "/dev/uinput does not exist here (no uinput module in this kernel/container)"
    if not os.access("/dev/uinput", os.W_OK):
        return "/dev/uinput is not writable by this user"
    return ""


@pytest.mark.skipif(bool(_uinput_reason()), reason=_uinput_reason() or "uinput available")
def test_wedge_scanner_over_uinput_is_grabbed_and_read():
    from evdev import UInput, ecodes

    name = f"puente-test-scanner-{os.getpid()}"
    with UInput({ecodes.EV_KEY: list(ecodes.KEY.keys())[:250]}, name=name) as ui:
        time.sleep(0.3)
        driver = HidWedgeScanner(name=name)
        driver.open()
        raw = "]d2" + medicine_pack("07501031311309", "270531", "L1", "S1") + "\r"
        for key, value in keystrokes(raw):
            ui.write(ecodes.EV_KEY, ecodes.ecodes[key], value)
            ui.syn()
        scans = []
        deadline = time.monotonic() + 5
        while not scans and time.monotonic() < deadline:
            scans.extend(driver.scans(0.3))
        driver.close()
    assert scans[0].raw == raw[:-1]


def test_entry_points_declared_in_pyproject_match_the_test_distribution():
    import tomllib

    from tests.pharmacy.entry_points import ENTRY_POINTS

    root = Path(__file__).resolve().parents[2]
    declared = tomllib.loads((root / "pyproject.toml").read_text())["project"]["entry-points"]
    ours = {k: v for k, v in declared["puente.drivers"].items() if "barcode" in v}
    lines = [x.split(" = ") for x in ENTRY_POINTS.splitlines()[1:] if x]
    assert ours == dict(lines)
