"""The agent's settings sources (TOML < environment < keyword arguments) give what a
pydantic-settings model of the same fields gives (edge_agent/settings.py reads them
itself so that the agent process does not load pydantic-settings)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError, create_model
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from edge_agent.settings import AgentSettings


class _ReferenceBase(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PUENTE_AGENT_", env_nested_delimiter="__", extra="forbid"
    )

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        import os

        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        config_file = os.environ.get("PUENTE_AGENT_CONFIG")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


Reference: Any = create_model(  # type: ignore[call-overload]
    "Reference",
    __base__=_ReferenceBase,
    **{name: (f.annotation, f) for name, f in AgentSettings.model_fields.items()},
)

TOML = """
station_id = "st-1"
unit_id = "unit-1"
http_port = 8000
allowed_origins = ["https://a.example"]
[signing]
location = "Zona 1"
trust_roots = ["/etc/root.pem"]
[fingerprint]
hub_url = "https://hub.example"
threshold = 70
[[devices]]
device_id = "monitor-1"
driver = "sim.monitor"
options = { interval_s = 0.5 }
"""

CASES: list[tuple[str, dict[str, str], dict[str, Any]]] = [
    ("toml only", {}, {}),
    ("scalars, any case", {"PUENTE_AGENT_HTTP_PORT": "9000", "puente_agent_grpc_port": "9001"}, {}),
    ("list as JSON", {"PUENTE_AGENT_ALLOWED_ORIGINS": '["https://b.example"]'}, {}),
    (
        "a section's field merges with the TOML section",
        {"PUENTE_AGENT_SIGNING__LOCATION": "Zona 10", "PUENTE_AGENT_FINGERPRINT__THRESHOLD": "64"},
        {},
    ),
    (
        "a list inside a section",
        {"PUENTE_AGENT_SIGNING__SESSION_REUSE_DOCUMENT_TYPES": '["RECETA"]'},
        {},
    ),
    (
        "a section as JSON, then a field of it",
        {
            "PUENTE_AGENT_VITALS": '{"max_age_s": 30}',
            "PUENTE_AGENT_VITALS__INBOX_MAX_PER_DEVICE": "17",
        },
        {},
    ),
    (
        "devices as JSON",
        {"PUENTE_AGENT_DEVICES": '[{"device_id": "r-1", "driver": "sim.fingerprint"}]'},
        {},
    ),
    (
        "secrets and optional values",
        {"PUENTE_AGENT_HUB_TOKEN": "t0k", "PUENTE_AGENT_HUB_URL": "http://h"},
        {},
    ),
    (
        "keyword arguments win",
        {"PUENTE_AGENT_HTTP_PORT": "9000"},
        {"http_port": 7000, "signing": {"location": "kw"}},
    ),
]


def _dump(settings: Any) -> dict[str, Any]:
    out: dict[str, Any] = settings.model_dump(mode="json")
    out["hub_token"] = settings.hub_token and settings.hub_token.get_secret_value()
    return out


@pytest.mark.parametrize(("env", "kwargs"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_sources_as_pydantic_settings_reads_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, env: dict[str, str], kwargs: dict[str, Any]
) -> None:
    config = tmp_path / "agent.toml"
    config.write_text(TOML)
    monkeypatch.setenv("PUENTE_AGENT_CONFIG", str(config))
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    ours = AgentSettings(**kwargs)
    assert _dump(ours) == _dump(Reference(**kwargs))
    assert ours.http_port != 8460  # the TOML (or what overrides it) was read


def test_unknown_keys_and_bad_json_are_refused_naming_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "agent.toml"
    config.write_text("not_a_setting = 1\n" + TOML)
    monkeypatch.setenv("PUENTE_AGENT_CONFIG", str(config))
    for model in (AgentSettings, Reference):
        with pytest.raises(ValidationError, match="not_a_setting"):
            model()
    config.write_text(TOML)
    monkeypatch.setenv("PUENTE_AGENT_ALLOWED_ORIGINS", "https://not-json.example")
    with pytest.raises(ValueError, match="PUENTE_AGENT_ALLOWED_ORIGINS"):
        AgentSettings()
