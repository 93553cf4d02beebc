"""The hub's configuration: one pydantic-settings model, from a TOML file plus environment.

Precedence: keyword arguments > environment (``PUENTE_HUB_*``) > the TOML file
named by ``PUENTE_HUB_CONFIG`` (or passed to :func:`load`) > defaults.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import Field, SecretStr, ValidationInfo, field_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from hub.ingest.limits import IngestLimits


class HubSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PUENTE_HUB_", env_nested_delimiter="__", extra="forbid"
    )

    data_dir: Path = Field(default=Path("puente-data/hub"), description="Database and bodies.")
    database_url: str = Field(
        default="",
        description="sqlite:///path/to/hub.sqlite3 or postgresql://user@host:port/db; "
        "empty means data_dir/hub.sqlite3.",
    )

    role: Literal["both", "ingest", "api"] = Field(
        default="both",
        description="What this process does: both (ingest station events and serve the API "
        "and console), ingest (an ingest worker: MQTT subscription, no HTTP) or api (the API "
        "and console: no subscription, publishes configs only). ingest and api need "
        "PostgreSQL: several processes on one database, the live view fanned out by NOTIFY.",
    )

    broker_url: str = Field(
        default="mqtt://127.0.0.1:1883", description="mqtt://host:port or mqtts://host:port."
    )
    tls_ca_file: Path | None = Field(default=None, description="CA bundle to verify the broker.")
    tls_cert_file: Path | None = Field(default=None, description="Hub client certificate.")
    tls_key_file: Path | None = Field(default=None, description="Hub client key.")
    mqtt_username: str | None = Field(default=None, description="Broker user.")
    mqtt_password: SecretStr | None = Field(default=None, description="Broker password.")
    mqtt_client_id: str = Field(
        default="puente-hub-1", description="Unique per hub process (persistent session)."
    )
    shared_subscription: bool = Field(
        default=True,
        description="Subscribe with $share/hub/... so hub processes share the load "
        "(off for the embedded amqtt broker, which delivers nothing on $share).",
    )

    http_host: str = Field(default="127.0.0.1", description="Address of the hub API.")
    http_port: int = Field(default=8470, ge=0, le=65535, description="Hub API port.")

    ingest_batch_max: int = Field(
        default=500, ge=1, description="Most MQTT messages (event batches) per commit."
    )
    ingest_batch_max_bytes: int = Field(
        default=128 * 1024,
        ge=1,
        description="A commit takes no more messages once their payloads reach this many "
        "bytes (the first is always taken): a station sending a backlog gets receipts for "
        "its first events while the hub commits the next ones, instead of one receipt for "
        "its whole window after one long commit.",
    )
    held_events_ttl_s: float = Field(
        default=15.0,
        gt=0,
        description="How long events held behind a gap in a station's sequence are kept and "
        "tried again as the gap fills (by this worker or another); past it the station's "
        "re-send brings them again.",
    )
    held_messages_max: int = Field(
        default=10_000, ge=1, description="Most held-back messages kept (oldest go first)."
    )
    reconnect_max_s: float = Field(
        default=0.5,
        gt=0,
        description="Longest wait between broker reconnect attempts (paho doubles from 0.25 s; "
        "one hub process retrying its broker twice a second costs nothing): "
        "a returning broker is reached within it plus the connect (bench/ingest: ≤ 2 s).",
    )
    ingest_batch_wait_ms: int = Field(
        default=0,
        ge=0,
        description="Longest wait to fill a batch before committing. 0: commit what has "
        "queued; batches then grow by themselves while a commit is under way.",
    )
    max_clock_skew_s: int = Field(
        default=366 * 24 * 3600,
        description="An occurred_at older than this is stored flagged 'time unverified' "
        "(never refused: an acknowledged fact must reach the case).",
    )
    clock_flag_s: float = Field(
        default=120.0,
        gt=0,
        description="A station clock off from the hub's by more than this (or an event in the "
        "future by more than this) flags the event's time on the case.",
    )
    # -- ingest limits (docs/hub.md, "What ingest checks") --
    ingest_max_event_bytes: int = Field(
        default=64 * 1024,
        ge=1024,
        description="Largest serialized Event; a larger one is rejected (too_large) unread.",
    )
    ingest_max_batch_bytes: int = Field(
        default=4 * 1024 * 1024,
        ge=1024,
        description="Largest EventBatch (one MQTT message); every event of a larger one is "
        "rejected (too_large). Keep the broker's message_size_limit above it.",
    )
    ingest_max_readings_per_event: int = Field(
        default=500,
        ge=1,
        description="Most readings (accepted plus refused) in one vital-signs event.",
    )
    bootstrap_token: SecretStr | None = Field(
        default=None,
        description="If set, an ops token with this value is ensured at start (demo, first run).",
    )
    max_body_bytes: int = Field(
        default=200 * 1024 * 1024,
        ge=1,
        description="Largest document body (PDF, scan) a station may upload.",
    )
    http_max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="Largest request body of the API's JSON routes and the console's forms; "
        "larger ones get 413 before they are read.",
    )
    http_max_upload_chunk_bytes: int = Field(
        default=16 * 1024 * 1024,
        ge=1024,
        description="Largest request of a document-body upload (PATCH /v1/bodies/...): one "
        "chunk; stations send agent.body_chunk_bytes (256 KiB) per request.",
    )
    http_max_import_bytes: int = Field(
        default=9 * 1024 * 1024,
        ge=1024,
        description="Largest registry CSV import request (API and console): 8 MiB of CSV "
        "plus the form's overhead.",
    )
    log_level: str = Field(default="INFO", description="Python logging level.")
    health_write_probe_s: float = Field(
        default=5.0,
        gt=0,
        description="/healthz writes a heartbeat row at most this often (the answer is kept in "
        "between): a locked or read-only database makes it 503.",
    )
    health_write_timeout_s: float = Field(
        default=2.0,
        gt=0,
        le=30,
        description="How long the write probe waits for the database's write lock.",
    )
    signature_trust_roots: list[Path] = Field(
        default_factory=list,
        description="Root certificates (PEM/DER) signatures on documents must chain to.",
    )
    signature_poll_s: float = Field(
        default=0.5, gt=0, description="How often the validator looks for new signed revisions."
    )
    signature_fetch_revocation: bool = Field(
        default=True,
        description="Ask the CA named in a signer's certificate (OCSP, CRL) when the PDF embeds "
        "no revocation answers; off: such signatures stay 'revocation_unknown'.",
    )
    signature_revocation_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="Per request to an OCSP responder or CRL."
    )
    signature_revalidate_s: float = Field(
        default=300.0,
        gt=0,
        description="Revisions whose verdict is 'revocation_unknown' are validated again this "
        "long after their last check, until the CA answers.",
    )
    fingerprint_key: SecretStr | None = Field(
        default=None,
        description="Base64 of the 32-byte key enrolled templates are encrypted with; "
        "empty: made once in data_dir/fingerprint-vault.key.",
    )
    biometric_required_steps: list[str] = Field(
        default_factory=lambda: ["admission"],
        description="Case steps that need a fingerprint confirmation (docs/fingerprint.md).",
    )

    # -- provisioning (docs/provisioning.md) --
    pki_dir: Path | None = Field(
        default=None, description="Station CA and config signing key; empty: data_dir/pki."
    )
    broker_dir: Path | None = Field(
        default=None,
        description="Where the hub writes the broker's CRL and ACL (and, by `puente hub "
        "broker-config`, its config); empty: pki_dir/broker.",
    )
    station_broker_url: str = Field(
        default="", description="Broker URL handed to stations at enrollment; empty: broker_url."
    )
    station_cert_days: int = Field(default=825, ge=1, description="Station certificate lifetime.")
    enrollment_code_ttl_s: int = Field(
        default=4 * 3600, ge=60, description="How long an enrollment code may be used."
    )
    broker_reload_pid_file: Path | None = Field(
        default=None,
        description="Mosquitto's pid file: the hub sends SIGHUP after rewriting the CRL; empty: "
        "broker_dir/mosquitto.pid (where `puente hub broker-config` has Mosquitto write it).",
    )
    broker_reload_command: str = Field(
        default="", description="Or a command that reloads the broker (e.g. systemctl reload)."
    )
    broker_dynamic_security: bool | None = Field(
        default=None,
        description="Keep the broker's dynamic-security plugin in step (station roles, cutting "
        "sessions of re-enrolled or retired stations); empty: on when broker_url is mqtts://.",
    )
    broker_hub_identities: list[str] = Field(
        default_factory=lambda: ["hub:puente-hub"],
        description="Certificate CNs of the hub's MQTT clients (full access in the ACL).",
    )
    # -- web console (docs/provisioning.md, "Ops console") --
    web_session_key_file: Path | None = Field(
        default=None,
        description="Key that signs console session cookies; empty: data_dir/web-session.key "
        "(made once). Hub processes behind one load balancer must share it.",
    )
    web_session_ttl_s: int = Field(
        default=8 * 3600, ge=60, description="How long a console sign-in lasts."
    )

    @field_validator("role")
    @classmethod
    def _split_roles_need_postgres(cls, role: str, info: ValidationInfo) -> str:
        url = str(info.data.get("database_url", ""))
        if role != "both" and not url.startswith(("postgresql://", "postgres://")):
            raise ValueError(
                f"role {role} needs database_url = postgresql://... (processes of one role "
                "share the database, and the live view reaches API processes by NOTIFY; on "
                f"SQLite run one process with role both) / el rol {role} necesita "
                "PostgreSQL en database_url; con SQLite use un solo proceso con rol both"
            )
        return role

    @property
    def ingest_limits(self) -> IngestLimits:
        return IngestLimits(
            max_event_bytes=self.ingest_max_event_bytes,
            max_batch_bytes=self.ingest_max_batch_bytes,
            max_readings_per_event=self.ingest_max_readings_per_event,
        )

    @property
    def database_path(self) -> Path:
        if self.database_url.startswith("sqlite:///"):
            return Path(self.database_url.removeprefix("sqlite:///"))
        return self.data_dir / "hub.sqlite3"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("PUENTE_HUB_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


def load(config_file: Path | None = None, **overrides: Any) -> HubSettings:
    if config_file is not None:
        os.environ["PUENTE_HUB_CONFIG"] = str(config_file)
    return HubSettings(**overrides)
