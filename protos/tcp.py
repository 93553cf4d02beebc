"""TCP_NODELAY on MQTT sockets, shared by the agent's uplink and the hub's ingest client.

MQTT over TCP writes many small packets (a PUBLISH of one event, a PUBACK, a receipt). With
Nagle's algorithm on, a small write waits while an earlier segment is unacknowledged, and the
peer delays its ACK (up to 40 ms on Linux): a receipt could sit that long in the sender's
buffer. paho does not set TCP_NODELAY; Mosquitto does with ``set_tcp_nodelay true``.
"""

from __future__ import annotations

import contextlib
import socket
from typing import Any


def no_delay(_client: Any, _userdata: Any, sock: Any) -> None:
    """paho's ``on_socket_open`` callback: send small packets at once (TLS sockets too)."""
    with contextlib.suppress(OSError, AttributeError):  # not a TCP socket: nothing to do
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
