"""The gRPC door's one mapping of the agent's errors: status code and ``code: reason`` details."""

from __future__ import annotations

from typing import NoReturn

import grpc

from edge_agent.errors import AgentError


def to_grpc(exc: AgentError) -> tuple[grpc.StatusCode, str]:
    """Status code (from the error's ``grpc_status`` name) and details (``code: reason``)."""
    return grpc.StatusCode[exc.grpc_status], f"{exc.code}: {exc.reason}"


def abort(context: grpc.ServicerContext, exc: AgentError) -> NoReturn:
    """End the call with the error's status (``context.abort`` raises)."""
    context.abort(*to_grpc(exc))
    raise AssertionError("unreachable: context.abort raises")  # pragma: no cover
