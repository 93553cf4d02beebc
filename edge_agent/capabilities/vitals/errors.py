"""Errors of the vitals use cases (sessions, the inbox); a monitor's errors map through
:func:`edge_agent.errors.from_driver_error` (no reading in time: 504, DEADLINE_EXCEEDED)."""

from __future__ import annotations

from edge_agent.errors import AgentError, UnknownDevice


class SessionNotFound(UnknownDevice):
    code = "session_not_found"
    title = "Unknown session / Sesión desconocida"


class SessionConflict(AgentError):
    code = "session_conflict"
    title = "Monitor busy / Monitor ocupado"
    http_status = 409
    grpc_status = "FAILED_PRECONDITION"


class EntryNotFound(AgentError):
    code = "inbox_entry_not_found"
    title = "Unknown inbox entry / Entrada desconocida"
    http_status = 404


class EntryDecided(AgentError):
    code = "inbox_entry_decided"
    title = "Already decided / Ya decidida"
    http_status = 409
