"""The local gRPC server: every capability's service registered one way, health, reflection."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from edge_agent.container import Services

log = logging.getLogger(__name__)

MAX_WORKERS = 32  # concurrent RecordEvent calls queue on the outbox together and share fsyncs

# A capability's ``grpc.register``: adds its servicers, returns their full service names.
Registrar = Callable[[grpc.Server, Services], Sequence[str]]


class GrpcServer:
    """Every service added through :meth:`register` is listed by reflection and health."""

    def __init__(
        self,
        host: str,
        port: int,
        interceptors: Sequence[grpc.ServerInterceptor] = (),
    ) -> None:
        # The gate (edge_agent.grpc_auth.GateInterceptor) sees every call before a servicer.
        self.server = grpc.server(
            ThreadPoolExecutor(MAX_WORKERS, thread_name_prefix="grpc"),
            interceptors=list(interceptors),
        )
        self.health = health.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        self.services: list[str] = []  # registered by the capabilities, in order
        bind_host = f"[{host}]" if ":" in host else host
        self.port = self.server.add_insecure_port(f"{bind_host}:{port}")
        if self.port == 0:
            raise OSError(f"could not bind gRPC on {host}:{port} / no se pudo abrir gRPC")
        self.host = host

    def register(self, registrar: Registrar, services: Services) -> None:
        self.services.extend(registrar(self.server, services))

    @property
    def reflected(self) -> tuple[str, ...]:
        return (*self.services, health.SERVICE_NAME, reflection.SERVICE_NAME)

    def start(self) -> None:
        reflection.enable_server_reflection(self.reflected, self.server)
        self.server.start()
        for name in ("", *self.services):
            self.health.set(name, health_pb2.HealthCheckResponse.SERVING)

    def stop(self, grace_s: float = 2.0) -> None:
        self.health.enter_graceful_shutdown()
        self.server.stop(grace_s).wait()
