"""The hub's fleet service: wires provisioning's logic (CA, codes, ACL, config) to storage and MQTT.

Enrollment, retirement and remote config go through here; the API routers and
the console only translate. After an enrollment or a retirement the CRL is rewritten, the
broker reloads it (SIGHUP), and its dynamic-security plugin is brought in step, which also
ends the station's open session. A failure of either is logged as an error and kept in
``broker_status`` for the ops console.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from hub.ingest.timefmt import now_iso
from hub.settings import HubSettings
from hub.storage.base import Store
from hub.storage.registry import CertificateRecord, RegistryStore
from protos import events_pb2
from protos import station_config as sealed_config
from protos.topics import config as config_topic
from protos.topics import parse as parse_topic
from provisioning import enrollment, station_config
from provisioning.acl import dynsec_config
from provisioning.errors import EnrollmentRefused, NotRegistered
from provisioning.mosquitto import BrokerFiles, mosquitto_conf
from provisioning.pki import StationCA, key_pem, write_private

log = logging.getLogger(__name__)


def _now() -> datetime:
    return datetime.now(UTC)


def _check_is_mosquitto(pid: int) -> None:
    """A stale pid file may name a process that took the dead broker's pid: SIGHUP ends
    most programs, so check the name first where Linux's /proc tells it."""
    comm = Path(f"/proc/{pid}/comm")
    if not Path("/proc/self/comm").exists():
        return
    name = comm.read_text().strip() if comm.exists() else ""
    if name != "mosquitto":
        raise ProcessLookupError(f"pid {pid} is {name or 'not running'}, not mosquitto")


@dataclass(frozen=True)
class BrokerStatus:
    """The last attempt to bring the broker in step: ok, when, and what failed (words)."""

    ok: bool
    at: str
    problems: tuple[str, ...] = ()


@dataclass(frozen=True)
class EnrollmentResult:
    station_id: str
    unit_id: str
    certificate_pem: str
    ca_pem: str
    broker_url: str
    config_public_key_pem: str
    config: str
    not_after: str


