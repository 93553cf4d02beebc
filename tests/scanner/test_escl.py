"""eSCL over HTTP against the loopback simulator: the protocol, the pages, the faults."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from drivers.base import Health
from drivers.scanner.base import (
    CoverOpen,
    DeviceGone,
    FeederEmpty,
    PaperJam,
    ScanCancelled,
    ScannerBusy,
    ScanSettings,
)
from drivers.scanner.escl import EsclScanner, parse_status
from drivers.scanner.escl_sim import EsclSimulator


@pytest.fixture
def sim() -> Iterator[EsclSimulator]:
    with EsclSimulator() as s:
        yield s


@pytest.fixture
def scanner(sim: EsclSimulator) -> Iterator[EsclScanner]:
    s = EsclScanner(sim.url, timeout_s=10)
    s.open()
    yield s
    s.close()


def test_capabilities_and_identity_come_from_the_scanner_xml(scanner: EsclScanner) -> None:
    caps = scanner.capabilities()
    assert caps.sources == ("flatbed", "feeder", "duplex")
    assert caps.modes == ("lineart", "gray", "color")
    assert caps.resolutions == (75, 100, 150, 200, 300, 600)
    assert (caps.max_width_mm, caps.max_height_mm) == (215.9, 297.0)
    ident = scanner.identify()
    assert (ident.model, ident.serial, ident.firmware) == (
        "Puente eSCL Simulator",
        "SIM-ESCL-1",
        "eSCL 2.63",
    )


def test_flatbed_job_posts_settings_reads_until_404_and_gets_a_jpeg(
    sim: EsclSimulator, scanner: EsclScanner
) -> None:
    (page,) = list(scanner.scan(ScanSettings("flatbed", "gray", 100, 50, 50)))
    assert page.media_type == "image/jpeg" and page.data is not None
    assert page.data[:3] == b"\xff\xd8\xff"
    job = next(r for r in sim.requests if r.startswith("GET /eSCL/ScanJobs/")).split("/")[3]
    assert sim.requests[-4:] == [
        "POST /eSCL/ScanJobs",
        f"GET /eSCL/ScanJobs/{job}/NextDocument",
        f"GET /eSCL/ScanJobs/{job}/NextDocument",  # 404: no more pages
        "GET /eSCL/ScannerStatus",  # why it ended: done, not jammed
    ]


def test_feeder_reads_every_sheet_and_duplex_two_sides_each(
    sim: EsclSimulator, scanner: EsclScanner
) -> None:
    sim.state.sheets_in_feeder = 4
    assert len(list(scanner.scan(ScanSettings("feeder", "gray", 75, 50, 50)))) == 4
    sim.state.sheets_in_feeder = 3
    assert len(list(scanner.scan(ScanSettings("duplex", "gray", 75, 50, 50)))) == 6


def test_empty_feeder(sim: EsclSimulator, scanner: EsclScanner) -> None:
    sim.state.sheets_in_feeder = 0
    with pytest.raises(FeederEmpty):
        list(scanner.scan(ScanSettings("feeder", "gray", 75)))


def test_jam_after_two_pages_says_how_many_came(sim: EsclSimulator, scanner: EsclScanner) -> None:
    sim.state.sheets_in_feeder, sim.state.jam_after_pages = 5, 2
    got = []
    with pytest.raises(PaperJam) as raised:
        for page in scanner.scan(ScanSettings("feeder", "gray", 75, 50, 50)):
            got.append(page.number)
    assert got == [1, 2] and raised.value.pages_done == 2
    health = scanner.health()
    assert (health.health, health.error_code) == (Health.ERROR, "paper_jam")


def test_cover_open_and_busy(sim: EsclSimulator, scanner: EsclScanner) -> None:
    sim.state.cover_open = True
    with pytest.raises(CoverOpen):
        list(scanner.scan(ScanSettings("feeder", "gray", 75)))
    sim.state.cover_open, sim.state.busy = False, True
    with pytest.raises(ScannerBusy):
        list(scanner.scan(ScanSettings("flatbed", "gray", 75)))


def test_scanner_switched_off_mid_job_is_device_gone(
    sim: EsclSimulator, scanner: EsclScanner
) -> None:
    sim.state.sheets_in_feeder = 5
    got = []
    with pytest.raises(DeviceGone) as raised:
        for page in scanner.scan(ScanSettings("feeder", "gray", 75, 50, 50)):
            got.append(page.number)
            if page.number == 2:
                sim.stop()
    assert got == [1, 2] and raised.value.pages_done == 2
    assert scanner.health().health == Health.DISCONNECTED


def test_cancel_deletes_the_job(sim: EsclSimulator, scanner: EsclScanner) -> None:
    sim.state.sheets_in_feeder = 5
    with pytest.raises(ScanCancelled):
        for page in scanner.scan(ScanSettings("feeder", "gray", 75, 50, 50)):
            if page.number == 1:
                scanner.cancel()
    assert any(r.startswith("DELETE /eSCL/ScanJobs/") for r in sim.requests)
    assert sim.state.sheets_in_feeder == 4


def test_status_parsing_of_a_jammed_job() -> None:
    xml = b"""<?xml version="1.0"?><scan:ScannerStatus
      xmlns:scan="http://schemas.hp.com/imaging/escl/2011/05/03"
      xmlns:pwg="http://www.pwg.org/schemas/2010/12/sm">
      <pwg:State>Stopped</pwg:State><scan:AdfState>ScannerAdfLoaded</scan:AdfState>
      <scan:Jobs><scan:JobInfo><pwg:JobUuid>j1</pwg:JobUuid><pwg:JobState>Aborted</pwg:JobState>
      <pwg:JobStateReasons><pwg:JobStateReason>JobAbortedByJam</pwg:JobStateReason>
      </pwg:JobStateReasons></scan:JobInfo></scan:Jobs></scan:ScannerStatus>"""
    status = parse_status(xml, "j1")
    assert (status.state, status.condition, status.jobs) == ("stopped", "paper_jam", ("j1",))
