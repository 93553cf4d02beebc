"""Commands to Mosquitto's dynamic-security plugin over MQTT: sync station access, cut sessions.

One short-lived connection per call, with the hub's own certificate (its role may publish to
``$CONTROL/dynamic-security/v1`` and read the response), so an answer can be awaited and a
failure reported to the caller instead of lost in the ingest client's queue.
"""

from __future__ import annotations

import json
import logging
import ssl
import threading
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from hub.settings import HubSettings
from protos.broker_url import parse_broker_url
from provisioning.acl import DYNSEC_CONTROL, EXPECTED_ERRORS, dynsec_commands

log = logging.getLogger(__name__)

COMMANDS_PER_MESSAGE = 200  # about 165 KB of JSON


class BrokerAdminError(Exception):
    """The broker could not be reached or refused a command (message in English / Spanish)."""


class BrokerAdmin:
    def __init__(self, settings: HubSettings, timeout_s: float = 10.0) -> None:
        self.settings = settings
        self.timeout_s = timeout_s

    def _client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"{s.mqtt_client_id}-admin-{uuid.uuid4().hex[:8]}",
            clean_session=True,
            protocol=MQTTProtocolVersion.MQTTv311,
        )
        if parse_broker_url(s.broker_url).tls:
            client.tls_set(
                ca_certs=str(s.tls_ca_file) if s.tls_ca_file else None,
                certfile=str(s.tls_cert_file) if s.tls_cert_file else None,
                keyfile=str(s.tls_key_file) if s.tls_key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
            )
        if s.mqtt_username:
            password = s.mqtt_password.get_secret_value() if s.mqtt_password else None
            client.username_pw_set(s.mqtt_username, password)
        return client

    def sync(
        self, hub_identities: Iterable[str], stations: Mapping[str, str], cut: Iterable[str] = ()
    ) -> None:
        """Bring the broker's clients and roles to ``stations`` and end ``cut``'s sessions.

        Raises BrokerAdminError when the broker cannot be reached, does not answer in time, or
        answers a command with an unexpected error."""
        hubs = list(hub_identities)
        address = parse_broker_url(self.settings.broker_url)
        client = self._client()
        responses: list[dict[str, Any]] = []
        answered = threading.Event()
        subscribed = threading.Event()

        def on_message(_c: Any, _u: Any, message: Any) -> None:
            try:
                responses.extend(json.loads(message.payload)["responses"])
            except (ValueError, KeyError, TypeError):
                log.warning("undecodable dynamic-security response ignored")
            answered.set()

        client.on_message = on_message
        client.on_subscribe = lambda *_a: subscribed.set()
        try:
            client.connect(address.host, address.port, 30)
        except (OSError, ssl.SSLError) as exc:
            raise BrokerAdminError(
                f"broker {address} unreachable: {exc} / el broker no responde"
            ) from exc
        client.loop_start()
        try:
            client.subscribe(f"{DYNSEC_CONTROL}/response", qos=1)
            if not subscribed.wait(self.timeout_s):
                raise BrokerAdminError(f"broker {address} did not answer / el broker no contesta")

            def ask(commands: list[dict[str, Any]]) -> list[dict[str, Any]]:
                responses.clear()
                answered.clear()
                client.publish(DYNSEC_CONTROL, json.dumps({"commands": commands}), qos=1)
                if not answered.wait(self.timeout_s):
                    raise BrokerAdminError(
                        "the broker's dynamic-security plugin did not answer (is it loaded, and "
                        "may this hub use $CONTROL?) / el plugin dynamic-security no contesta"
                    )
                return list(responses)

            listed = ask([{"command": "listClients"}])
            present = _clients(listed)
            commands = dynsec_commands(hubs, stations, present, cut)
            answers: list[dict[str, Any]] = []
            # In slices: one message must stay under the broker's message_size_limit
            # (a station's role and client are about 825 bytes of JSON).
            for start in range(0, len(commands), COMMANDS_PER_MESSAGE):
                answers += ask(commands[start : start + COMMANDS_PER_MESSAGE])
        finally:
            client.disconnect()
            client.loop_stop()
        failed = [
            f"{a.get('command')}: {a['error']}"
            for a in answers
            if a.get("error") and not any(e in str(a["error"]) for e in EXPECTED_ERRORS)
        ]
        if failed:
            raise BrokerAdminError(
                "broker refused: " + "; ".join(failed) + " / el broker rechazó los cambios"
            )


def _clients(responses: list[dict[str, Any]]) -> list[str]:
    for r in responses:
        if r.get("command") == "listClients":
            if r.get("error"):
                raise BrokerAdminError(f"listClients: {r['error']} / el broker rechazó listClients")
            names = r.get("data", {}).get("clients", [])
            return [n if isinstance(n, str) else str(n.get("username", "")) for n in names]
    raise BrokerAdminError("no listClients answer / el broker no listó los clientes")
