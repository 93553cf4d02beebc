"""The gRPC door's one mapping of the agent's errors: status code and ``code: reason`` details."""

from __future__ import annotations

from typing import NoReturn

from grpclib.const import Status

from edge_agent.errors import AgentError
from edge_agent.grpc_server import ServicerContext


def to_grpc(exc: AgentError) -> tuple[Status, str]:
    """Status code (from the error's ``grpc_status`` name) and details (``code: reason``)."""
    return Status[exc.grpc_status], f"{exc.code}: {exc.reason}"


def abort(context: ServicerContext, exc: AgentError) -> NoReturn:
    """End the call with the error's status (``context.abort`` raises)."""
    context.abort(*to_grpc(exc))
