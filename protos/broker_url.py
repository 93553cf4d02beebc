"""Broker addresses as both sides configure them: ``mqtt://host:port`` or ``mqtts://host:port``."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit


@dataclass(frozen=True)
class BrokerAddress:
    host: str
    port: int
    tls: bool

    def __str__(self) -> str:
        return f"{'mqtts' if self.tls else 'mqtt'}://{self.host}:{self.port}"


def parse_broker_url(url: str) -> BrokerAddress:
    parts = urlsplit(url)
    if parts.scheme not in {"mqtt", "mqtts"} or not parts.hostname:
        raise ValueError(
            f"broker URL {url!r} must look like mqtt://host:1883 or mqtts://host:8883 / "
            "la URL del broker debe ser mqtt://host:puerto o mqtts://host:puerto"
        )
    tls = parts.scheme == "mqtts"
    return BrokerAddress(parts.hostname, parts.port or (8883 if tls else 1883), tls)
