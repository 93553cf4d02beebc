"""A local application's side of the gRPC door, with grpcio's client: its credential on
every call, and pairing. Imported by applications and tests, never by the running agent
(which serves with grpclib, edge_agent.grpc_server); ``edge_agent.grpc_auth`` forwards
:func:`authenticated_channel` and :func:`pair_app` here when they are called."""

from __future__ import annotations

import time
from collections.abc import Callable

import grpc

from edge_agent.grpc_auth import AppCredential
from protos import pairing_pb2, pairing_pb2_grpc


class _ClientAuth(
    grpc.UnaryUnaryClientInterceptor,
    grpc.UnaryStreamClientInterceptor,
    grpc.StreamUnaryClientInterceptor,
    grpc.StreamStreamClientInterceptor,
):
    def __init__(self, credential: AppCredential) -> None:
        self.credential = credential

    def _details(self, details: grpc.ClientCallDetails) -> grpc.ClientCallDetails:
        metadata = [*(details.metadata or ()), *self.credential.metadata()]
        return details._replace(metadata=metadata)  # type: ignore[attr-defined, no-any-return]  # HandlerCallDetails is a namedtuple at run time

    def intercept_unary_unary(self, continuation, details, request):  # type: ignore[no-untyped-def]  # grpc's generated servicer and interceptor hooks are untyped
        return continuation(self._details(details), request)

    def intercept_unary_stream(self, continuation, details, request):  # type: ignore[no-untyped-def]  # grpc's generated servicer and interceptor hooks are untyped
        return continuation(self._details(details), request)

    def intercept_stream_unary(self, continuation, details, requests):  # type: ignore[no-untyped-def]  # grpc's generated servicer and interceptor hooks are untyped
        return continuation(self._details(details), requests)

    def intercept_stream_stream(self, continuation, details, requests):  # type: ignore[no-untyped-def]  # grpc's generated servicer and interceptor hooks are untyped
        return continuation(self._details(details), requests)


def authenticated_channel(target: str, credential: AppCredential) -> grpc.Channel:
    """A loopback channel whose every call carries the app's credential."""
    return grpc.intercept_channel(grpc.insecure_channel(target), _ClientAuth(credential))


def pair_app(
    target: str,
    app_name: str,
    show_code: Callable[[str, str], None],
    timeout_s: float = 120.0,
    poll_s: float = 0.5,
) -> AppCredential:
    """Ask to pair, show the code (``show_code(code, approve_at)``), wait for the person."""
    with grpc.insecure_channel(target) as channel:
        stub = pairing_pb2_grpc.AppPairingStub(channel)
        ticket = stub.RequestPairing(pairing_pb2.AppPairingRequest(app_name=app_name))
        show_code(ticket.code, ticket.approve_at)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            state = stub.GetPairing(
                pairing_pb2.GetAppPairingRequest(app_name=app_name, request_id=ticket.request_id)
            )
            if state.token:
                return AppCredential(app_name, state.token)
            if state.state in ("refused", "expired"):
                raise PermissionError(f"pairing {state.state} / emparejamiento {state.state}")
            time.sleep(poll_s)
    raise TimeoutError("nobody approved the pairing / nadie aprobó el emparejamiento")
