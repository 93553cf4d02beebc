"""AgentService: wires outbox, uplink, devices, use cases, HTTP and gRPC, and runs them."""

from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn

from edge_agent.api import create_app
from edge_agent.audit import AuditLog
from edge_agent.bodies import BodyUploader, LocalBodies
from edge_agent.capabilities.activity.service import ActivityBoard
from edge_agent.capabilities.fingerprint import grpc as fingerprint_grpc
from edge_agent.capabilities.fingerprint.service import FingerprintService
from edge_agent.capabilities.fingerprint.templates import TemplateSource
from edge_agent.capabilities.pairing import grpc as pairing_grpc
from edge_agent.capabilities.pairing.service import PairingStore
from edge_agent.capabilities.pharmacy import grpc as pharmacy_grpc
from edge_agent.capabilities.pharmacy.catalogue import Catalogue
from edge_agent.capabilities.pharmacy.service import DispensingService
from edge_agent.capabilities.pharmacy.sync import CatalogueSync
from edge_agent.capabilities.scanning import grpc as scanning_grpc
from edge_agent.capabilities.scanning.service import ScanService
from edge_agent.capabilities.signing import grpc as signing_grpc
from edge_agent.capabilities.signing.service import SigningService
from edge_agent.capabilities.status import grpc as status_grpc
from edge_agent.capabilities.status.service import StatusService
from edge_agent.capabilities.vitals import grpc as vitals_grpc
from edge_agent.capabilities.vitals.attribution import review
from edge_agent.capabilities.vitals.inbox import VitalsInbox
from edge_agent.capabilities.vitals.router import VitalsRouter
from edge_agent.capabilities.vitals.service import VitalsService
from edge_agent.capabilities.vitals.streaming import StreamService
from edge_agent.container import Services
from edge_agent.devices import DeviceManager
from edge_agent.grpc_auth import GateInterceptor
from edge_agent.grpc_server import GrpcServer, Registrar
from edge_agent.identity import StationIdentity
from edge_agent.metrics import AgentMetrics
from edge_agent.operator_pin import FILE_NAME as OPERATOR_PIN_FILE
from edge_agent.operator_pin import OperatorPin
from edge_agent.outbox import Outbox
from edge_agent.private_files import private_dir
from edge_agent.ratelimit import RateLimiter
from edge_agent.record import RecordService
from edge_agent.remote_config import RemoteConfig
from edge_agent.settings import AgentSettings
from edge_agent.uplink import Uplink

log = logging.getLogger(__name__)

# Every capability's gRPC services, registered one way (and so all listed by reflection).
GRPC_REGISTRARS: tuple[Registrar, ...] = (
    status_grpc.register,
    vitals_grpc.register,
    fingerprint_grpc.register,
    scanning_grpc.register,
    signing_grpc.register,
    pharmacy_grpc.register,
    pairing_grpc.register,
)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP, not 0: asyncio sets TCP_NODELAY only on sockets that say TCP, and
    # accepted connections inherit it. Without it a response's headers and body go out as two
    # segments and Nagle holds the body until the client's delayed ACK (~40 ms each answer).
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.setblocking(False)
    return sock


