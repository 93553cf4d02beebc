"""Errors of the fingerprint use cases, and the reader's errors as the agent's (one table)."""

from __future__ import annotations

from drivers.base import DriverError
from drivers.fingerprint.base import CaptureCancelled, CaptureTimeout, ReaderBusy
from edge_agent.errors import DRIVER_RULES, AgentError, Outcome, Rule, from_driver_error


class PoorQualityError(AgentError):
    code = "poor_quality"
    title = "Poor fingerprint quality / Calidad de huella insuficiente"
    http_status = 422
    grpc_status = "FAILED_PRECONDITION"


class ImpressionsInconsistent(AgentError):
    code = "impressions_inconsistent"
    title = "Impressions do not match each other / Las impresiones no coinciden"
    http_status = 422
    grpc_status = "FAILED_PRECONDITION"


class NotEnrolled(AgentError):
    code = "not_enrolled"
    title = "No enrolled fingerprint / Sin huella registrada"
    http_status = 409
    grpc_status = "FAILED_PRECONDITION"


class TemplatesUnavailable(AgentError):
    code = "templates_unavailable"
    title = "Enrolled templates unavailable / Plantillas no disponibles"
    http_status = 503
    grpc_status = "UNAVAILABLE"


class TemplatesRefused(TemplatesUnavailable):
    """The hub refuses this station the patient's templates (no open case in its unit)."""

    code = "templates_refused"
    title = "The hub refused the templates / El hub negó las plantillas"
    http_status = 403
    grpc_status = "PERMISSION_DENIED"


class EngineUnavailable(AgentError):
    code = "engine_unavailable"
    title = "Matching engine unavailable / Motor de comparación no disponible"
    http_status = 503
    grpc_status = "UNAVAILABLE"


READER_RULES: tuple[Rule, ...] = (
    (CaptureTimeout, Outcome(504, "DEADLINE_EXCEEDED")),
    (CaptureCancelled, Outcome(409, "CANCELLED")),
    (ReaderBusy, Outcome(409, "RESOURCE_EXHAUSTED")),
    *DRIVER_RULES,
)


def from_reader_error(exc: DriverError) -> AgentError:
    return from_driver_error(exc, READER_RULES)
