"""SANE's `test` backend (device test:0) through python-sane: real frames, real status codes."""

from __future__ import annotations

import time

import pytest

from drivers.base import Health
from drivers.scanner.base import (
    CoverOpen,
    FeederEmpty,
    PaperJam,
    ScanCancelled,
    ScannerIOError,
    ScanSettings,
    UnsupportedSetting,
)
from drivers.scanner.sane_backend import SaneScanner, discover
from tests.scanning import sane_test_dir


def scanner(**extra: str) -> SaneScanner:
    options = {"test-picture": "Grid", "read-return-value": "Default", **extra}
    s = SaneScanner("test:0", sane_test_dir(), options)
    s.open()
    return s


def test_discovery_lists_the_test_devices_with_their_capabilities() -> None:
    found = {d.name: d for d in discover(sane_test_dir())}
    assert sorted(found) == ["test:0", "test:1"]
    caps = found["test:0"].capabilities
    assert caps is not None
    assert caps.sources == ("flatbed", "feeder")
    assert caps.modes == ("gray", "color", "lineart")
    assert caps.resolutions == (75, 100, 150, 200, 300, 400, 600, 1200)
    assert (caps.max_width_mm, caps.max_height_mm) == (200.0, 200.0)
    assert found["test:0"].model == "frontend-tester"


def test_flatbed_scan_gives_one_page_of_the_size_asked() -> None:
    s = scanner()
    pages = list(s.scan(ScanSettings("flatbed", "gray", 100, width_mm=100, height_mm=50)))
    assert len(pages) == 1
    image = pages[0].image
    assert image.mode == "L"  # type: ignore[attr-defined]
    assert image.size == (393, 196)  # type: ignore[attr-defined]  # 100x50 mm at 100 dpi, floored
    assert s.health().health == Health.CONNECTED


def test_modes_give_grey_colour_and_one_bit_pixels() -> None:
    s = scanner()
    got = {
        mode: next(iter(s.scan(ScanSettings("flatbed", mode, 75, 50, 50)))).image.mode  # type: ignore[attr-defined]
        for mode in ("gray", "color", "lineart")
    }
    assert got == {"gray": "L", "color": "RGB", "lineart": "1"}


def test_feeder_scans_until_empty_which_is_ten_sheets_on_test0() -> None:
    pages = list(scanner().scan(ScanSettings("feeder", "gray", 75, 50, 50)))
    assert [p.number for p in pages] == list(range(1, 11))


def test_feeder_stops_at_max_pages() -> None:
    pages = list(scanner().scan(ScanSettings("feeder", "gray", 75, 50, 50, max_pages=3)))
    assert len(pages) == 3


@pytest.mark.parametrize(
    ("status", "error", "code"),
    [
        ("SANE_STATUS_JAMMED", PaperJam, "paper_jam"),
        ("SANE_STATUS_NO_DOCS", FeederEmpty, "feeder_empty"),
        ("SANE_STATUS_COVER_OPEN", CoverOpen, "cover_open"),
        ("SANE_STATUS_IO_ERROR", ScannerIOError, "scanner_io_error"),
    ],
)
def test_device_conditions_are_distinct_errors_and_show_in_health(
    status: str, error: type[Exception], code: str
) -> None:
    s = scanner(**{"read-return-value": status})
    with pytest.raises(error) as raised:
        list(s.scan(ScanSettings("feeder", "gray", 75, 50, 50)))
    assert raised.value.code == code  # type: ignore[attr-defined]
    assert raised.value.pages_done == 0  # type: ignore[attr-defined]
    health = s.health()
    assert (health.health, health.error_code) == (Health.ERROR, code)
    # Cleared (the person fixed it): the next scan works and health is back.
    s.extra_options["read-return-value"] = "Default"
    assert len(list(s.scan(ScanSettings("flatbed", "gray", 75, 50, 50)))) == 1
    assert s.health().health == Health.CONNECTED


def test_a_source_the_device_lacks_is_refused_before_scanning() -> None:
    with pytest.raises(UnsupportedSetting) as raised:
        list(scanner().scan(ScanSettings("duplex", "gray", 75)))
    assert raised.value.code == "unsupported_setting"


def test_an_unknown_device_is_gone() -> None:
    s = SaneScanner("test:7", sane_test_dir())
    health = s.health()
    assert (health.health, health.error_code) == (Health.DISCONNECTED, "device_gone")


def test_a_scan_opens_no_library_while_sanes_threads_run(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every page puts SIGPIPE back to ignored through libc's ``signal``, resolved once at
    import: a ``dlopen`` / ``dlsym`` during a scan (under the loader's lock, with the GIL
    held) hung the agent in an e2e run. A scan of the feeder (ten pages) must not call one,
    and must leave SIGPIPE ignored."""
    import ctypes
    import signal

    opened: list[object] = []

    def no_dlopen(*args: object, **kwargs: object) -> None:
        opened.append(args)
        raise RuntimeError("dlopen during a scan")

    monkeypatch.setattr(ctypes, "CDLL", no_dlopen)
    s = scanner()
    # scan_here: the scan as the child process runs it (in this process, so it can be seen)
    pages = list(s.scan_here(ScanSettings("feeder", "gray", 75, width_mm=50, height_mm=50)))
    assert len(pages) == 10 and opened == []
    assert _ignored_by_the_kernel(signal.SIGPIPE)


def _ignored_by_the_kernel(signum: int) -> bool:
    """The process's real disposition (/proc's SigIgn mask), not Python's own table."""
    with open("/proc/self/status") as status:
        mask = next(line for line in status if line.startswith("SigIgn:")).split()[1]
    return bool(int(mask, 16) >> (signum - 1) & 1)


def test_a_scan_runs_in_a_child_process_and_a_hung_one_is_stopped_with_words() -> None:
    """SANE's reader threads can leave the loader's lock held and freeze the process they run
    in (sane_child.py): the scan runs in a child, and a child that sends no page for
    ``page_timeout_s`` is killed; the scan fails as a scanner I/O error saying so, and the
    next scan works in a fresh child."""
    import multiprocessing

    slow = scanner(**{"read-delay": 1, "read-delay-duration": 200000})  # type: ignore[arg-type]
    slow.page_timeout_s = 1.5
    with pytest.raises(ScannerIOError) as hung:
        list(slow.scan(ScanSettings("flatbed", "gray", 300)))
    assert "sent nothing for 1.5 s" in hung.value.reason and "no envió nada" in hung.value.reason
    assert multiprocessing.active_children() == []  # killed and reaped, not left behind
    assert slow.health().health == Health.ERROR  # said at the station until a scan works
    fresh = scanner(**{"read-delay": 0})  # type: ignore[arg-type]
    pages = list(fresh.scan(ScanSettings("flatbed", "gray", 75, width_mm=50, height_mm=50)))
    assert len(pages) == 1 and fresh.health().health == Health.CONNECTED


def test_cancel_stops_a_child_scan_of_the_feeder_as_cancelled() -> None:
    import threading

    s = scanner(**{"read-delay": 1, "read-delay-duration": 20000})  # type: ignore[arg-type]
    got: list[int] = []

    def cancel_after_first_page() -> None:
        while not got:
            time.sleep(0.01)
        s.cancel()

    threading.Thread(target=cancel_after_first_page, daemon=True).start()
    with pytest.raises(ScanCancelled) as cancelled:
        for page in s.scan(ScanSettings("feeder", "gray", 75, width_mm=50, height_mm=50)):
            got.append(page.number)
    assert 1 <= cancelled.value.pages_done < 10 and len(got) < 10
