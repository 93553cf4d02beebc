"""The demo broker's access rules: amqtt auth and topic plugins over `provisioning.acl.allowed`.

The embedded broker has no TLS client certificates, so a client identifies by MQTT
username (a station id, or ``hub:<name>`` for the hub) and a password derived from
a per-broker secret: ``HMAC-SHA256(secret, username)`` in hex. Only the process that
started the broker knows the secret and hands each client its password. What a
client may then publish or read is decided by the same function the generated
Mosquitto ACL is tested against, with each station's unit fixed.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
from dataclasses import dataclass, field

from amqtt.contexts import Action
from amqtt.plugins.base import BaseAuthPlugin, BaseTopicPlugin
from amqtt.session import Session

from provisioning.acl import Access, allowed
from provisioning.registry import SERVICE_PREFIX

_ACCESS: dict[str, BrokerAccess] = {}
_LOCK = threading.Lock()


class BrokerAccess:
    """Who may connect (HMAC passwords) and which stations belong to which unit."""

    def __init__(self, secret: bytes | None = None) -> None:
        self.secret = secret or secrets.token_bytes(32)
        self.key = secrets.token_hex(8)
        self._stations: dict[str, str] = {}
        with _LOCK:
            _ACCESS[self.key] = self

    def password_for(self, identity: str) -> str:
        return hmac.new(self.secret, identity.encode(), hashlib.sha256).hexdigest()

    def allow_station(self, station_id: str, unit_id: str) -> None:
        self._stations[station_id] = unit_id

    def forget_station(self, station_id: str) -> None:
        self._stations.pop(station_id, None)

    def unit_of(self, station_id: str) -> str | None:
        return self._stations.get(station_id)

    def check(self, username: str | None, password: str | None) -> bool:
        if not username or not password:
            return False
        known = username.startswith(SERVICE_PREFIX) or username in self._stations
        return known and hmac.compare_digest(password, self.password_for(username))

    def close(self) -> None:
        with _LOCK:
            _ACCESS.pop(self.key, None)


def _access(key: str) -> BrokerAccess | None:
    with _LOCK:
        return _ACCESS.get(key)


class StationAuthPlugin(BaseAuthPlugin):
    """CONNECT: a known station or hub identity with its derived password; nobody else."""

    @dataclass
    class Config:
        access_key: str = field(default="")

    async def authenticate(self, *, session: Session) -> bool | None:
        access = _access(self.config.access_key)
        return access is not None and access.check(session.username, session.password)


class StationTopicPlugin(BaseTopicPlugin):
    """PUBLISH, SUBSCRIBE and each delivery (RECEIVE): `provisioning.acl.allowed`."""

    @dataclass
    class Config:
        access_key: str = field(default="")

    async def topic_filtering(
        self,
        *,
        session: Session | None = None,
        topic: str | None = None,
        action: Action | None = None,
    ) -> bool | None:
        access = _access(self.config.access_key)
        if access is None or session is None or not topic:
            return False
        kind = Access.PUBLISH if action == Action.PUBLISH else Access.SUBSCRIBE
        return allowed(session.username, kind, topic, access.unit_of)
