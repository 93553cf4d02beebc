"""Small MQTT packets leave at once: the agent's and the hub's sockets carry TCP_NODELAY.

Without it a receipt or a one-event batch waits behind Nagle's algorithm for the peer's
delayed ACK (up to 40 ms on Linux): creation → receipt p50 was 70–80 ms at 600 events/s
(bench/ingest), 5–15 ms with it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from pathlib import Path

from edge_agent.service import AgentService
from edge_agent.settings import AgentSettings
from tests.agent.test_uplink_recovery import _hub
from tests.brokers import Mosquitto

Start = Callable[[AgentSettings], AgentService]


def _nodelay(sock: object) -> int:
    assert isinstance(sock, socket.socket), sock
    return sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY)


def test_agent_and_hub_mqtt_sockets_send_small_packets_at_once(
    make_settings: Callable[..., AgentSettings],
    start_agent: Start,
    mosquitto: Mosquitto,
    tmp_path: Path,
) -> None:
    hub = _hub(tmp_path, mosquitto)
    try:
        agent = start_agent(make_settings(broker_url=mosquitto.url))
        assert agent.wait_connected(10)
        assert _nodelay(agent.uplink.client.socket()) == 1
        assert hub._worker is not None
        assert _nodelay(hub._worker._client.socket()) == 1
    finally:
        hub.stop()


def test_http_listening_sockets_say_tcp_so_asyncio_sets_nodelay(
    mosquitto: Mosquitto, tmp_path: Path
) -> None:
    """asyncio turns TCP_NODELAY on for accepted connections only when the listening socket
    was made with proto=IPPROTO_TCP; with proto 0 each HTTP answer's body waited ~40 ms for
    the client's delayed ACK (bench/sign)."""
    from edge_agent.service import _bind

    agent_sock = _bind("127.0.0.1", 0)
    try:
        assert agent_sock.proto == socket.IPPROTO_TCP
    finally:
        agent_sock.close()
    hub = _hub(tmp_path, mosquitto)
    try:
        assert hub._socket is not None
        assert hub._socket.proto == socket.IPPROTO_TCP
    finally:
        hub.stop()
