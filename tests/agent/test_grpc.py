"""The local gRPC door: status, recording, error codes, health and reflection."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from protos import agent_pb2, agent_pb2_grpc, events_pb2
from tests.agent.conftest import SIM_MONITOR
from tests.grpc_apps import app_channel


@pytest.fixture
def agent(
    make_settings: Callable[..., AgentSettings],
    start_agent: Callable[[AgentSettings], AgentService],
) -> AgentService:
    return start_agent(make_settings(devices=[SIM_MONITOR]))


@pytest.fixture
def channel(agent: AgentService) -> Iterator[grpc.Channel]:
    with app_channel(agent) as ch:
        yield ch


def vitals_request(case_id: str = "C-1") -> agent_pb2.RecordEventRequest:
    event = events_pb2.Event(case_id=case_id, patient_id="P-1", device_id="monitor-1")
    event.vital_signs.mode = "spot"
    event.vital_signs.readings.add(mdc_code=150456, value=96.0, unit="%")
    return agent_pb2.RecordEventRequest(event=event)


def test_get_status(channel: grpc.Channel) -> None:
    status = agent_pb2_grpc.AgentStub(channel).GetStatus(agent_pb2.GetStatusRequest())
    assert (status.station_id, status.unit_id, status.version) == ("st-1", "unit-1", "0.1.0")
    assert [(d.device_id, d.state) for d in status.devices] == [("monitor-1", events_pb2.CONNECTED)]
    assert status.outbox.depth == 1
    assert status.outbox.hard_limit_bytes == 1024 * 1024 * 1024
    assert status.link.connected is False


def test_record_event_fills_the_envelope(channel: grpc.Channel, agent: AgentService) -> None:
    reply = agent_pb2_grpc.AgentStub(channel).RecordEvent(vitals_request())
    assert reply.station_seq == 2
    stored = events_pb2.Event.FromString(agent.outbox.pending(1, 1)[0][2])
    assert stored.event_id == reply.event_id
    assert (stored.station_id, stored.unit_id, stored.case_id) == ("st-1", "unit-1", "C-1")
    assert stored.HasField("occurred_at")


def test_concurrent_record_calls_share_fsyncs(channel: grpc.Channel, agent: AgentService) -> None:
    stub = agent_pb2_grpc.AgentStub(channel)
    before = agent.outbox.commits
    with ThreadPoolExecutor(32) as pool:
        replies = list(pool.map(lambda _: stub.RecordEvent(vitals_request()), range(320)))
    assert sorted(r.station_seq for r in replies) == list(range(2, 322))
    assert agent.outbox.commits - before < 320


def test_bad_input_is_invalid_argument(channel: grpc.Channel) -> None:
    stub = agent_pb2_grpc.AgentStub(channel)
    with pytest.raises(grpc.RpcError) as no_payload:
        stub.RecordEvent(agent_pb2.RecordEventRequest(event=events_pb2.Event(case_id="C")))
    assert no_payload.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert no_payload.value.details().startswith("no_payload:")
    with pytest.raises(grpc.RpcError) as no_case:
        stub.RecordEvent(vitals_request(case_id=""))
    assert no_case.value.code() == grpc.StatusCode.INVALID_ARGUMENT


def test_outbox_full_is_resource_exhausted(
    make_settings: Callable[..., AgentSettings],
    start_agent: Callable[[AgentSettings], AgentService],
) -> None:
    agent = start_agent(make_settings(outbox_limit_bytes=1024, outbox_hard_limit_bytes=1024))
    with app_channel(agent) as ch:
        stub = agent_pb2_grpc.AgentStub(ch)
        with pytest.raises(grpc.RpcError) as full:
            for _ in range(100):
                stub.RecordEvent(vitals_request())
    assert full.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert full.value.details().startswith("outbox_full:")


def test_health_and_reflection(channel: grpc.Channel) -> None:
    health = health_pb2_grpc.HealthStub(channel)
    for service in ("", "puente.v1.Agent"):
        reply = health.Check(health_pb2.HealthCheckRequest(service=service))
        assert reply.status == health_pb2.HealthCheckResponse.SERVING
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    answers = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    names = {s.name for a in answers for s in a.list_services_response.service}
    assert {"puente.v1.Agent", "grpc.health.v1.Health"} <= names
