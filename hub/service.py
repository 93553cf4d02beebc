"""The hub as one object: storage, the ingest worker and the HTTP API, started and stopped.

Its role (settings.role) says which parts run: both (one process does everything, the
embedded default), ingest (a worker: MQTT subscription; HTTP for /healthz and /metrics only)
or api (HTTP API and console, no subscription). Several processes of each role share one
PostgreSQL database."""

from __future__ import annotations

import logging
import socket
import threading
import time

import uvicorn

from hub.api.app import create_app, create_health_app
from hub.bodies import BodyStore
from hub.broker_link import BrokerLink
from hub.health import WriteHealth
from hub.ingest.worker import IngestWorker
from hub.metrics import HubMetrics
from hub.settings import HubSettings
from hub.signatures.worker import SignatureValidator, load_roots
from hub.storage import open_store
from hub.storage.base import Store
from hub.storage.biometrics import VaultingStore, load_key
from hub.tokens import Role, ensure_token
from hub.vitals.service import VitalsHub

log = logging.getLogger(__name__)


class HubService:
    def __init__(self, settings: HubSettings) -> None:
        self.settings = settings
        self.metrics = HubMetrics()
        key = settings.fingerprint_key.get_secret_value() if settings.fingerprint_key else None
        store = open_store(settings)
        self._store: Store = VaultingStore(
            store, store.template_vault(load_key(key, settings.data_dir))
        )
        self._worker: IngestWorker | None = None  # roles both and ingest
        self._link: BrokerLink | None = None  # role api: publishes only
        self._server: uvicorn.Server | None = None
        self._server_thread: threading.Thread | None = None
        self._socket: socket.socket | None = None
        self._port = settings.http_port

    @property
    def store(self) -> Store:
        return self._store

    @property
    def http_url(self) -> str:
        host = self.settings.http_host
        host = f"[{host}]" if ":" in host else host
        return f"http://{host}:{self._port}"

    @property
    def mqtt_connected(self) -> bool:
        if self._link is not None:
            return self._link.connected
        return self._worker is not None and self._worker.connected

    def start(self) -> None:
        version = self._store.migrate()
        log.info("hub database %s at schema version %d", self.settings.database_path, version)
        if self.settings.bootstrap_token is not None:
            ensure_token(
                self._store, self.settings.bootstrap_token.get_secret_value(), "bootstrap", Role.OPS
            )
        s = self.settings
        self.health = WriteHealth(  # /healthz: a write probe and the ingest commits
            self._store, s.mqtt_client_id, s.health_write_probe_s, s.health_write_timeout_s
        )
        self.health.on_change = lambda ok: self.metrics.db_writable.set(1 if ok else 0)
        if s.role == "ingest":  # announces what it stores; nobody watches here
            self.vitals = VitalsHub(self._store.readings(), self._store.live_fanout())
        else:  # readings per case, live feed (listening to every worker's news)
            self.vitals = VitalsHub.for_store(self._store)
        from hub.fleet import FleetService  # provisioning: CA, enrollment, remote config

        self.fleet = FleetService(self.settings, self._store)
        self.fleet.write_broker_files()
        if self.fleet.dynamic_security:  # the broker's roles in step with the registry
            threading.Thread(
                target=self.fleet.refresh_broker, name="broker-sync", daemon=True
            ).start()
        if s.role in ("both", "ingest"):
            self._start_ingest()
        else:  # api: no subscription; configs sealed here still reach the stations
            self._link = BrokerLink(s)
            self.fleet.publish = self._link.publish
            self._link.start()
        self._start_http()  # role ingest: /healthz and /metrics only
        log.info("hub role %s", s.role)

    def _start_ingest(self) -> None:
        self._worker = IngestWorker(self.settings, self._store, self.metrics, self.health)
        self._worker.on_commit.append(self.vitals.on_commit)
        self.signatures = SignatureValidator(  # validates signed PDFs after ingest, not in it
            self._store.signatures(),
            BodyStore(self.settings.data_dir / "bodies", self.settings.max_body_bytes),
            load_roots(self.settings.signature_trust_roots),
            self.settings.signature_poll_s,
            fetch_revocation=self.settings.signature_fetch_revocation,
            revocation_timeout_s=self.settings.signature_revocation_timeout_s,
            revalidate_s=self.settings.signature_revalidate_s,
        )
        self.signatures.start()
        self._worker.on_commit.append(self.signatures.on_commit)
        self.fleet.publish = self._worker.publish
        self._worker.on_state = self.fleet.on_state
        self._worker.on_connected = self.fleet.republish_all
        self._worker.start()

    def _start_http(self) -> None:
        family = socket.AF_INET6 if ":" in self.settings.http_host else socket.AF_INET
        # proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on sockets that say TCP (accepted
        # connections inherit it); without it an answer's body waits for the client's delayed ACK.
        sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((self.settings.http_host, self.settings.http_port))
        self._port = sock.getsockname()[1]  # a free one when http_port is 0
        self._socket = sock
        if self.settings.role == "ingest":
            app = create_health_app(
                self._store, self.metrics, lambda: self.mqtt_connected, self.health
            )
        else:
            app = create_app(
                self._store,
                self.metrics,
                lambda: self.mqtt_connected,
                settings=self.settings,
                write_health=self.health,
            )
            app.state.fleet = self.fleet
            app.state.vitals = self.vitals
        config = uvicorn.Config(app, log_config=None, access_log=False, lifespan="off")
        self._server = uvicorn.Server(config)
        self._server_thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, name="hub-http", daemon=True
        )
        self._server_thread.start()
        log.info(
            "hub %s on %s", "health" if self.settings.role == "ingest" else "API", self.http_url
        )

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Block until the API serves and the worker is subscribed; TimeoutError otherwise."""
        deadline = time.monotonic() + timeout
        while not (self._server is not None and self._server.started):
            if time.monotonic() >= deadline:
                raise TimeoutError("hub API did not start / la API del hub no arrancó")
            time.sleep(0.02)
        if self.settings.role == "api":
            return  # no subscription; the broker link reconnects by itself
        remaining = max(0.0, deadline - time.monotonic())
        if self._worker is None or not self._worker.wait_subscribed(remaining):
            raise TimeoutError(
                f"hub is not subscribed at {self.settings.broker_url} / "
                f"el hub no está suscrito en {self.settings.broker_url}"
            )

    def stop(self) -> None:
        """Stop taking MQTT messages, commit and answer what is queued, then stop the API.

        Each part stops even if an earlier one failed (say, the broker is gone): the store is
        closed last, so what was committed stays committed."""
        if self._worker is not None:
            try:
                self._worker.stop()
            except Exception:
                log.exception("ingest worker did not stop cleanly")
            self._worker = None
        if self._link is not None:
            self._link.stop()
            self._link = None
        if self._server is not None:
            self._server.should_exit = True
            if self._server_thread is not None:
                self._server_thread.join(10)
            self._server = None
        if self._socket is not None:
            self._socket.close()
            self._socket = None
        if getattr(self, "signatures", None) is not None:
            self.signatures.stop()
        self._store.close()
        if getattr(self, "vitals", None) is not None:
            self.vitals.close()
        log.info("hub stopped")
