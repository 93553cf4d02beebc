"""The agent's exceptions (code, reason) and their one mapping to HTTP problems and gRPC."""

from __future__ import annotations

from typing import Any

import grpc

from drivers.base import DeviceUnavailable, DriverError
from drivers.vitals.base import NoReading


class AgentError(Exception):
    """Base of the agent's errors: ``code`` for machines, ``reason`` (English / Spanish)."""

    code = "agent_error"
    title = "Agent error / Error del agente"
    http_status = 500
    grpc_code = grpc.StatusCode.INTERNAL

    def __init__(self, reason: str, *, code: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        if code is not None:
            self.code = code


class InvalidInput(AgentError):
    """The caller sent something the agent cannot record."""

    code = "invalid_input"
    title = "Invalid input / Datos no válidos"
    http_status = 422
    grpc_code = grpc.StatusCode.INVALID_ARGUMENT


class OutboxError(AgentError):
    """The outbox could not make an event durable."""

    code = "outbox_error"
    title = "Outbox failure / Falla de la bandeja de salida"
    http_status = 500
    grpc_code = grpc.StatusCode.INTERNAL


class OutboxFull(OutboxError):
    """The outbox reached its limit for this kind of event; nothing was written.

    HTTP 507 Insufficient Storage: the condition is about the station's disk
    budget, not an overloaded server, and it lasts until the hub drains the
    outbox (so no Retry-After promise can be made).
    """

    code = "outbox_full"
    title = "Outbox full / Bandeja de salida llena"
    http_status = 507
    grpc_code = grpc.StatusCode.RESOURCE_EXHAUSTED


class OutboxClosed(OutboxError):
    code = "outbox_closed"
    title = "Agent stopping / El agente se está deteniendo"
    http_status = 503
    grpc_code = grpc.StatusCode.UNAVAILABLE


class UnknownDevice(AgentError):
    code = "unknown_device"
    title = "Unknown device / Dispositivo desconocido"
    http_status = 404
    grpc_code = grpc.StatusCode.NOT_FOUND


class DeviceFailed(AgentError):
    """A driver error surfaced through a use case."""

    code = "device_error"
    title = "Device error / Error del dispositivo"
    http_status = 502
    grpc_code = grpc.StatusCode.UNAVAILABLE


def from_driver_error(exc: DriverError) -> AgentError:
    """Wrap a driver's error so that both transports map it the same way."""
    err = DeviceFailed(exc.reason, code=exc.code)
    if isinstance(exc, DeviceUnavailable):
        err.http_status = 503
    elif isinstance(exc, NoReading):
        err.http_status = 504
        err.grpc_code = grpc.StatusCode.DEADLINE_EXCEEDED
    return err


PROBLEM_MEDIA_TYPE = "application/problem+json"


def problem(status: int, code: str, title: str, detail: str, **extra: Any) -> dict[str, Any]:
    """An RFC 9457 problem details object; ``code`` is a Puente extension member."""
    return {
        "type": f"urn:puente:problem:{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }


def to_problem(exc: AgentError) -> dict[str, Any]:
    return problem(exc.http_status, exc.code, exc.title, exc.reason)


def to_grpc(exc: AgentError) -> tuple[grpc.StatusCode, str]:
    """Status code and details string for gRPC (``code: reason``)."""
    return exc.grpc_code, f"{exc.code}: {exc.reason}"
