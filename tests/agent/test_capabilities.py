"""Every capability in one shape: gRPC services registered one way, errors mapped once per door."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable, Iterator

import grpc
import pytest
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


def _served(server: grpc.Server) -> set[str]:
    """The services the gRPC server would answer, read from grpcio's own handler tables."""
    state = server._state  # type: ignore[attr-defined]
    names = {m.split("/")[1] for m in state.registered_method_handlers}
    names |= {h.service_name() for h in state.generic_handlers if hasattr(h, "service_name")}
    return names


def test_reflection_lists_every_servicer_registered(
    agent: AgentService, channel: grpc.Channel
) -> None:
    assert agent._grpc is not None
    served = _served(agent._grpc.server)
    reflected = _reflected(channel)
    assert served - reflected == set(), "served but missing from reflection"
    assert reflected - served - {"grpc.reflection.v1alpha.ServerReflection"} == set()
    declared = {s.full_name for m in AGENT_PROTOS for s in m.DESCRIPTOR.services_by_name.values()}
    assert declared <= served, f"declared in protos/ but not served: {declared - served}"


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
        assert code == grpc_code, err
        assert details == f"{err.code}: the reason / el motivo"
    token = from_token_error(_error(WrongPin))
    assert isinstance(token, SigningFailed) and token.title == "Wrong PIN / PIN incorrecto"
    assert isinstance(scan_error(_error(DriverError, "x")), DeviceFailed)
    # a rule changes the error it made, never the class: the next error starts from the defaults
    assert DeviceFailed.http_status == 502 and DeviceFailed.grpc_status == "UNAVAILABLE"
