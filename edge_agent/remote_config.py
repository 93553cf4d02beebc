"""Remote config: verify the hub's signed config, validate it, apply it live, report the version.

Applying never touches the outbox or the MQTT link: only the device set, the log
level and a few uplink timings change. A config that fails its signature or its
validation is refused and reported (``config_error`` in the station state); the
previous one stays in force. The last applied config is kept in the data dir so
a restart comes up with it.

Verified once: with the applied config the agent keeps ``station-config.verified``, the
SHA-256 of the pinned key file's bytes and the config's bytes. A restart whose saved
config and pinned key still give that digest applies the config without verifying the
signature again, and a payload byte-identical to the one in force (the broker's retained
copy, delivered at every connect) is not verified again either; so an agent with a
remote config does not load cryptography (≈ 9 MB resident) until the hub publishes a new
one. This keeps the pinned-key check: any change to the key file or to the config bytes
changes the digest and the config is verified in full (and refused if it does not
verify); whoever could write the digest file (the agent's own private data dir) could as
well replace the pinned key and the config together, which a re-verification never
caught; everything from the network is verified unless it is byte for byte what was.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from edge_agent.devices import DeviceManager
from edge_agent.private_files import private_dir, write_private
from edge_agent.settings import AgentSettings, DeviceConfig
from protos import device_catalogue
from protos.device_catalogue import SettingsProblem

if TYPE_CHECKING:
    from protos.station_config import SignedConfig

log = logging.getLogger(__name__)

CONFIG_KEY_FILE = "hub-config-key.pem"
APPLIED_FILE = "station-config.json"
VERIFIED_FILE = "station-config.verified"  # digest of the pinned key + the applied config
_LEVELS = {"DEBUG", "INFO", "WARNING", "ERROR"}


class StationConfig(BaseModel):
    """What the hub may set remotely. Anything else in the config is refused."""

    model_config = ConfigDict(extra="forbid")

    devices: list[DeviceConfig] = Field(default_factory=list)
    log_level: str = "INFO"
    receipt_timeout_s: float = Field(default=10.0, gt=0, le=600)
    device_poll_s: float = Field(default=2.0, gt=0, le=600)

    @field_validator("log_level")
    @classmethod
    def _level(cls, value: str) -> str:
        if value.upper() not in _LEVELS:
            raise ValueError(f"log_level must be one of {sorted(_LEVELS)}")
        return value.upper()

    @field_validator("devices")
    @classmethod
    def _unique(cls, value: list[DeviceConfig]) -> list[DeviceConfig]:
        ids = [d.device_id for d in value]
        if len(ids) != len(set(ids)):
            raise ValueError("device ids must be unique / ids de dispositivo repetidos")
        return value


class RemoteConfig:
    """Receives config payloads (from the uplink's thread), applies them on its own thread."""

    def __init__(
        self,
        settings: AgentSettings,
        devices: DeviceManager,
        report: Callable[[], None],
        known_drivers: Callable[[], set[str]] | None = None,
    ) -> None:
        self.settings = settings
        self.devices = devices
        self.report = report
        self.known_drivers = known_drivers
        self.version = 0
        self.error = ""
        self._key_path = settings.data_dir / CONFIG_KEY_FILE
        self._loaded_key: Any = None  # the pinned key, parsed with the first config to check
        self._pending: bytes | None = None
        self._current: bytes | None = None  # the payload in force (verified)
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.applied = threading.Condition()

    def _key(self) -> Any:
        """The pinned hub key, or None. Loaded (with cryptography) when a config needs it."""
        if self._loaded_key is None:
            self._loaded_key = self._load_key(self._key_path)
        return self._loaded_key

    @staticmethod
    def _load_key(path: Path) -> Any:
        if not path.exists():
            return None
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec

        key = serialization.load_pem_public_key(path.read_bytes())
        return key if isinstance(key, ec.EllipticCurvePublicKey) else None

    def status(self) -> tuple[int, str]:
        return self.version, self.error

    def _digest(self, payload: bytes) -> str | None:
        """SHA-256 over the pinned key file's bytes and ``payload``; None with no key."""
        try:
            key = self._key_path.read_bytes()
        except FileNotFoundError:
            return None
        h = hashlib.sha256(b"puente.station-config.verified.v1\0")
        h.update(len(key).to_bytes(8, "big"))
        h.update(key)
        h.update(payload)
        return h.hexdigest()

    def load_saved(self) -> None:
        """Apply the last config applied before a restart: without verifying its signature
        again when the digest kept with it matches the pinned key and the bytes (module
        docstring), else verified in full."""
        path = self.settings.data_dir / APPLIED_FILE
        if path.exists() and self._key_path.exists():
            payload = path.read_bytes()
            digest = self._digest(payload)
            try:
                kept = (self.settings.data_dir / VERIFIED_FILE).read_text().strip()
            except (FileNotFoundError, UnicodeDecodeError):
                kept = ""
            verified = digest is not None and hmac.compare_digest(kept.encode(), digest.encode())
            self._apply(payload, save=False, initial=True, verified=verified)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="remote-config", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(5)

    def submit(self, payload: bytes) -> None:
        """Called from the MQTT thread: keep only the newest payload, apply it off-thread."""
        with self._lock:
            self._pending = payload
        self._wake.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait()
            self._wake.clear()
            with self._lock:
                payload, self._pending = self._pending, None
            if payload is not None and not self._stop.is_set():
                try:
                    self._apply(payload, save=True, initial=False)
                except Exception:  # never let one config kill the applier
                    log.exception("remote config failed")

    def _refuse(self, code: str, reason: str, version: int | None = None) -> None:
        self.error = f"{code}: {reason}"[:500]
        log.warning(
            "remote config %s refused (%s): %s",
            version if version is not None else "?",
            code,
            reason,
            extra={"station_id": self.settings.station_id},
        )

    def _apply(self, payload: bytes, save: bool, initial: bool, verified: bool = False) -> None:
        """``verified``: the caller proved these bytes verified before with the pinned key."""
        if not payload:
            return  # retained config cleared
        outcome_changed = True
        from protos.station_config import ConfigSignatureError, open_sealed, open_verified

        try:
            if self._current is not None and payload == self._current:
                outcome_changed = False
                return  # the retained copy of what runs, byte for byte: verified already
            if verified:
                signed = open_verified(payload, self.settings.station_id)
            else:
                # cryptography is loaded here, by the first config that needs verifying.
                key = self._key()
                if key is None:
                    raise ConfigSignatureError(
                        "no_config_key",
                        "no hub config key pinned (enroll first) / sin clave del hub",
                    )
                signed = open_sealed(payload, key, self.settings.station_id)
            if signed.version <= self.version:
                outcome_changed = False
                return  # the retained copy of what runs already, or an older one
            config = self._validate(signed)
            self._apply_config(config, start_devices=not initial)
            self.version, self.error = signed.version, ""
            self._current = payload
            if save:
                write_private(self.settings.data_dir / APPLIED_FILE, payload)
            if save or not verified:
                digest = self._digest(payload)
                if digest is not None:
                    write_private(self.settings.data_dir / VERIFIED_FILE, digest.encode())
            log.info(
                "remote config version %d applied",
                signed.version,
                extra={"station_id": self.settings.station_id},
            )
        except ConfigSignatureError as exc:
            self._refuse(exc.code, exc.reason)
        except _Invalid as exc:
            self._refuse("invalid_config", str(exc), exc.version)
        finally:
            if outcome_changed and not initial:
                self.report()
            with self.applied:
                self.applied.notify_all()

    def _validate(self, signed: SignedConfig) -> StationConfig:
        if signed.unit_id != self.settings.unit_id:
            raise _Invalid(signed.version, f"config is for unit {signed.unit_id}")
        try:
            config = StationConfig.model_validate(signed.config)
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(p) for p in first["loc"])
            raise _Invalid(signed.version, f"{where}: {first['msg']}") from exc
        if self.known_drivers is not None:
            known = self.known_drivers()
            for index, d in enumerate(config.devices):
                if d.driver not in known:
                    raise _Invalid(
                        signed.version,
                        f"devices[{index}].driver: {d.driver!r} is not installed at this station "
                        f"/ el controlador {d.driver!r} no está instalado en esta estación",
                    )
        for index, d in enumerate(config.devices):
            problem = check_device(d)
            if problem is not None:
                located = problem.located(f"devices[{index}] ({d.device_id}).options")
                raise _Invalid(signed.version, located.reason)
        return config

    def _apply_config(self, config: StationConfig, start_devices: bool) -> None:
        s = self.settings
        s.receipt_timeout_s = config.receipt_timeout_s
        s.log_level = config.log_level
        logging.getLogger().setLevel(config.log_level)
        new_devices = [d.model_dump() for d in config.devices]
        if (
            new_devices != [d.model_dump() for d in s.devices]
            or s.device_poll_s != config.device_poll_s
        ):
            s.devices = list(config.devices)
            s.device_poll_s = config.device_poll_s
            self.devices.reconfigure(list(config.devices), config.device_poll_s, start_devices)


def check_device(device: DeviceConfig) -> SettingsProblem | None:
    """A device's options against the catalogue's schema of its driver (the same check ops'
    registry made); None when they pass. A driver outside the catalogue (a third party's,
    installed at this station) has no schema to check against."""
    if device_catalogue.entry(device.driver) is None:
        return None
    try:
        device_catalogue.check_settings(device.driver, device.options)
    except SettingsProblem as exc:
        return exc
    return None


class _Invalid(Exception):
    def __init__(self, version: int, reason: str) -> None:
        super().__init__(reason)
        self.version = version


def write_pinned_key(data_dir: Path, public_key_pem: str) -> None:
    private_dir(data_dir)
    write_private(data_dir / CONFIG_KEY_FILE, public_key_pem.encode())
