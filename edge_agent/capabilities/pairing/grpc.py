"""The puente.v1.AppPairing gRPC service: a local application asks to pair and fetches its token."""

from __future__ import annotations

import time
from collections.abc import Callable

from edge_agent.audit import AuditLog
from edge_agent.capabilities.pairing.errors import LockedOut, PairingError
from edge_agent.capabilities.pairing.service import PairingStore, app_key
from edge_agent.container import Services
from edge_agent.errors import InvalidInput
from edge_agent.grpc_errors import abort
from edge_agent.grpc_server import GrpcServer, ServicerContext
from protos import pairing_pb2

SERVICE = pairing_pb2.DESCRIPTOR.services_by_name["AppPairing"]
SERVICE_NAME = SERVICE.full_name


class AppPairingServicer:
    def __init__(self, pairings: PairingStore, audit: AuditLog, http_url: Callable[[], str]):
        self.pairings = pairings
        self.audit = audit
        self.http_url = http_url

    def RequestPairing(
        self, request: pairing_pb2.AppPairingRequest, context: ServicerContext
    ) -> pairing_pb2.AppPairingTicket:
        try:
            key = app_key(request.app_name)
            pending = self.pairings.request(key)
        except ValueError as exc:
            abort(context, InvalidInput(str(exc)))
        except LockedOut as exc:
            self.audit.record("pairing_locked_out", origin=key)
            abort(context, exc)
        except PairingError as exc:
            abort(context, exc)
        self.audit.record("pairing_requested", origin=key, door="grpc")
        return pairing_pb2.AppPairingTicket(
            request_id=pending.request_id,
            code=pending.code,
            expires_in_s=int(pending.expires_at - time.monotonic()),
            approve_at=f"{self.http_url()}/ui/pairing",
        )

    def GetPairing(
        self, request: pairing_pb2.GetAppPairingRequest, context: ServicerContext
    ) -> pairing_pb2.AppPairingState:
        try:
            state = self.pairings.poll(request.request_id, app_key(request.app_name))
        except ValueError as exc:
            abort(context, InvalidInput(str(exc)))
        except PairingError as exc:
            abort(context, exc)
        if state.token:
            self.audit.record("pairing_token_claimed", origin=state.origin, door="grpc")
        return pairing_pb2.AppPairingState(
            request_id=state.request_id, state=state.state, token=state.token or ""
        )


def register(server: GrpcServer, services: Services) -> tuple[str, ...]:
    return (
        server.add(
            AppPairingServicer(services.pairings, services.audit, services.http_url), SERVICE
        ),
    )
