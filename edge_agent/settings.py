"""The agent's configuration: one pydantic model, from a TOML file plus environment.

Precedence: keyword arguments > environment (``PUENTE_AGENT_*``, nested with
``__``) > the TOML file named by ``PUENTE_AGENT_CONFIG`` (or passed to
:func:`load`) > defaults.

The sources are read here (``_sources``), with pydantic-settings' rules for these
settings (case-insensitive names; a list, dict or section from the environment is JSON,
and a section's fields may be set one by one with ``__``; sources deep-merged), rather
than by pydantic-settings itself: it is ≈ 0.9 MB resident in a process that reads its
settings once. ``tests/agent/test_settings_sources.py`` checks the result against a
pydantic-settings model of the same fields.
"""

from __future__ import annotations

import json
import os
import tomllib
import types
import typing
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from edge_agent.capabilities.fingerprint.settings import FingerprintSettings
from edge_agent.capabilities.pharmacy.settings import PharmacySettings
from edge_agent.capabilities.signing.settings import SigningSettings
from edge_agent.capabilities.vitals.settings import VitalsSettings
from protos.topics import check_id


class DeviceConfig(BaseModel):
    """One device at the station, as provisioned."""

    device_id: str = Field(description="Stable id of the device at this station, e.g. 'monitor-1'.")
    driver: str = Field(description="Entry point name in the 'puente.drivers' group.")
    options: dict[str, Any] = Field(
        default_factory=dict, description="Driver options (port, baud rate, serial, ...)."
    )


ENV_PREFIX = "PUENTE_AGENT_"
ENV_NESTED_DELIMITER = "__"


