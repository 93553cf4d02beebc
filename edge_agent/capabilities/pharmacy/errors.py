"""Errors of the dispensing use cases (code, title, HTTP status and gRPC status name)."""

from __future__ import annotations

from edge_agent.errors import AgentError


class UnreadableScan(AgentError):
    """A scan that is not a complete, valid GS1 item: nothing of it is used."""

    code = "unreadable_scan"
    title = "Unreadable barcode / Código de barras ilegible"
    http_status = 422
    grpc_status = "INVALID_ARGUMENT"


class ItemRefused(AgentError):
    """A readable item that must not be handed over (expired, duplicate serial, unknown)."""

    code = "item_refused"
    title = "Item refused / Artículo rechazado"
    http_status = 409
    grpc_status = "FAILED_PRECONDITION"


class SessionNotFound(AgentError):
    code = "session_not_found"
    title = "No such dispensing session / Sesión de despacho inexistente"
    http_status = 404
    grpc_status = "NOT_FOUND"


class SessionClosed(AgentError):
    code = "session_closed"
    title = "Dispensing session closed / Sesión de despacho cerrada"
    http_status = 409
    grpc_status = "FAILED_PRECONDITION"


class NotConfirmed(AgentError):
    """The patient's fingerprint did not confirm the dispensing: nothing is recorded as given."""

    code = "not_confirmed"
    title = "Patient not confirmed / Paciente no confirmado"
    http_status = 409
    grpc_status = "FAILED_PRECONDITION"


class ScannerInUse(AgentError):
    code = "scanner_in_use"
    title = "Scanner in use / Lector en uso"
    http_status = 409
    grpc_status = "FAILED_PRECONDITION"


class CatalogueUnavailable(AgentError):
    code = "catalogue_unavailable"
    title = "Catalogue not refreshed / Catálogo no actualizado"
    http_status = 502
