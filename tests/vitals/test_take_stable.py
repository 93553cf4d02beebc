"""Take vitals waits for a stable set: simulators on real ptys, the agent's HTTP and gRPC doors."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import grpc
import httpx
import pytest
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from drivers.vitals import nonin, nonin_binary
from drivers.vitals.base import NumericReading
from drivers.vitals.ptysim import PtyPort, repeat
from drivers.vitals.simulators import nonin as nonin_sim
from drivers.vitals.simulators import nonin_binary as nonin_binary_sim
from edge_agent.capabilities.vitals.settle import UNSETTLED, read_stable_set, settled
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from tests.agent.conftest import ALLOWED_ORIGIN, make_settings, start_agent  # noqa: F401


@pytest.fixture
def port(tmp_path: Path) -> Iterator[PtyPort]:
    p = PtyPort(tmp_path / "ttyMON")
    yield p
    p.stop()


def summary(readings: list[NumericReading]) -> list[tuple[int, float, tuple[str, ...]]]:
    return [(r.mdc_code, r.value, r.flags) for r in readings]


def test_the_set_waits_until_two_readings_agree_within_tolerance(port: PtyPort) -> None:
    monitor = nonin.NoninMonitor(str(port.link))
    monitor.open()
    try:
        # Finger just placed: values still moving; settle on lines 3-4; line 5 is never read.
        for spo2, hr in ((97, 80), (92, 95), (96, 88), (96, 86), (90, 120)):
            port.write(nonin_sim.encode_line(spo2, hr))
        started = time.monotonic()
        got = read_stable_set(monitor, timeout_s=10)
        elapsed = time.monotonic() - started
    finally:
        monitor.close()
    assert summary(got) == [(150456, 96.0, ()), (149530, 86.0, ())]
    assert elapsed < 5  # ended when settled, not at the timeout


def test_values_that_never_settle_are_flagged_at_the_timeout(port: PtyPort) -> None:
    monitor = nonin_binary.NoninFormat2Monitor(str(port.link))
    monitor.open()
    monitor.decoder = nonin_binary.Format2Decoder(every_s=0.0)
    try:
        # SpO2 swings 4 points packet to packet (a moving hand); the pulse is steady.
        port.play(
            repeat(lambda i: nonin_binary_sim.encode_packet(95 if i % 2 else 91, 70)),
            interval_s=0.1,
        )
        started = time.monotonic()
        got = read_stable_set(monitor, timeout_s=1.5)
        elapsed = time.monotonic() - started
    finally:
        monitor.close()
    assert elapsed >= 1.4
    [spo2, pulse] = got
    assert (spo2.mdc_code, spo2.value in (91.0, 95.0), spo2.flags) == (150456, True, (UNSETTLED,))
    assert (pulse.mdc_code, pulse.value, pulse.flags) == (149530, 70.0, ())


def test_nibp_is_final_at_its_first_value_and_refused_readings_never_hold_the_set() -> None:
    from datetime import UTC, datetime

    now = datetime.now(UTC)
    sys = NumericReading(150301, "MDC_PRESS_CUFF_SYS", 147, "mm[Hg]", now)
    spo2_140 = NumericReading(150456, "MDC_PULS_OXIM_SAT_O2", 140, "%", now)
    temp_axil = NumericReading(188496, "MDC_TEMP_AXIL", 35.1, "Cel", now)
    hr_a = NumericReading(149530, "MDC_PULS_OXIM_PULS_RATE", 70, "/min", now)
    hr_b = NumericReading(149530, "MDC_PULS_OXIM_PULS_RATE", 76, "/min", now)
    assert [settled(None, sys), settled(None, spo2_140), settled(None, temp_axil)] == [True] * 3
    assert [settled(None, hr_a), settled(hr_a, hr_b), settled(hr_b, hr_b)] == [False, False, True]


@pytest.fixture
def nonin_agent(
    port: PtyPort,
    make_settings: Callable[..., AgentSettings],  # noqa: F811
    start_agent: Callable[[AgentSettings], AgentService],  # noqa: F811
) -> AgentService:
    device = {
        "device_id": "oximeter-1",
        "driver": "nonin.ascii",
        "options": {"port": str(port.link), "baudrate": 9600, "serial_number": "NN-1"},
    }
    return start_agent(make_settings(devices=[device]))


def test_take_returns_rejected_readings_with_reasons(
    port: PtyPort, nonin_agent: AgentService
) -> None:
    port.play(repeat(lambda i: nonin_sim.encode_line(140, 72)), interval_s=0.1)
    with httpx.Client(base_url=nonin_agent.http_url, timeout=20) as http:
        r = http.post(
            "/v1/vitals/take",
            json={"device_id": "oximeter-1", "case_id": "C-1", "patient_id": "P-1", "timeout_s": 8},
            headers={"Origin": ALLOWED_ORIGIN},
        )
    assert r.status_code == 201, r.text
    body = r.json()
    assert [(x["mdc_code"], x["value"], x["unit"]) for x in body["readings"]] == [
        (149530, 72.0, "/min")
    ]
    [refused] = body["rejected"]
    assert (refused["mdc_code"], refused["value"], refused["reason_code"]) == (
        150456,
        140.0,
        "impossible_value",
    )
    assert " / " in refused["reason"]  # English / Español
    assert body["monitor_serial"] == "NN-1"


def test_the_vitals_grpc_service_is_listed_by_reflection(nonin_agent: AgentService) -> None:
    with grpc.insecure_channel(nonin_agent.grpc_target) as channel:
        stub = reflection_pb2_grpc.ServerReflectionStub(channel)
        answers = stub.ServerReflectionInfo(
            iter([reflection_pb2.ServerReflectionRequest(list_services="")])
        )
        names = {s.name for a in answers for s in a.list_services_response.service}
        assert {"puente.v1.Agent", "puente.v1.Vitals", "grpc.health.v1.Health"} <= names
        described = stub.ServerReflectionInfo(
            iter(
                [reflection_pb2.ServerReflectionRequest(file_containing_symbol="puente.v1.Vitals")]
            )
        )
        [answer] = list(described)
        assert answer.file_descriptor_response.file_descriptor_proto  # the service is described