class AgentSettings(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_default=True)

    def __init__(self, **values: Any) -> None:
        super().__init__(**_sources(type(self), values))

    station_id: str = Field(description="This station's id; a topic level, unique in the unit.")
    unit_id: str = Field(description="The medical unit the station belongs to.")
    data_dir: Path = Field(
        default=Path("puente-data/agent"), description="Where the outbox and local state live."
    )

    broker_url: str = Field(
        default="mqtt://127.0.0.1:1883",
        description="mqtt://host:port, or mqtts://host:port for TLS.",
    )
    tls_ca_file: Path | None = Field(default=None, description="CA bundle to verify the broker.")
    tls_cert_file: Path | None = Field(default=None, description="Station client certificate.")
    tls_key_file: Path | None = Field(default=None, description="Station private key.")
    mqtt_username: str | None = Field(default=None, description="Broker user, if not mutual TLS.")
    mqtt_password: SecretStr | None = Field(default=None, description="Broker password.")
    keepalive_s: int = Field(default=30, ge=5, description="MQTT keepalive.")

    http_host: str = Field(default="127.0.0.1", description="Loopback address of the local API.")
    http_port: int = Field(default=8460, ge=0, le=65535, description="Local HTTP API port.")
    grpc_port: int = Field(default=8461, ge=0, le=65535, description="Local gRPC port.")
    allowed_origins: list[str] = Field(
        default_factory=list,
        description="Web origins allowed to call the local API, e.g. https://medi.igss.gob.gt.",
    )

    rate_limit_per_s: float = Field(
        default=20.0, gt=0, description="Requests per second allowed to each web origin."
    )
    rate_limit_burst: int = Field(default=60, ge=1, description="Burst allowed per web origin.")
    local_rate_limit_per_s: float = Field(
        default=20.0,
        gt=0,
        description="Requests per second allowed to local programs that send no Origin "
        "(all of them share one budget: without an Origin nothing tells them apart).",
    )
    local_rate_limit_burst: int = Field(
        default=120, ge=1, description="Burst allowed to local programs that send no Origin."
    )
    http_max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest request body of the local API's JSON routes; larger ones get 413 "
        "before they are read. A PDF submitted for signing may be signing.max_pdf_bytes "
        "(plus base64 and metadata when sent as JSON).",
    )
    pairing_max_pending: int = Field(
        default=5,
        ge=1,
        description="Pairing requests waiting for the user at once, across all origins.",
    )
    pairing_requests_per_min: float = Field(
        default=10.0,
        gt=0,
        description="Pairing requests accepted per minute across all origins (burst: "
        "pairing_max_pending); more are refused with 429 and Retry-After.",
    )
    pairing_code_ttl_s: float = Field(
        default=120.0, gt=0, description="How long a pairing code waits for the user."
    )
    pairing_max_failures: int = Field(
        default=5, ge=1, description="Refused or expired pairings before an origin is locked out."
    )
    pairing_lockout_s: float = Field(
        default=900.0, gt=0, description="How long a locked-out origin may not ask to pair."
    )

    outbox_limit_bytes: int = Field(
        default=256 * 1024 * 1024,
        ge=1024,
        description="Outbox size past which non-critical events (device status) are refused.",
    )
    outbox_hard_limit_bytes: int = Field(
        default=1024 * 1024 * 1024,
        ge=1024,
        description="Ops-set hard limit past which even clinical events are refused.",
    )
    outbox_min_free_disk_bytes: int = Field(
        default=64 * 1024 * 1024,
        ge=0,
        description="Free space kept on the outbox's disk: below it non-critical events are "
        "refused (clinical ones go on until the disk itself is full).",
    )
    outbox_reserve_bytes: int = Field(
        default=8 * 1024 * 1024,
        ge=0,
        description="A reserve file beside the outbox, given back to the disk when it is full "
        "so receipted events can still be deleted (0: none).",
    )
    group_commit_max: int = Field(
        default=256, ge=1, description="Most appends made durable by one fsync."
    )

    uplink_window: int = Field(
        default=2000,
        ge=1,
        description="Most events published and not yet receipted: several hub commits' "
        "worth, so a station draining a backlog keeps sending while the hub commits.",
    )
    uplink_window_bytes: int = Field(
        default=2 * 1024 * 1024,
        ge=1024,
        description="Most event bytes published and not yet receipted (kept in memory for "
        "re-sends); an event bigger than that goes alone.",
    )
    uplink_batch_max: int = Field(
        default=100, ge=1, description="Most events in one MQTT message (EventBatch)."
    )
    uplink_batch_max_bytes: int = Field(
        default=256 * 1024,
        ge=1024,
        description="Most event bytes in one MQTT message: well under the broker's "
        "message_size_limit (1 MiB, docs/production.md), which drops or cuts bigger ones.",
    )
    receipt_timeout_s: float = Field(
        default=10.0, gt=0, description="Re-send an event when no receipt came in this time."
    )
    clock_warn_s: float = Field(
        default=60.0,
        gt=0,
        description="Warn at the station and on the fleet page when the station clock is "
        "off from the hub's by more than this (estimated from receipts).",
    )
    reconnect_min_s: float = Field(default=0.25, gt=0, description="First reconnect delay.")
    reconnect_max_s: float = Field(
        default=1.0,
        gt=0,
        description="Longest reconnect delay: a returning broker is reached within it "
        "(full jitter spreads a fleet's reconnects over [reconnect_min_s, this]).",
    )

    devices: list[DeviceConfig] = Field(
        default_factory=list, description="Devices at this station and their drivers."
    )
    device_poll_s: float = Field(default=2.0, gt=0, description="How often device state is read.")
    hub_url: str | None = Field(
        default=None,
        description="Hub API base URL (https://hub:8470) for document bodies; None: kept local.",
    )
    hub_token: SecretStr | None = Field(
        default=None, description="This station's hub API token (role 'station')."
    )
    hub_ca_file: Path | None = Field(default=None, description="CA bundle to verify the hub.")
    body_chunk_bytes: int = Field(
        default=256 * 1024, ge=1024, description="Bytes per resumable upload request."
    )
    log_level: str = Field(default="INFO", description="Python logging level.")
    signing: SigningSettings = Field(
        default_factory=SigningSettings, description="Document signing (PAdES, TSA, B-LT)."
    )
    fingerprint: FingerprintSettings = Field(
        default_factory=FingerprintSettings, description="Fingerprint enrollment and verification."
    )
    pharmacy: PharmacySettings = Field(
        default_factory=PharmacySettings,
        description="Pharmacy dispensing: how often the medicine catalogue is fetched.",
    )
    vitals: VitalsSettings = Field(
        default_factory=VitalsSettings,
        description="Vital-sign attribution: take/stream time window, stale age, inbox size.",
    )

    @field_validator("station_id", "unit_id")
    @classmethod
    def _topic_safe(cls, value: str, info: Any) -> str:
        return check_id(info.field_name.removesuffix("_id"), value)

    @field_validator("http_host")
    @classmethod
    def _loopback_only(cls, value: str) -> str:
        if value not in {"127.0.0.1", "::1", "localhost"}:
            raise ValueError(
                "the local API binds loopback only (127.0.0.1 or ::1) / "
                "la API local solo escucha en loopback"
            )
        return value

    @property
    def outbox_path(self) -> Path:
        return self.data_dir / "outbox.sqlite3"