class FleetService:
    def __init__(self, settings: HubSettings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self.registry: RegistryStore = store.registry()
        self.pki_dir = settings.pki_dir or settings.data_dir / "pki"
        self.broker_files = BrokerFiles(settings.broker_dir or self.pki_dir / "broker")
        self.ca = StationCA.load_or_create(self.pki_dir)
        self.config_key = self._config_key(self.pki_dir / "config-key.pem")
        self.publish: Any = None  # set by the hub: (topic, payload, retain) -> None
        self.broker_status: BrokerStatus | None = None  # None: not tried since start
        self._broker_lock = threading.Lock()
        # Brokers without the plugin (the demo's amqtt): called with (station_id, still
        # allowed) for each station whose open session must end now.
        self.on_cut: list[Callable[[str, bool], object]] = []

    @staticmethod
    def _config_key(path: Path) -> ec.EllipticCurvePrivateKey:
        if not path.exists():
            write_private(path, key_pem(ec.generate_private_key(ec.SECP256R1())))
        key = serialization.load_pem_private_key(path.read_bytes(), None)
        assert isinstance(key, ec.EllipticCurvePrivateKey)
        return key

    @property
    def config_public_key_pem(self) -> str:
        return (
            self.config_key.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )

    @property
    def station_broker_url(self) -> str:
        return self.settings.station_broker_url or self.settings.broker_url

    def _station(self, station_id: str) -> Any:
        station = self.store.get_station(station_id)
        if station is None:
            raise NotRegistered(f"no station {station_id} / no existe la estación {station_id}")
        return station

    # -- enrollment --------------------------------------------------------------------
    def create_code(self, station_id: str, created_by: str) -> tuple[str, datetime]:
        station = self._station(station_id)
        if station.retired_at is not None:
            raise EnrollmentRefused(
                f"station {station_id} is retired / la estación está dada de baja", "retired"
            )
        code, record = enrollment.issue(
            station_id, timedelta(seconds=self.settings.enrollment_code_ttl_s), _now(), created_by
        )
        self.registry.add_code(record)
        log.info("enrollment code created by %s", created_by, extra={"station_id": station_id})
        return code, record.expires_at

    def enroll(self, code: str, csr_pem: str) -> EnrollmentResult:
        now = _now()
        record = enrollment.check(self.registry.find_code(enrollment.code_hash(code)), code, now)
        station = self._station(record.station_id)
        if station.retired_at is not None:
            raise EnrollmentRefused("station is retired / estación dada de baja", "retired")
        issued = self.ca.sign_csr(
            csr_pem.encode(), station.station_id, station.unit_id, self.settings.station_cert_days
        )
        # Single use: whoever marks the code first wins; a concurrent second request fails.
        if not self.registry.use_code(record.code_sha256, now.isoformat()):
            raise EnrollmentRefused(
                "this enrollment code was already used / este código ya se usó", "code_used"
            )
        public_pem = (
            issued.certificate.public_key()
            .public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            .decode()
        )
        key_digest = self.store.set_station_key(station.station_id, public_pem, now.isoformat())
        # Re-enrollment (new PC for the same station): the old certificates stop working.
        self.registry.add_certificate(
            CertificateRecord(
                issued.serial_hex,
                station.station_id,
                now.isoformat(),
                issued.not_after.isoformat(),
                key_digest,
                None,
            )
        )
        self.registry.revoke_certificates(station.station_id, now.isoformat(), issued.serial_hex)
        # Always: the broker names each enrolled station with its unit, the CRL names the old
        # PC's certificate, and a session the old PC still holds is ended now.
        self.refresh_broker(cut=[station.station_id])
        sealed = self.publish_config(station.station_id)
        log.info("station enrolled", extra={"station_id": station.station_id})
        return EnrollmentResult(
            station.station_id,
            station.unit_id,
            issued.pem.decode(),
            self.ca.pem.decode(),
            self.station_broker_url,
            self.config_public_key_pem,
            sealed.decode(),
            issued.not_after.isoformat(),
        )

    # -- retirement --------------------------------------------------------------------
    def retire(self, station_id: str) -> tuple[Any, int]:
        """Retire a station (API and console): the row, then certificates, CRL, ACL, reload."""
        self._station(station_id)
        at = now_iso()
        station = self.store.retire_station(station_id, at)
        return station, self.on_retired(station_id, station.retired_at or at)

    def on_retired(self, station_id: str, at: str) -> int:
        """After the station row is retired: revoke its certificates and cut broker access."""
        count = self.registry.revoke_certificates(station_id, at)
        self.registry.drop_codes(station_id)
        self.refresh_broker(cut=[station_id])
        log.info(
            "station retired, %d certificate(s) revoked", count, extra={"station_id": station_id}
        )
        return count

    def refresh_broker(self, cut: list[str] | None = None) -> BrokerStatus:
        """Rewrite the CRL, reload the broker, sync its station access and end ``cut``'s
        sessions. Never raises: failures are logged as errors and kept in ``broker_status``."""
        with self._broker_lock:  # one at a time: each sync deletes what its snapshot lacks
            return self._refresh_broker(cut)

    def _refresh_broker(self, cut: list[str] | None) -> BrokerStatus:
        problems: list[str] = []
        try:
            self.write_broker_files()
        except OSError as exc:
            problems.append(f"broker files not written: {exc} / archivos del broker: {exc}")
        problems += self.reload_broker()
        if self.dynamic_security:
            from hub.broker_admin import BrokerAdmin, BrokerAdminError

            try:
                BrokerAdmin(self.settings).sync(
                    self.settings.broker_hub_identities, self.active_stations(), cut or ()
                )
            except BrokerAdminError as exc:
                problems.append(
                    f"station access not updated / acceso de estaciones sin actualizar: {exc}"
                )
            except Exception as exc:  # e.g. the store closing under a start-up sync: report it
                log.exception("broker sync failed")
                problems.append(f"station access not updated / sin actualizar: {exc!r}")
        if cut and self.on_cut:
            active = self.active_stations()
            for station_id in cut:
                for hook in self.on_cut:
                    try:
                        hook(station_id, station_id in active)
                    except Exception as exc:  # a broker hook failing must not stop the rest
                        problems.append(
                            f"session of {station_id} not ended / sesión no cerrada: {exc}"
                        )
        for problem in problems:
            log.error("broker not in step: %s", problem)
        self.broker_status = BrokerStatus(not problems, now_iso(), tuple(problems))
        return self.broker_status

    @property
    def dynamic_security(self) -> bool:
        flag = self.settings.broker_dynamic_security
        return self.settings.broker_url.startswith("mqtts://") if flag is None else flag

    def write_broker_files(self, files: BrokerFiles | None = None) -> None:
        """CA and CRL where the broker reads them (atomic renames), and the dynamic-security
        plugin's first state if there is none yet (later the broker owns that file and the
        hub changes it through the plugin's commands)."""
        files = files or self.broker_files
        files.directory.mkdir(parents=True, exist_ok=True)
        revoked = [
            (int(serial, 16), datetime.fromisoformat(at)) for serial, at in self.registry.revoked()
        ]
        _atomic(files.crl, self.ca.crl(revoked))
        _atomic(files.ca, self.ca.pem)
        if not files.dynsec.exists():
            self.write_dynsec(files)

    def write_dynsec(self, files: BrokerFiles) -> None:
        text = json.dumps(
            dynsec_config(self.settings.broker_hub_identities, self.active_stations()), indent=1
        )
        _atomic(files.dynsec, text.encode())

    def active_stations(self) -> dict[str, str]:
        """station id → unit of every station allowed on the broker: not retired, holding a
        valid certificate."""
        stations = self.store.list_stations()
        certified = {c.station_id for c in self.registry.certificates() if c.revoked_at is None}
        return {
            s.station_id: s.unit_id
            for s in stations
            if s.retired_at is None and s.station_id in certified
        }

    def write_broker_config(
        self,
        out: Path,
        port: int = 8883,
        bind: str = "",
        hostnames: list[str] | None = None,
        persistence_dir: Path | None = None,
        user: str | None = None,
    ) -> BrokerFiles:
        """Everything a Mosquitto needs in ``out``: conf, ACL, CA, CRL, and a server
        certificate from the station CA (made once; kept if already there)."""
        files = BrokerFiles(out.resolve())
        self.write_broker_files(files)
        self.write_dynsec(files)  # the install step: the registry's state now
        if not files.cert.exists() or not files.key.exists():
            names = hostnames or ["localhost"]
            key, issued = self.ca.issue_key_pair(names[0], server_names=names)
            write_private(files.key, key)
            _atomic(files.cert, issued.pem)
        conf = mosquitto_conf(
            files, port=port, bind=bind, persistence_dir=persistence_dir, user=user
        )
        _atomic(files.conf, conf.encode())
        return files

    def reload_broker(self) -> list[str]:
        """SIGHUP to the broker's pid (or the reload command): Mosquitto re-reads the CRL.
        Returns what went wrong, in words (empty: reloaded)."""
        s = self.settings
        if s.broker_reload_pid_file is None and s.broker_reload_command:
            return self._reload_command()
        if s.broker_reload_pid_file is None and not s.broker_url.startswith("mqtts://"):
            return []  # no client certificates on this broker (the demo's): no CRL to reload
        pid_file = s.broker_reload_pid_file or self.broker_files.pid
        try:
            pid = int(pid_file.read_text().strip())
            _check_is_mosquitto(pid)
            os.kill(pid, signal.SIGHUP)
            return []
        except (OSError, ValueError) as exc:
            if s.broker_reload_command:
                return self._reload_command()
            return [
                f"broker not reloaded (pid file {pid_file}: {exc}), revoked certificates can "
                "still connect / el broker no se recargó: certificados revocados aún conectan"
            ]

    def _reload_command(self) -> list[str]:
        command = self.settings.broker_reload_command
        try:
            done = subprocess.run(command, shell=True, check=False, timeout=30, capture_output=True)
        except (OSError, subprocess.TimeoutExpired) as exc:
            return [f"broker reload command failed: {exc} / falló la recarga del broker"]
        if done.returncode != 0:
            err = done.stderr.decode(errors="replace").strip()[-300:]
            return [
                f"broker reload command exited {done.returncode}: {err} "
                "/ falló la recarga del broker"
            ]
        return []

    # -- remote config -----------------------------------------------------------------
    def publish_config(self, station_id: str, overrides: dict[str, Any] | None = None) -> bytes:
        """Seal the next config version, store it and publish it retained; return it."""
        station = self._station(station_id)
        current = self.registry.config(station_id)
        if overrides is None:
            overrides = current.overrides if current else {}
        body = station_config.build(self.registry.devices(station_id), overrides)
        version = (current.version if current else 0) + 1
        sealed = sealed_config.seal(
            self.config_key,
            sealed_config.SignedConfig(
                station_id, station.unit_id, version, _now().isoformat(), body
            ),
        )
        self.registry.save_config(station_id, version, overrides, sealed, _now().isoformat())
        if self.publish is not None:
            self.publish(config_topic(station.unit_id, station_id), sealed, True)
        return sealed

    def republish_all(self) -> None:
        """On (re)connect: retained configs may be lost with a non-persistent broker."""
        if self.publish is None:
            return
        stations = {s.station_id: s for s in self.store.list_stations()}
        for record in self.registry.configs():
            st = stations.get(record.station_id)
            if st is not None and st.retired_at is None:
                self.publish(config_topic(st.unit_id, st.station_id), record.sealed, True)

    def config_reported(self, station_id: str, version: int, error: str) -> None:
        self.registry.config_report(station_id, version, error, _now().isoformat())

    def on_state(self, topic: str, payload: bytes) -> None:
        """A station's state message: record the config version it runs and its last refusal."""
        try:
            where = parse_topic(topic)
            state = events_pb2.StationState.FromString(payload)
        except Exception:  # the ingest pipeline logs bad states already
            return
        if state.online and (state.config_version or state.config_error):
            self.config_reported(where.station_id, state.config_version, state.config_error)
        if state.online and state.devices_known:
            at = _now()
            state_at = _when(state.at) if state.HasField("at") else ""
            self.registry.save_reported(
                where.station_id,
                [reported_device(d) for d in state.devices[:MAX_REPORTED]],
                min(state_at or at.isoformat(), at.isoformat()),  # a fast clock must not pin it
                at.isoformat(),
            )

    def certificate_expiry(self) -> dict[str, str]:
        """station_id → not_after of its newest valid certificate."""
        out: dict[str, str] = {}
        for c in self.registry.certificates():
            if c.revoked_at is None:
                out[c.station_id] = max(out.get(c.station_id, ""), c.not_after)
        return out


def _atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o644)
    tmp.replace(path)


MAX_REPORTED = 64  # devices kept per station state (a station has a handful)


def _when(ts: Any) -> str:
    """A station's timestamp as ISO UTC, or "" when it is out of range (never a crash)."""
    try:
        return str(ts.ToDatetime(UTC).isoformat())
    except (ValueError, OverflowError, OSError):
        return ""


def reported_device(d: events_pb2.ReportedDevice) -> dict[str, Any]:
    """One reported device as the hub keeps it (text fields cut to a sane length)."""
    since = _when(d.since) if d.HasField("since") else ""
    return {
        "device_id": d.device_id[:64],
        "driver": d.driver[:64],
        "family": d.family[:32],
        "state": events_pb2.DeviceState.Name(d.state).lower()
        if d.state in events_pb2.DeviceState.values()
        else "unknown",
        "since": since,
        "error_code": d.error_code[:64],
        "model": d.identity.model[:128],
        "serial": d.identity.serial[:128],
    }


def cert_sha256(pem: str) -> str:
    return hashlib.sha256(
        x509.load_pem_x509_certificate(pem.encode()).public_bytes(serialization.Encoding.DER)
    ).hexdigest()
