"""The gRPC door's own behaviour on the wire (grpclib server, grpcio clients): body limits
before reading, a servicer told when its caller hangs up or its deadline passes, draining
on stop."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from edge_agent.capabilities.status import grpc as status_grpc
from edge_agent.grpc_server import MAX_RECEIVE_BYTES, GrpcServer, ServicerContext
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from protos import (
    agent_pb2,
    agent_pb2_grpc,
    signing_pb2,
    signing_pb2_grpc,
    vitals_pb2,
    vitals_pb2_grpc,
)
from tests.agent.conftest import SIM_MONITOR
from tests.grpc_apps import app_channel


@pytest.fixture
def agent(
    make_settings: Callable[..., AgentSettings],
    start_agent: Callable[[AgentSettings], AgentService],
) -> AgentService:
    return start_agent(make_settings(devices=[SIM_MONITOR]))


def _wait(condition: Callable[[], bool], timeout_s: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return condition()


def test_a_request_over_the_limit_is_refused_and_the_channel_still_works(
    agent: AgentService,
) -> None:
    with app_channel(agent) as channel:
        stub = signing_pb2_grpc.SigningStub(channel)
        big = signing_pb2.SubmitDocumentRequest(pdf=b"%PDF" + b"x" * MAX_RECEIVE_BYTES)
        with pytest.raises(grpc.RpcError) as refused:
            stub.SubmitDocument(big, timeout=30)
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        assert f"limit of {MAX_RECEIVE_BYTES} bytes" in (refused.value.details() or "")
        # Just under the limit is read and reaches the use case (no document type: refused).
        fits = signing_pb2.SubmitDocumentRequest(pdf=b"%PDF" + b"x" * (MAX_RECEIVE_BYTES - 64))
        with pytest.raises(grpc.RpcError) as read:
            stub.SubmitDocument(fits, timeout=30)
        assert read.value.code() != grpc.StatusCode.RESOURCE_EXHAUSTED
        status = agent_pb2_grpc.AgentStub(channel).GetStatus(agent_pb2.GetStatusRequest())
        assert status.station_id == "st-1"


def test_open_services_take_only_small_requests(agent: AgentService) -> None:
    with grpc.insecure_channel(agent.grpc_target) as channel:
        reflection = reflection_pb2_grpc.ServerReflectionStub(channel)
        huge = reflection_pb2.ServerReflectionRequest(file_by_filename="x" * 100_000)
        with pytest.raises(grpc.RpcError) as refused:
            list(reflection.ServerReflectionInfo(iter([huge]), timeout=10))
        assert refused.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
        found = reflection_pb2.ServerReflectionRequest(file_containing_symbol="puente.v1.Agent")
        (answer,) = list(reflection.ServerReflectionInfo(iter([found]), timeout=10))
        files = answer.file_descriptor_response.file_descriptor_proto
        assert len(files) >= 2  # agent.proto and what it imports (events.proto, ...)
        health = health_pb2_grpc.HealthStub(channel)
        with pytest.raises(grpc.RpcError) as unknown:
            health.Check(health_pb2.HealthCheckRequest(service="nope"), timeout=10)
        assert unknown.value.code() == grpc.StatusCode.NOT_FOUND


def test_a_watcher_hanging_up_ends_its_servicer_and_unsubscribes(agent: AgentService) -> None:
    with app_channel(agent) as channel:
        vitals = vitals_pb2_grpc.VitalsStub(channel)
        session = vitals.StartSession(
            vitals_pb2.StartSessionRequest(device_id="monitor-1", case_id="C-5", patient_id="P-5"),
            timeout=10,
        )
        live = agent.streams.get(session.session_id)
        watch = vitals.WatchSession(vitals_pb2.SessionRef(session_id=session.session_id))
        assert dict(watch.initial_metadata())["puente-subscribed"] == "1"
        assert len(live._subscribers) == 1
        watch.cancel()  # the caller hangs up
        assert _wait(lambda: not live._subscribers), "the servicer's generator was not closed"
        vitals.StopSession(vitals_pb2.SessionRef(session_id=session.session_id), timeout=10)


def test_stop_says_not_serving_then_closes(agent: AgentService) -> None:
    assert agent._grpc is not None
    with grpc.insecure_channel(agent.grpc_target) as channel:
        watch = health_pb2_grpc.HealthStub(channel).Watch(
            health_pb2.HealthCheckRequest(service="puente.v1.Agent"), timeout=30
        )
        assert next(watch).status == health_pb2.HealthCheckResponse.SERVING
        stopper = threading.Thread(target=agent._grpc.stop)
        stopper.start()
        assert next(watch).status == health_pb2.HealthCheckResponse.NOT_SERVING
        stopper.join(15)
        assert not stopper.is_alive()
    with (
        grpc.insecure_channel(agent.grpc_target) as channel,
        pytest.raises(grpc.RpcError) as closed,
    ):
        health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=5)
    assert closed.value.code() in (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)


class _Slow:
    """An Agent servicer whose GetStatus runs until its call ends, or for ``seconds``."""

    def __init__(self, seconds: float | None = None) -> None:
        self.seconds = seconds
        self.saw_the_end = threading.Event()
        self.called_back = threading.Event()
        self.started = threading.Event()

    def GetStatus(self, request: object, context: ServicerContext) -> agent_pb2.AgentStatus:
        context.add_callback(self.called_back.set)
        self.started.set()
        if self.seconds is not None:
            time.sleep(self.seconds)
        else:
            while context.is_active():
                time.sleep(0.01)
            self.saw_the_end.set()
        return agent_pb2.AgentStatus(station_id="slow")


def _server(servicer: object) -> GrpcServer:
    server = GrpcServer("127.0.0.1", 0)
    server.add(servicer, status_grpc.SERVICE)
    server.start()
    return server


def test_a_deadline_ends_the_call_and_its_servicer_sees_it() -> None:
    slow = _Slow()
    server = _server(slow)
    try:
        with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
            with pytest.raises(grpc.RpcError) as late:
                agent_pb2_grpc.AgentStub(channel).GetStatus(
                    agent_pb2.GetStatusRequest(), timeout=0.5
                )
            assert late.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
        assert slow.saw_the_end.wait(10), "is_active() stayed True after the deadline"
        assert slow.called_back.wait(10), "the call-end callback did not run"
    finally:
        server.stop()


def test_a_call_running_at_stop_may_finish_within_the_grace() -> None:
    slow = _Slow(seconds=0.5)
    server = _server(slow)
    answers: list[object] = []
    with grpc.insecure_channel(f"127.0.0.1:{server.port}") as channel:
        stub = agent_pb2_grpc.AgentStub(channel)
        caller = threading.Thread(
            target=lambda: answers.append(stub.GetStatus(agent_pb2.GetStatusRequest(), timeout=10))
        )
        caller.start()
        assert slow.started.wait(10)
        server.stop(grace_s=5.0)
        caller.join(10)
    assert [getattr(a, "station_id", a) for a in answers] == ["slow"]