def load(config_file: Path | None = None, **overrides: Any) -> AgentSettings:
    """Settings from ``config_file`` (TOML) and the environment."""
    if config_file is not None:
        os.environ["PUENTE_AGENT_CONFIG"] = str(config_file)
    return AgentSettings(**overrides)


def _is_complex(annotation: Any) -> bool:
    """A list, dict or model (or an optional one): given as JSON in the environment."""
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType):
        return any(_is_complex(a) for a in typing.get_args(annotation) if a is not type(None))
    if origin in (list, dict, set, tuple) or annotation in (list, dict, set, tuple):
        return True
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _model_of(annotation: Any) -> type[BaseModel] | None:
    for a in (annotation, *typing.get_args(annotation)):
        if isinstance(a, type) and issubclass(a, BaseModel):
            return a
    return None


def _deep_update(base: dict[str, Any], *updates: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for update in updates:
        for key, value in update.items():
            if isinstance(value, dict) and isinstance(out.get(key), dict):
                out[key] = _deep_update(out[key], value)
            else:
                out[key] = value
    return out


def _env_value(name: str, raw: str, annotation: Any) -> Any:
    if not _is_complex(annotation):
        return raw
    try:
        return json.loads(raw)
    except ValueError as exc:
        raise ValueError(
            f"{name}: not valid JSON for a list, table or section / no es JSON válido"
        ) from exc


def _env(model: type[BaseModel], environ: dict[str, str]) -> dict[str, Any]:
    """``PUENTE_AGENT_<FIELD>`` (any case), and ``PUENTE_AGENT_<SECTION>__<FIELD>...``."""
    lowered = {k.lower(): v for k, v in environ.items()}
    prefix = ENV_PREFIX.lower()
    delimiter = ENV_NESTED_DELIMITER
    out: dict[str, Any] = {}
    for name, field in model.model_fields.items():
        key = prefix + name
        value: Any = None
        if key in lowered:
            value = _env_value(key.upper(), lowered[key], field.annotation)
        nested: dict[str, Any] = {}
        for env_key, raw in lowered.items():
            if not env_key.startswith(key + delimiter):
                continue
            path = env_key[len(key + delimiter) :].split(delimiter)
            target: dict[str, Any] = nested
            sub: type[BaseModel] | None = _model_of(field.annotation)
            for part in path[:-1]:
                target = target.setdefault(part, {})
                inner = sub.model_fields.get(part) if sub is not None else None
                sub = _model_of(inner.annotation) if inner is not None else None
            leaf = sub.model_fields.get(path[-1]) if sub is not None else None
            target[path[-1]] = (
                _env_value(env_key.upper(), raw, leaf.annotation) if leaf is not None else raw
            )
        if nested:
            value = _deep_update(value if isinstance(value, dict) else {}, nested)
        if value is not None:
            out[name] = value
    return out


def _sources(model: type[BaseModel], init: dict[str, Any]) -> dict[str, Any]:
    toml: dict[str, Any] = {}
    config_file = os.environ.get("PUENTE_AGENT_CONFIG")
    if config_file and Path(config_file).is_file():
        with open(config_file, "rb") as f:
            toml = tomllib.load(f)
    return _deep_update(toml, _env(model, dict(os.environ)), init)
