"""Errors of pairing: the store's refusals and the agent-page-only rule, mapped once per door."""

from __future__ import annotations

from edge_agent.errors import AgentError


class PairingError(AgentError):
    code = "pairing_error"
    title = "Pairing / Emparejamiento"
    http_status = 400
    grpc_status = "FAILED_PRECONDITION"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)

    @property
    def status(self) -> int:
        return self.http_status


class LockedOut(PairingError):
    code, http_status, grpc_status = "pairing_locked_out", 429, "RESOURCE_EXHAUSTED"

    def __init__(self, reason: str, retry_after_s: int) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s  # the HTTP door says it (Retry-After)


class PairingBusy(PairingError):
    """Too many pairing requests across all origins: any origin can be made up, so a cap per
    origin alone does not keep the user's page from being flooded."""

    code, http_status, grpc_status = "pairing_busy", 429, "RESOURCE_EXHAUSTED"

    def __init__(self, reason: str, retry_after_s: int) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class UnknownRequest(PairingError):
    code, http_status, grpc_status = "pairing_request_not_found", 404, "NOT_FOUND"


class AlreadyDecided(PairingError):
    code, http_status = "pairing_already_decided", 409


class OwnOriginOnly(AgentError):
    code = "own_origin_only"
    title = "Agent page only / Solo la página del agente"
    http_status = 403
    grpc_status = "PERMISSION_DENIED"
