"""The agent's exceptions: code, reason and transport-neutral outcome (HTTP status, gRPC name).

Use cases raise these and import no transport. Each transport maps them once:
HTTP in :mod:`edge_agent.api.problems` (RFC 9457 problem details), gRPC in
:mod:`edge_agent.grpc_errors` (``grpc.StatusCode[exc.grpc_status]``). A driver's
error becomes an agent error through :func:`from_driver_error` and the
capability's table of :class:`Outcome` rules (its ``errors.py``), so the same
reader, scanner or token condition answers the same on both transports.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from drivers.base import DeviceUnavailable, DriverError
from drivers.vitals.base import NoReading


class AgentError(Exception):
    """Base of the agent's errors: ``code`` for machines, ``reason`` (English / Spanish)."""

    code = "agent_error"
    title = "Agent error / Error del agente"
    http_status = 500
    grpc_status = "INTERNAL"  # a grpc.StatusCode name; the gRPC door maps it

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
    grpc_status = "INVALID_ARGUMENT"


class OutboxError(AgentError):
    """The outbox could not make an event durable."""

    code = "outbox_error"
    title = "Outbox failure / Falla de la bandeja de salida"
    http_status = 500
    grpc_status = "INTERNAL"


class OutboxFull(OutboxError):
    """The outbox reached its limit for this kind of event; nothing was written.

    HTTP 507 Insufficient Storage: the condition is about the station's disk
    budget, not an overloaded server, and it lasts until the hub drains the
    outbox (so no Retry-After promise can be made).
    """

    code = "outbox_full"
    title = "Outbox full / Bandeja de salida llena"
    http_status = 507
    grpc_status = "RESOURCE_EXHAUSTED"


class OutboxClosed(OutboxError):
    code = "outbox_closed"
    title = "Agent stopping / El agente se está deteniendo"
    http_status = 503
    grpc_status = "UNAVAILABLE"


class UnknownDevice(AgentError):
    code = "unknown_device"
    title = "Unknown device / Dispositivo desconocido"
    http_status = 404
    grpc_status = "NOT_FOUND"


class DeviceFailed(AgentError):
    """A driver error surfaced through a use case."""

    code = "device_error"
    title = "Device error / Error del dispositivo"
    http_status = 502
    grpc_status = "UNAVAILABLE"


@dataclass(frozen=True)
class Outcome:
    """How one driver condition reaches callers (a rule of a capability's error table)."""

    http_status: int
    grpc_status: str
    title: str | None = None


# A rule matches a driver error by class (isinstance) or by its ``code``; the first match wins.
Rule = tuple[type[DriverError] | str, Outcome]

DRIVER_RULES: tuple[Rule, ...] = (
    (DeviceUnavailable, Outcome(503, "UNAVAILABLE")),
    (NoReading, Outcome(504, "DEADLINE_EXCEEDED")),
)


def from_driver_error(
    exc: DriverError,
    rules: Sequence[Rule] = DRIVER_RULES,
    *,
    error: type[AgentError] = DeviceFailed,
    title: str | None = None,
) -> AgentError:
    """Wrap a driver's error so that both transports map it the same way.

    ``error`` (default :class:`DeviceFailed`: 502, UNAVAILABLE) carries the driver's
    code and reason; the first rule matching the error sets its outcome.
    """
    err = error(exc.reason, code=exc.code)
    if title is not None:
        err.title = title
    for match, outcome in rules:
        hit = exc.code == match if isinstance(match, str) else isinstance(exc, match)
        if hit:
            err.http_status, err.grpc_status = outcome.http_status, outcome.grpc_status
            if outcome.title is not None:
                err.title = outcome.title
            break
    return err
