"""Errors of the scanning use cases: the scanner's conditions as the agent's (one table)."""

from __future__ import annotations

from drivers.base import DriverError
from edge_agent.errors import AgentError, Outcome, Rule, from_driver_error

# Scanner conditions by driver code (one table, both transports); others: 502, UNAVAILABLE.
SCANNER_RULES: tuple[Rule, ...] = (
    ("feeder_empty", Outcome(409, "FAILED_PRECONDITION")),
    ("paper_jam", Outcome(409, "FAILED_PRECONDITION")),
    ("cover_open", Outcome(409, "FAILED_PRECONDITION")),
    ("device_busy", Outcome(409, "UNAVAILABLE")),
    ("device_gone", Outcome(503, "UNAVAILABLE")),
    ("scan_cancelled", Outcome(409, "CANCELLED")),
    ("unsupported_setting", Outcome(422, "INVALID_ARGUMENT")),
)


def scan_error(exc: DriverError) -> AgentError:
    """A scanner's error as the agent's, with its HTTP status and gRPC status."""
    return from_driver_error(exc, SCANNER_RULES, title="Scanner / Escáner")
