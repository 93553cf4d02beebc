"""AgentService: wires outbox, uplink, devices, use cases, HTTP and gRPC, and runs them."""

from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn

from edge_agent.api import create_app
from edge_agent.api.deps import Services
from edge_agent.bodies import BodyUploader, LocalBodies
from edge_agent.devices import DeviceManager
from edge_agent.grpc_server import AgentServicer, GrpcServer
from edge_agent.identity import StationIdentity
from edge_agent.metrics import AgentMetrics
from edge_agent.outbox import Outbox
from edge_agent.services import RecordService, StatusService, VitalsService
from edge_agent.settings import AgentSettings
from edge_agent.uplink import Uplink

log = logging.getLogger(__name__)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


class AgentService:
    """One station's agent. ``start()`` returns once every part runs; ``stop()`` is graceful."""

    def __init__(self, settings: AgentSettings) -> None:
        self.settings = settings
        self.metrics = AgentMetrics()
        self.identity = StationIdentity.load_or_create(
            settings.data_dir, settings.tls_key_file, settings.tls_cert_file
        )
        self.outbox = Outbox(
            settings.outbox_path,
            limit_bytes=settings.outbox_limit_bytes,
            hard_limit_bytes=settings.outbox_hard_limit_bytes,
            group_commit_max=settings.group_commit_max,
            metrics=self.metrics,
        )
        self.uplink = Uplink(settings, self.outbox, self.metrics)
        self.bodies = BodyUploader(settings, LocalBodies(settings.data_dir / "bodies"))
        self.record = RecordService(settings, self.outbox)
        self.devices = DeviceManager(settings.devices, self.record.record, settings.device_poll_s)
        self.vitals = VitalsService(self.devices, self.record)
        self.status = StatusService(settings, self.outbox, self.uplink, self.devices)
        self.http_port = 0
        self.grpc_port = 0
        self._http: uvicorn.Server | None = None
        self._http_thread: threading.Thread | None = None
        self._grpc: GrpcServer | None = None
        self._started = False

    @property
    def http_url(self) -> str:
        host = self.settings.http_host
        return f"http://{f'[{host}]' if ':' in host else host}:{self.http_port}"

    @property
    def grpc_target(self) -> str:
        host = self.settings.http_host
        return f"{f'[{host}]' if ':' in host else host}:{self.grpc_port}"

    def start(self) -> None:
        s = self.settings
        s.data_dir.mkdir(parents=True, exist_ok=True)
        self.outbox.open()
        self.uplink.start()
        self.bodies.start()
        self.devices.start()

        sock = _bind(s.http_host, s.http_port)
        self.http_port = int(sock.getsockname()[1])
        app = create_app(
            Services(self.record, self.vitals, self.status, self.metrics, self.identity),
            s.allowed_origins,
        )
        config = uvicorn.Config(
            app, log_level="warning", access_log=False, lifespan="off", server_header=False
        )
        self._http = uvicorn.Server(config)
        self._http_thread = threading.Thread(
            target=self._http.run, kwargs={"sockets": [sock]}, name="http", daemon=True
        )
        self._http_thread.start()

        self._grpc = GrpcServer(AgentServicer(self.record, self.status), s.http_host, s.grpc_port)
        self.grpc_port = self._grpc.port
        self._grpc.start()
        self._started = True
        log.info(
            "agent started: http %s, grpc %s, broker %s",
            self.http_url,
            self.grpc_target,
            self.uplink.address,
            extra={"station_id": s.station_id},
        )

    def wait_ready(self, timeout: float = 10.0) -> bool:
        """True once the HTTP server accepts requests (gRPC is ready when start() returns)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._http is not None and self._http.started:
                return True
            time.sleep(0.02)
        return False

    def wait_connected(self, timeout: float = 10.0) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.uplink.state().connected:
                return True
            time.sleep(0.02)
        return False

    def stop(self) -> None:
        if not self._started:
            return
        self._started = False
        if self._http is not None:
            self._http.should_exit = True
        if self._grpc is not None:
            self._grpc.stop()
        if self._http_thread is not None:
            self._http_thread.join(10)
        self.devices.stop()
        self.bodies.stop()
        self.uplink.stop()
        self.outbox.close()
        log.info("agent stopped", extra={"station_id": self.settings.station_id})

    def __enter__(self) -> AgentService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
