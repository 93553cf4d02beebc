"""Errors of the fingerprint use cases, with their HTTP status and gRPC code."""

from __future__ import annotations

import grpc

from drivers.base import DriverError
from drivers.fingerprint.base import CaptureCancelled, CaptureTimeout, ReaderBusy
from edge_agent.errors import AgentError, from_driver_error


class PoorQualityError(AgentError):
    code = "poor_quality"
    title = "Poor fingerprint quality / Calidad de huella insuficiente"
    http_status = 422
    grpc_code = grpc.StatusCode.FAILED_PRECONDITION


class ImpressionsInconsistent(AgentError):
    code = "impressions_inconsistent"
    title = "Impressions do not match each other / Las impresiones no coinciden"
    http_status = 422
    grpc_code = grpc.StatusCode.FAILED_PRECONDITION


class NotEnrolled(AgentError):
    code = "not_enrolled"
    title = "No enrolled fingerprint / Sin huella registrada"
    http_status = 409
    grpc_code = grpc.StatusCode.FAILED_PRECONDITION


class TemplatesUnavailable(AgentError):
    code = "templates_unavailable"
    title = "Enrolled templates unavailable / Plantillas no disponibles"
    http_status = 503
    grpc_code = grpc.StatusCode.UNAVAILABLE


class TemplatesRefused(TemplatesUnavailable):
    """The hub refuses this station the patient's templates (no open case in its unit)."""

    code = "templates_refused"
    title = "The hub refused the templates / El hub negó las plantillas"
    http_status = 403
    grpc_code = grpc.StatusCode.PERMISSION_DENIED


class EngineUnavailable(AgentError):
    code = "engine_unavailable"
    title = "Matching engine unavailable / Motor de comparación no disponible"
    http_status = 503
    grpc_code = grpc.StatusCode.UNAVAILABLE


def from_reader_error(exc: DriverError) -> AgentError:
    err = from_driver_error(exc)
    if isinstance(exc, CaptureTimeout):
        err.http_status, err.grpc_code = 504, grpc.StatusCode.DEADLINE_EXCEEDED
    elif isinstance(exc, CaptureCancelled):
        err.http_status, err.grpc_code = 409, grpc.StatusCode.CANCELLED
    elif isinstance(exc, ReaderBusy):
        err.http_status, err.grpc_code = 409, grpc.StatusCode.RESOURCE_EXHAUSTED
    return err
