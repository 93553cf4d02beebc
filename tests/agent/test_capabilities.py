"""Every capability in one shape: gRPC services registered one way, errors mapped once per door."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator

import grpc
import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from grpc_health.v1 import health_pb2
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

import edge_agent.capabilities
from drivers.base import DeviceUnavailable, DriverError
from drivers.fingerprint.base import CaptureTimeout
from drivers.token.base import WrongPin
from drivers.vitals.base import NoReading
from edge_agent.api.problems import to_problem
from edge_agent.capabilities.fingerprint.errors import from_reader_error
from edge_agent.capabilities.scanning.errors import scan_error
from edge_agent.capabilities.signing.errors import SigningFailed, from_token_error
from edge_agent.errors import AgentError, DeviceFailed, from_driver_error
from edge_agent.grpc_errors import to_grpc
from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from protos import (
    agent_pb2,
    fingerprint_pb2,
    pairing_pb2,
    pharmacy_pb2,
    scanning_pb2,
    signing_pb2,
    vitals_pb2,
)
from tests.grpc_apps import app_channel

AGENT_PROTOS = (
    agent_pb2,
    vitals_pb2,
    fingerprint_pb2,
    scanning_pb2,
    signing_pb2,
    pharmacy_pb2,
    pairing_pb2,
)


@pytest.fixture
def agent(
    make_settings: Callable[..., AgentSettings],
    start_agent: Callable[[AgentSettings], AgentService],
) -> AgentService:
    return start_agent(make_settings())


@pytest.fixture
def channel(agent: AgentService) -> Iterator[grpc.Channel]:
    with app_channel(agent) as ch:
        yield ch


def _reflected(channel: grpc.Channel) -> set[str]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)
    answers = stub.ServerReflectionInfo(
        iter([reflection_pb2.ServerReflectionRequest(list_services="")])
    )
    return {s.name for a in answers for s in a.list_services_response.service}


def _answers(channel: grpc.Channel, service: ServiceDescriptor) -> set[str]:
    """The methods of ``service`` the server answers (anything but UNIMPLEMENTED), asked from
    the outside with an empty request each: every one of them is then a bad input."""
    answered = set()
    for method in service.methods:
        path = f"/{service.full_name}/{method.name}"
        request = GetMessageClass(method.input_type)()
        reply = GetMessageClass(method.output_type)
        kind = channel.unary_stream if method.server_streaming else channel.unary_unary
        call = kind(path, request_serializer=_bytes, response_deserializer=reply.FromString)
        try:
            result = call(request, timeout=20)
            if method.server_streaming:
                next(iter(result), None)
        except grpc.RpcError as exc:
            if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                continue
        answered.add(method.name)
    return answered


def _bytes(message: Message) -> bytes:
    return message.SerializeToString()


def test_reflection_lists_every_servicer_registered(channel: grpc.Channel) -> None:
    reflected = _reflected(channel)
    declared = {
        s.full_name: s for m in AGENT_PROTOS for s in m.DESCRIPTOR.services_by_name.values()
    }
    standard = {
        "grpc.health.v1.Health": health_pb2.DESCRIPTOR.services_by_name["Health"],
        "grpc.reflection.v1alpha.ServerReflection": (
            reflection_pb2.DESCRIPTOR.services_by_name["ServerReflection"]
        ),
    }
    assert reflected - set(declared) - set(standard) == set(), "reflected, not declared"
    assert set(declared) <= reflected, f"declared but not reflected: {set(declared) - reflected}"
    for name, service in declared.items():  # every method of every service answers
        methods = {m.name for m in service.methods}
        assert _answers(channel, service) == methods, name
    assert _answers(channel, standard["grpc.health.v1.Health"]) >= {"Check"}
    # The check can fail: a service nobody serves is UNIMPLEMENTED.
    unserved = descriptor_pb2.FileDescriptorProto(name="nope.proto", package="nope")
    unserved.message_type.add(name="Empty")
    rpc = unserved.service.add(name="Nope").method.add(name="Call")
    rpc.input_type = rpc.output_type = ".nope.Empty"
    pool = descriptor_pool.DescriptorPool()
    pool.Add(unserved)
    assert _answers(channel, pool.FindServiceByName("nope.Nope")) == set()


def test_every_capability_error_maps_to_a_status_on_both_doors() -> None:
    for info in pkgutil.walk_packages(
        edge_agent.capabilities.__path__, edge_agent.capabilities.__name__ + "."
    ):
        importlib.import_module(info.name)
    seen: list[type[AgentError]] = []
    stack: list[type[AgentError]] = [AgentError]
    while stack:
        cls = stack.pop()
        seen.append(cls)
        stack.extend(cls.__subclasses__())
    assert len(seen) > 30  # the agent's and every capability's errors were found
    for cls in seen:
        assert cls.grpc_status in grpc.StatusCode.__members__, cls
        assert 400 <= cls.http_status < 600, cls


def _error(cls: type[DriverError], code: str | None = None) -> DriverError:
    if code is None:
        return cls("the reason / el motivo")
    return cls("the reason / el motivo", code=code)


def test_driver_errors_reach_both_doors_through_one_table_per_capability() -> None:
    cases = [
        (from_driver_error(_error(DeviceUnavailable)), 503, grpc.StatusCode.UNAVAILABLE),
        (from_driver_error(_error(NoReading)), 504, grpc.StatusCode.DEADLINE_EXCEEDED),
        (from_reader_error(_error(CaptureTimeout)), 504, grpc.StatusCode.DEADLINE_EXCEEDED),
        (from_reader_error(_error(DeviceUnavailable)), 503, grpc.StatusCode.UNAVAILABLE),
        (scan_error(_error(DriverError, "paper_jam")), 409, grpc.StatusCode.FAILED_PRECONDITION),
        (scan_error(_error(DeviceUnavailable)), 502, grpc.StatusCode.UNAVAILABLE),
        (from_token_error(_error(WrongPin)), 403, grpc.StatusCode.PERMISSION_DENIED),
    ]
    for err, http_status, grpc_code in cases:
        body = to_problem(err)
        assert body["status"] == http_status, err
        assert body["detail"] == "the reason / el motivo"
        code, details = to_grpc(err)
        assert code.name == grpc_code.name, err  # the server's status (grpclib), grpcio's name
        assert details == f"{err.code}: the reason / el motivo"
    token = from_token_error(_error(WrongPin))
    assert isinstance(token, SigningFailed) and token.title == "Wrong PIN / PIN incorrecto"
    assert isinstance(scan_error(_error(DriverError, "x")), DeviceFailed)
    # a rule changes the error it made, never the class: the next error starts from the defaults
    assert DeviceFailed.http_status == 502 and DeviceFailed.grpc_status == "UNAVAILABLE"
