"""The demo's embedded MQTT broker: amqtt, in-process, on a loopback port.

Only for the demo and a single developer PC: amqtt speaks MQTT 3.1.1, keeps
queued messages in memory only and delivers nothing on ``$share`` topics;
production runs Mosquitto (or EMQX for a cluster), see docs/production.md.
It enforces the same rules as the generated Mosquitto ACL (puente_cli/broker_access.py):
clients sign in with username + derived password; a station publishes only under
``puente/v1/<its unit>/<its id>/`` and reads only its own receipts and config.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
from concurrent.futures import Future

from amqtt.broker import Broker

from puente_cli.broker_access import BrokerAccess

log = logging.getLogger(__name__)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class EmbeddedBroker:
    def __init__(self, port: int = 0, access: BrokerAccess | None = None) -> None:
        self.port = port or _free_port()
        self.access = access or BrokerAccess()
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._loop.run_forever, name="amqtt", daemon=True)
        self._broker: Broker | None = None

    @property
    def url(self) -> str:
        return f"mqtt://127.0.0.1:{self.port}"

    def start(self) -> None:
        self._thread.start()
        plugin = {"access_key": self.access.key}
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"127.0.0.1:{self.port}"}},
            "plugins": {
                "puente_cli.broker_access.StationAuthPlugin": plugin,
                "puente_cli.broker_access.StationTopicPlugin": plugin,
            },
        }

        async def _start() -> None:
            self._broker = Broker(config, loop=self._loop)
            await self._broker.start()

        asyncio.run_coroutine_threadsafe(_start(), self._loop).result(timeout=15)
        log.info("embedded MQTT broker listening on %s", self.url)

    def cut(self, station_id: str, still_allowed: bool = False) -> int:
        """End every open session signed in as ``station_id`` now (retirement): the same
        as the hub does through Mosquitto's dynamic-security plugin. Unless
        ``still_allowed``, the station may not sign in again. Returns sessions ended."""
        if not still_allowed:
            self.access.forget_station(station_id)
        broker = self._broker
        if broker is None:
            return 0

        async def _cut() -> int:
            # amqtt has no public call for this: its session table, as its own cleanup uses.
            ended = 0
            for session, handler in list(broker._sessions.values()):
                if session.username == station_id and handler is not None:
                    await handler.stop()
                    ended += 1
            return ended

        return asyncio.run_coroutine_threadsafe(_cut(), self._loop).result(timeout=10)

    def stop(self) -> None:
        if self._broker is not None:
            fut: Future[None] = asyncio.run_coroutine_threadsafe(
                self._broker.shutdown(), self._loop
            )
            try:
                fut.result(timeout=10)
            except Exception:  # shutting down: report, don't raise
                log.warning("embedded broker did not shut down cleanly", exc_info=True)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(timeout=5)
        self.access.close()
