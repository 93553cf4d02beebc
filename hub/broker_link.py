"""The hub's MQTT client as configured (TLS, user, reconnect), and the API role's link to the
broker: it publishes (sealed station configs, retained) and subscribes to nothing."""

from __future__ import annotations

import logging
import threading
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from hub.settings import HubSettings
from protos.broker_url import BrokerAddress, parse_broker_url
from protos.tcp import no_delay

log = logging.getLogger(__name__)


def make_client(
    settings: HubSettings, client_id: str, *, clean_session: bool, manual_ack: bool
) -> tuple[mqtt.Client, BrokerAddress]:
    """A paho client for the hub's broker, not yet connected, and the broker's address."""
    s = settings
    client = mqtt.Client(
        callback_api_version=CallbackAPIVersion.VERSION2,
        client_id=client_id,
        clean_session=clean_session,
        protocol=MQTTProtocolVersion.MQTTv311,
        manual_ack=manual_ack,
    )
    address = parse_broker_url(s.broker_url)
    if address.tls:
        client.tls_set(
            ca_certs=str(s.tls_ca_file) if s.tls_ca_file else None,
            certfile=str(s.tls_cert_file) if s.tls_cert_file else None,
            keyfile=str(s.tls_key_file) if s.tls_key_file else None,
        )
    if s.mqtt_username:
        password = s.mqtt_password.get_secret_value() if s.mqtt_password else None
        client.username_pw_set(s.mqtt_username, password)
    client.reconnect_delay_set(
        min_delay=min(0.25, s.reconnect_max_s),  # type: ignore[arg-type]  # paho sleeps floats
        max_delay=s.reconnect_max_s,  # type: ignore[arg-type]  # paho sleeps floats
    )
    client.on_socket_open = no_delay  # small messages leave at once (protos.tcp)
    return client, address


class BrokerLink:
    """Publish-only: an API process (role ``api``) takes no station messages, so it keeps no
    persistent session; what it publishes while the broker is away paho sends on reconnect."""

    def __init__(self, settings: HubSettings) -> None:
        self._client, self._address = make_client(
            settings, settings.mqtt_client_id, clean_session=True, manual_ack=False
        )
        self._connected = threading.Event()
        self._client.on_connect = self._on_connect
        self._client.on_disconnect = self._on_disconnect

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_connected(self, timeout: float) -> bool:
        return self._connected.wait(timeout)

    def publish(self, topic: str, payload: bytes, retain: bool) -> None:
        self._client.publish(topic, payload, qos=1, retain=retain)

    def _on_connect(self, _c: Any, _u: Any, _f: Any, reason: Any, _p: Any) -> None:
        if reason.is_failure:
            log.error("broker refused the hub's API link: %s", reason)
            return
        self._connected.set()
        log.info("API link connected to broker %s (publishes only)", self._address)

    def _on_disconnect(self, _c: Any, _u: Any, _f: Any, _reason: Any, _p: Any) -> None:
        self._connected.clear()

    def start(self) -> None:
        self._client.connect_async(self._address.host, self._address.port, keepalive=30)
        self._client.loop_start()

    def stop(self) -> None:
        self._client.disconnect()
        self._client.loop_stop()