def _installed_drivers() -> set[str]:
    from drivers.base import available_drivers

    return set(available_drivers())


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
            min_free_disk_bytes=settings.outbox_min_free_disk_bytes,
            reserve_bytes=settings.outbox_reserve_bytes,
            group_commit_max=settings.group_commit_max,
            metrics=self.metrics,
        )
        self.uplink = Uplink(settings, self.outbox, self.metrics)
        self.bodies = BodyUploader(settings, LocalBodies(settings.data_dir / "bodies"))
        self.record = RecordService(settings, self.outbox)
        self.devices = DeviceManager(
            settings.devices, self.record.record, settings.device_poll_s, prepare=self._prepare
        )
        self.audit = AuditLog(settings.data_dir / "audit.log")
        self.inbox = VitalsInbox(
            settings.data_dir / "vitals-inbox.sqlite3",
            self.record,
            self.audit,
            settings.vitals.inbox_max_per_device,
        )
        self.vitals_router = VitalsRouter(self.devices, self.inbox, settings.vitals)
        self.vitals = VitalsService(self.devices, self.record, self.vitals_router)
        self.scan = ScanService(self.devices, self.record, self.bodies.submit)
        self.streams = StreamService(self.devices, self.record, router=self.vitals_router)
        self.signing = SigningService(
            settings.signing,
            self.devices,
            self.record,
            self.bodies,
            identity=self.identity,
            jobs_dir=settings.data_dir / "signing",
        )
        self.status = StatusService(settings, self.outbox, self.uplink, self.devices)
        self.fingerprint = FingerprintService(
            settings.fingerprint,
            self.devices,
            self.record,
            self.identity,
            TemplateSource(settings.fingerprint, settings.data_dir / "fp-templates.sqlite3"),
            settings.data_dir / "fingerprint-images",
        )
        self.pharmacy: DispensingService | None = None
        self.remote_config = RemoteConfig(
            settings, self.devices, self.uplink.publish_state, _installed_drivers
        )
        self.uplink.on_config = self.remote_config.submit
        self.uplink.config_status = self.remote_config.status
        self.uplink.device_states = self.devices.reported
        self.devices.on_change = self.uplink.publish_state
        self.pairings = PairingStore(
            settings.data_dir / "pairings.sqlite3",
            code_ttl_s=settings.pairing_code_ttl_s,
            max_failures=settings.pairing_max_failures,
            lockout_s=settings.pairing_lockout_s,
            max_pending_total=settings.pairing_max_pending,
            requests_per_min=settings.pairing_requests_per_min,
        )
        self.limiter = RateLimiter(settings.rate_limit_per_s, settings.rate_limit_burst)
        self.local_limiter = RateLimiter(
            settings.local_rate_limit_per_s, settings.local_rate_limit_burst
        )
        self.activity = ActivityBoard()
        self.operator_pin = OperatorPin(settings.data_dir / OPERATOR_PIN_FILE)
        self.http_port = 0
        self.grpc_port = 0
        self._http: uvicorn.Server | None = None
        self._http_thread: threading.Thread | None = None
        self._grpc: GrpcServer | None = None
        self.services: Services | None = None  # built in start(), with the pharmacy
        self._started = False

    def _prepare(self, device: object) -> None:
        """Each loaded driver: HL7 listeners answer with the agent's review of the readings."""
        set_review = getattr(device, "set_review", None)
        if set_review is not None:
            set_review(review, "PUENTE", self.settings.station_id)

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
        private_dir(s.data_dir)
        self.pharmacy = DispensingService(
            Catalogue(s.data_dir / "pharmacy.sqlite3"),
            self.record,
            self.identity,
            self.fingerprint,
            self.devices,
        )
        self.pharmacy.sync = CatalogueSync(
            s, self.pharmacy.catalogue, s.pharmacy.catalogue_refresh_s
        )
        self.pharmacy.sync.start()
        self.outbox.open()
        self.remote_config.load_saved()  # before the devices start: they follow the config
        self.remote_config.start()
        self.uplink.start()
        self.bodies.start()
        self.devices.start()
        self.vitals_router.start()

        self.services = Services(
            record=self.record,
            status=self.status,
            metrics=self.metrics,
            identity=self.identity,
            vitals=self.vitals,
            streams=self.streams,
            inbox=self.inbox,
            vitals_router=self.vitals_router,
            fingerprint=self.fingerprint,
            scan=self.scan,
            signing=self.signing,
            pharmacy=self.pharmacy,
            pairings=self.pairings,
            audit=self.audit,
            activity=self.activity,
            operator_pin=self.operator_pin,
            http_url=lambda: self.http_url,
        )
        sock = _bind(s.http_host, s.http_port)
        self.http_port = int(sock.getsockname()[1])
        app = create_app(
            self.services,
            s.allowed_origins,
            limiter=self.limiter,
            local_limiter=self.local_limiter,
            max_body_bytes=s.http_max_body_bytes,
        )
        # No WebSocket route: ws="none" keeps uvicorn from importing a WebSocket library.
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="off",
            server_header=False,
            ws="none",
        )
        self._http = uvicorn.Server(config)
        self._http_thread = threading.Thread(
            target=self._http.run, kwargs={"sockets": [sock]}, name="http", daemon=True
        )
        self._http_thread.start()

        gate = GateInterceptor(
            self.pairings,
            self.activity,
            self.audit,
            cancels={"Enroll": self._cancel_capture, "Verify": self._cancel_capture},
        )
        self._grpc = GrpcServer(s.http_host, s.grpc_port, [gate])
        self.grpc_port = self._grpc.port
        for register in GRPC_REGISTRARS:
            self._grpc.register(register, self.services)
        self._grpc.start()
        self._started = True
        log.info(
            "agent started: http %s, grpc %s, broker %s",
            self.http_url,
            self.grpc_target,
            self.uplink.address,
            extra={"station_id": s.station_id},
        )

    def _cancel_capture(self, request: object) -> None:
        """A capture refused on the actions board stops at the reader."""
        self.fingerprint.cancel(getattr(request, "device_id", ""))

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
        self.remote_config.stop()
        self.streams.stop_all()
        if self.pharmacy is not None:
            self.pharmacy.stop()
            if self.pharmacy.sync is not None:
                self.pharmacy.sync.stop()
            self.pharmacy.catalogue.close()
        self.vitals_router.stop()
        self.devices.stop()
        self.inbox.close()
        self.fingerprint.templates.close()
        self.bodies.stop()
        self.uplink.stop()
        self.outbox.close()
        self.pairings.close()
        self.signing.close()
        log.info("agent stopped", extra={"station_id": self.settings.station_id})

    def __enter__(self) -> AgentService:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
