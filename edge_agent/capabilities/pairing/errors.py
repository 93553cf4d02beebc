"""Errors of pairing: the store's refusals (with their HTTP status) and the agent-page-only rule."""

from __future__ import annotations

from edge_agent.errors import AgentError


class PairingError(Exception):
    code = "pairing_error"
    status = 400

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class LockedOut(PairingError):
    code, status = "pairing_locked_out", 429

    def __init__(self, reason: str, retry_after_s: int) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class PairingBusy(PairingError):
    """Too many pairing requests across all origins: any origin can be made up, so a cap per
    origin alone does not keep the user's page from being flooded."""

    code, status = "pairing_busy", 429

    def __init__(self, reason: str, retry_after_s: int) -> None:
        super().__init__(reason)
        self.retry_after_s = retry_after_s


class UnknownRequest(PairingError):
    code, status = "pairing_request_not_found", 404


class AlreadyDecided(PairingError):
    code, status = "pairing_already_decided", 409


class PairingRefused(AgentError):
    title = "Pairing / Emparejamiento"

    def __init__(self, exc: PairingError) -> None:
        super().__init__(exc.reason, code=exc.code)
        self.http_status = exc.status
        # Lock-outs and the cap across origins say when to try again (Retry-After).
        self.retry_after_s: int | None = getattr(exc, "retry_after_s", None)


class OwnOriginOnly(AgentError):
    code = "own_origin_only"
    title = "Agent page only / Solo la página del agente"
    http_status = 403
