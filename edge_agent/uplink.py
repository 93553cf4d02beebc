"""The uplink: outbox rows to the hub over MQTT (QoS 1), deleted only when a receipt names them.

Two threads: ``uplink-net`` runs the paho network loop and reconnects with
jittered exponential backoff; ``uplink-send`` publishes outbox rows in seq
order inside a window of un-receipted events, re-sends on receipt timeout and
after a reconnect, and deletes receipted rows. Both sleep when idle.
"""

from __future__ import annotations

import contextlib
import logging
import random
import ssl
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass
from datetime import UTC, datetime

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion, MQTTErrorCode

from edge_agent import __version__
from edge_agent.clock import ClockEstimate
from edge_agent.errors import OutboxClosed, OutboxError
from edge_agent.events import now_ts
from edge_agent.metrics import AgentMetrics
from edge_agent.outbox import Outbox
from edge_agent.settings import AgentSettings
from protos import events_pb2, topics
from protos.broker_url import parse_broker_url
from protos.tcp import no_delay

log = logging.getLogger(__name__)

_WARNINGS_CHECK_S = 5.0  # how often a change of the station's warnings is looked for
_DELETE_RETRY_S = 1.0  # a delete that failed (disk full) is tried again after this


@dataclass(frozen=True)
class LinkState:
    connected: bool
    broker: str
    in_flight: int
    last_receipt_at: datetime | None
    reconnects: int


@dataclass
class _InFlight:
    seq: int
    body: bytes
    sent_at: float  # monotonic; 0.0 means "re-send now"
    sent_wall: float = 0.0  # station clock at the first send; 0.0 once re-sent (no clock sample)


def backoff_delay(attempt: int, low: float, high: float, rng: random.Random) -> float:
    """Full-jitter exponential backoff: uniform in [low, min(high, low * 2**attempt)]."""
    cap = min(high, low * (2 ** min(attempt, 30)))
    return rng.uniform(low, max(low, cap))


class Uplink:
    def __init__(
        self, settings: AgentSettings, outbox: Outbox, metrics: AgentMetrics | None = None
    ) -> None:
        self.settings = settings
        self.outbox = outbox
        self.metrics = metrics
        self.address = parse_broker_url(settings.broker_url)
        unit, station = settings.unit_id, settings.station_id
        self.events_topic = topics.events(unit, station)
        self.receipts_topic = topics.receipts(unit, station)
        self.state_topic = topics.state(unit, station)
        self.config_topic = topics.config(unit, station)
        # Remote config (edge_agent.remote_config): where config payloads go, and what the
        # state message reports as the applied version and the last refusal.
        self.on_config: Callable[[bytes], None] | None = None
        self.config_status: Callable[[], tuple[int, str]] = lambda: (0, "")
        # The devices the station runs, for the state message (set by the agent).
        self.device_states: Callable[[], Sequence[events_pb2.ReportedDevice]] | None = None
        self._rng = random.Random()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._send_lock = threading.Lock()  # held by the sender while it publishes a round
        self.clock = ClockEstimate()
        self._undeleted: list[str] = []  # receipted, delete failed (disk full): tried again
        self._in_flight: OrderedDict[str, _InFlight] = OrderedDict()  # first sends in seq order
        self._in_flight_bytes = 0  # body bytes in _in_flight (bounded by uplink_window_bytes)
        self._high_seq = 0  # highest seq published since start
        self._connected = False
        self._session_started = False  # set on CONNACK; the sender re-sends everything then
        self._ever_connected = False
        self._last_receipt_at: datetime | None = None
        self._reconnects = 0
        self._threads: list[threading.Thread] = []
        self.client = self._make_client()
        outbox.add_listener(self.wake)

    # -- public -------------------------------------------------------------------------------

    def start(self) -> None:
        self._threads = [
            threading.Thread(target=self._net_loop, name="uplink-net", daemon=True),
            threading.Thread(target=self._send_loop, name="uplink-send", daemon=True),
        ]
        for t in self._threads:
            t.start()

    def stop(self, timeout_s: float = 3.0) -> None:
        """Publish the retained offline state (if connected), disconnect, join the threads."""
        if not self._threads:
            return
        self._stop.set()
        self._wake.set()
        self._threads[1].join(timeout_s)
        if self._connected:
            info = self.client.publish(
                self.state_topic, self._state_payload(online=False), qos=1, retain=True
            )
            with contextlib.suppress(RuntimeError, ValueError):
                info.wait_for_publish(timeout_s)
            self.client.disconnect()
        self._threads[0].join(timeout_s)
        self._threads = []

    def wake(self) -> None:
        self._wake.set()

    def publish_state(self) -> None:
        """Publish the retained online state now (e.g. after a remote config was handled)."""
        with self._lock:
            connected = self._connected
        if connected:
            self.client.publish(
                self.state_topic, self._state_payload(online=True), qos=1, retain=True
            )

    def state(self) -> LinkState:
        with self._lock:
            return LinkState(
                connected=self._connected,
                broker=str(self.address),
                in_flight=len(self._in_flight),
                last_receipt_at=self._last_receipt_at,
                reconnects=self._reconnects,
            )

    # -- MQTT client --------------------------------------------------------------------------

    def _make_client(self) -> mqtt.Client:
        s = self.settings
        client = mqtt.Client(
            callback_api_version=CallbackAPIVersion.VERSION2,
            client_id=f"puente-agent-{s.station_id}",
            clean_session=False,
            protocol=mqtt.MQTTv311,
        )
        client.max_inflight_messages_set(max(20, s.uplink_window // max(1, s.uplink_batch_max) * 2))
        client.max_queued_messages_set(0)
        if self.address.tls:
            client.tls_set(
                ca_certs=str(s.tls_ca_file) if s.tls_ca_file else None,
                certfile=str(s.tls_cert_file) if s.tls_cert_file else None,
                keyfile=str(s.tls_key_file) if s.tls_key_file else None,
                cert_reqs=ssl.CERT_REQUIRED,
                tls_version=ssl.PROTOCOL_TLS_CLIENT,
            )
        if s.mqtt_username:
            password = s.mqtt_password.get_secret_value() if s.mqtt_password else None
            client.username_pw_set(s.mqtt_username, password)
        client.will_set(self.state_topic, self._state_payload(online=False), qos=1, retain=True)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.on_subscribe = self._on_subscribe
        client.on_socket_open = no_delay  # events leave at once (protos.tcp)
        # Every socket write must happen in the network thread: paho otherwise writes from
        # the publishing (sender) thread while the network thread reads, and one TLS
        # connection used from two threads at once corrupts (seen: "bad record mac" under
        # mutual TLS). With this hook set, publish() only queues and wakes loop().
        client.on_socket_register_write = lambda *_: None
        return client

    def _state_payload(self, online: bool) -> bytes:
        depth = self.outbox.depth()[0] if online else 0
        config_version, config_error = self.config_status()
        estimate = self.clock.current()
        return events_pb2.StationState(
            config_version=config_version,
            config_error=config_error,
            station_id=self.settings.station_id,
            unit_id=self.settings.unit_id,
            online=online,
            at=now_ts(),
            agent_version=__version__,
            outbox_depth=depth,
            clock_offset_ms=estimate.offset_ms if estimate else 0,
            clock_offset_known=estimate is not None,
            warnings=self.warnings() if online else [],
            devices=self.device_states() if online and self.device_states else [],
            devices_known=bool(online and self.device_states),
        ).SerializeToString()

    def warnings(self) -> list[str]:
        """What ops and the station should know: clock off, outbox or disk nearly full."""
        found = []
        estimate = self.clock.current()
        if estimate is not None and (text := estimate.warning(self.settings.clock_warn_s)):
            found.append(text)
        if text := self.outbox.pressure().warning:
            found.append(text)
        return found

    def _on_connect(self, client, userdata, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]  # paho's callback signature
        if reason_code.is_failure:
            log.warning("broker %s refused the connection: %s", self.address, reason_code)
            return
        with self._send_lock:
            # paho would re-send its un-acknowledged messages right after this callback, ahead
            # of older events the dead broker had acknowledged but lost; the sender re-sends
            # everything in flight itself, oldest first, so the hub sees outbox order.
            client.drop_out_messages()
            client.subscribe([(self.receipts_topic, 1), (self.config_topic, 1)])
            client.publish(self.state_topic, self._state_payload(online=True), qos=1, retain=True)
            with self._lock:
                self._connected = True
                self._session_started = True
        with self._lock:
            if self._ever_connected:
                self._reconnects += 1
                if self.metrics:
                    self.metrics.reconnects.inc()
            self._ever_connected = True
        if self.metrics:
            self.metrics.link_connected.set(1)
        log.info("connected to %s", self.address, extra={"station_id": self.settings.station_id})
        self._wake.set()

    def _on_disconnect(self, client, userdata, flags, reason_code, properties) -> None:  # type: ignore[no-untyped-def]  # paho's callback signature
        with self._lock:
            self._connected = False
        if self.metrics:
            self.metrics.link_connected.set(0)
        if not self._stop.is_set():
            log.warning("disconnected from %s: %s", self.address, reason_code)

    def _on_subscribe(self, client, userdata, mid, reason_codes, properties) -> None:  # type: ignore[no-untyped-def]  # paho's callback signature
        if any(rc.is_failure for rc in reason_codes):
            # No receipts can arrive: every event would be re-sent without end. The broker
            # does not know this station (not enrolled there, or retired); see the hub's
            # fleet page. The agent keeps trying and subscribes again on every reconnect.
            log.error(
                "broker %s refused the receipts/config subscription (%s): no receipts will "
                "arrive until the hub allows this station / el broker rechazó la suscripción",
                self.address,
                ", ".join(str(rc) for rc in reason_codes),
                extra={"station_id": self.settings.station_id},
            )

    def _on_message(self, client, userdata, message) -> None:  # type: ignore[no-untyped-def]  # paho's callback signature
        if message.topic == self.config_topic:
            if self.on_config is not None:
                self.on_config(message.payload)
            return
        batch = events_pb2.ReceiptBatch()
        try:
            batch.ParseFromString(message.payload)
        except Exception:  # protobuf raises DecodeError; anything else is as bad
            log.warning("undecodable receipt batch on %s ignored", message.topic)
            return
        arrived = time.time()
        with self._lock:
            if batch.receipts:
                self._last_receipt_at = datetime.now(UTC)
            if batch.resend_unreceipted:
                # A hub worker (re)subscribed: what is in flight may have reached no hub
                # (Mosquitto drops $share traffic published before the hub is back after a
                # restart). Re-send it now, as after our own reconnect.
                self._session_started = True
            sent = next(
                (
                    f.sent_wall
                    for r in batch.receipts
                    if (f := self._in_flight.get(r.event_id)) is not None and f.sent_wall
                ),
                0.0,
            )
            for r in batch.receipts:  # room in the window at once
                if (gone := self._in_flight.pop(r.event_id, None)) is not None:
                    self._in_flight_bytes -= len(gone.body)
        if sent and batch.HasField("committed_at"):
            committed = batch.committed_at.seconds + batch.committed_at.nanos / 1e9
            self.clock.add(sent, committed, arrived)
        if batch.receipts:
            # Here, not in the sender: one thread hand-over less per event, and the sender
            # refills the window as soon as it is woken. The delete is only queued.
            try:
                self._receipted(batch.receipts)
            except Exception:  # never out of paho's loop; the re-send brings them again
                log.exception("applying receipts failed")
        self._wake.set()

    # -- network thread -----------------------------------------------------------------------

    def _net_loop(self) -> None:
        attempt = 0
        s = self.settings
        self.client.connect_async(self.address.host, self.address.port, s.keepalive_s)
        while not self._stop.is_set():
            try:
                self.client.reconnect()
            except (OSError, ssl.SSLError) as exc:
                delay = backoff_delay(attempt, s.reconnect_min_s, s.reconnect_max_s, self._rng)
                attempt += 1
                log.info("broker %s unreachable (%s); retry in %.2fs", self.address, exc, delay)
                self._stop.wait(delay)
                continue
            rc = MQTTErrorCode.MQTT_ERR_SUCCESS
            while rc == MQTTErrorCode.MQTT_ERR_SUCCESS:
                rc = self.client.loop(timeout=1.0)
                if self._connected:
                    attempt = 0
            if self._stop.is_set():
                break
            with self._lock:
                self._connected = False
            delay = backoff_delay(attempt, s.reconnect_min_s, s.reconnect_max_s, self._rng)
            attempt += 1
            self._stop.wait(delay)

    # -- sender thread ------------------------------------------------------------------------

    def _send_loop(self) -> None:
        published_warnings: list[str] = []
        checked_at = 0.0
        while not self._stop.is_set():
            self._wake.clear()
            if time.monotonic() - checked_at >= _WARNINGS_CHECK_S:
                checked_at = time.monotonic()
                with contextlib.suppress(Exception):
                    if (now := self.warnings()) != published_warnings:
                        published_warnings = now
                        self.publish_state()  # ops see it on the fleet page
            try:
                self._delete([])  # receipted rows a full disk kept, tried again
                with self._send_lock:
                    timeout = self._publish_due()
                if self._undeleted:
                    timeout = min(timeout or _DELETE_RETRY_S, _DELETE_RETRY_S)
                timeout = min(timeout or _WARNINGS_CHECK_S, _WARNINGS_CHECK_S)
            except Exception:  # keep the uplink alive whatever one round hits
                log.exception("uplink round failed")
                timeout = 1.0
            self._wake.wait(timeout)

    def _receipted(self, receipts: Iterable[events_pb2.Receipt]) -> None:
        """Count and log what the hub answered, and queue the deletion of those rows."""
        for r in receipts:
            if self.metrics:
                status = events_pb2.ReceiptStatus.Name(r.status) if r.status else "UNSPECIFIED"
                self.metrics.receipted.labels(status.lower()).inc()
            if r.status == events_pb2.REJECTED:
                if self.metrics:
                    self.metrics.rejected.labels(r.reason_code or "unknown").inc()
                log.warning(
                    "hub rejected event (%s): %s",
                    r.reason_code,
                    r.reason,
                    extra={"event_id": r.event_id, "station_id": self.settings.station_id},
                )
        self._delete([r.event_id for r in receipts])

    def _delete(self, event_ids: list[str]) -> None:
        """Queue the deletion of receipted rows without waiting for it (the next publish does
        not wait behind the outbox writer); what cannot be deleted (disk full) comes back to
        ``_undeleted`` and is tried again."""
        with self._lock:
            retry, self._undeleted = self._undeleted, []
        pending = retry + event_ids
        if not pending:
            return
        try:
            future = self.outbox.delete_later(pending)
        except OutboxError:  # closed: the rows are re-sent after a restart, answered DUPLICATE
            return
        future.add_done_callback(lambda f: self._deleted(f, pending, bool(retry)))

    def _deleted(self, future: Future[int], ids: list[str], retried: bool) -> None:
        """The outbox writer's answer to a delete (in the writer thread)."""
        exc = future.exception()
        if exc is None:
            if retried:
                log.info("receipted events deleted after a retry")
            return
        if isinstance(exc, OutboxClosed):
            return
        with self._lock:
            first = not self._undeleted and not retried
            self._undeleted = ids + self._undeleted
        if first:
            log.error("receipted events could not be deleted yet (%s); will retry", exc)
        retry = threading.Timer(_DELETE_RETRY_S, self._wake.set)  # not at once: a full disk
        retry.daemon = True  # fails again at once, and the sender would spin
        retry.start()

    def _publish_due(self) -> float | None:
        """Publish what is due; return how long the sender may sleep (None: until woken)."""
        s = self.settings
        with self._lock:
            if not self._connected:
                return None
            if self._session_started:
                self._session_started = False
                for item in self._in_flight.values():
                    item.sent_at = 0.0
            now = time.monotonic()
            timed_out = [
                f.seq for f in self._in_flight.values() if now - f.sent_at >= s.receipt_timeout_s
            ]
            # A timed-out event means a batch was lost (broker restart, a hub that was not
            # subscribed yet). The hub holds back everything after that gap, so everything in
            # flight from the first lost position on is re-sent now, in seq order, before any
            # new row: otherwise new rows fill the window behind the gap and wait one more
            # receipt timeout each round (a drain of one window per timeout).
            first_lost = min(timed_out) if timed_out else None
            due = sorted(
                (f.seq, eid, f.body)
                for eid, f in self._in_flight.items()
                if first_lost is not None and f.seq >= first_lost
            )
        if due:
            self._publish_rows(due, resend=True)
        room = s.uplink_window - len(self._in_flight)
        while room > 0 and self._connected:
            rows = self.outbox.pending(self._high_seq, min(room, s.uplink_batch_max * 10))
            with self._lock:
                room_bytes = s.uplink_window_bytes - self._in_flight_bytes
                alone = not self._in_flight  # an event bigger than the bound goes alone
            fit = _fitting(rows, room_bytes, alone)
            if not fit:
                break
            self._publish_rows(fit, resend=False)
            room -= len(fit)
            if len(fit) < len(rows):
                break  # the byte bound is reached
        with self._lock:
            if not self._in_flight:
                return None
            oldest = min(f.sent_at for f in self._in_flight.values())
        return max(0.05, oldest + s.receipt_timeout_s - time.monotonic())

    def _publish_rows(self, rows: list[tuple[int, str, bytes]], resend: bool) -> None:
        for chunk in _chunks(
            rows, self.settings.uplink_batch_max, self.settings.uplink_batch_max_bytes
        ):
            with self._lock:
                first = next(iter(self._in_flight.values()), None)
            oldest = min(chunk[0][0], first.seq) if first else chunk[0][0]
            batch = events_pb2.EventBatch(
                events=[body for _, _, body in chunk], sent_at=now_ts(), oldest_pending_seq=oldest
            )
            estimate = self.clock.current()
            if estimate is not None:
                batch.clock_offset_ms = estimate.offset_ms
                batch.clock_offset_error_ms = estimate.error_ms
                batch.clock_offset_known = True
            # In flight before it is handed to paho: its receipt is applied in paho's thread
            # and may come back before this thread would otherwise have recorded it.
            sent_at, sent_wall = time.monotonic(), time.time()
            with self._lock:
                for seq, event_id, body in chunk:
                    if event_id not in self._in_flight:
                        if resend:
                            continue  # receipted meanwhile
                        self._in_flight_bytes += len(body)
                    self._in_flight[event_id] = _InFlight(
                        seq, body, sent_at, 0.0 if resend else sent_wall
                    )
                    self._high_seq = max(self._high_seq, seq)
            # If the link dropped meanwhile, paho keeps the message and the reconnect re-sends all.
            self.client.publish(self.events_topic, batch.SerializeToString(), qos=1)
            if self.metrics:
                (self.metrics.resent if resend else self.metrics.published).inc(len(chunk))


def _fitting(
    rows: list[tuple[int, str, bytes]], room_bytes: int, alone: bool
) -> list[tuple[int, str, bytes]]:
    """The first ``rows`` whose bodies fit in ``room_bytes`` (the first row anyway if
    ``alone``: nothing else is in flight, and a bigger event must still go)."""
    total = 0
    for n, row in enumerate(rows):
        total += len(row[2])
        if total > room_bytes:
            return rows[: max(n, 1 if alone else 0)]
    return rows


def _chunks(
    rows: list[tuple[int, str, bytes]], most: int, most_bytes: int
) -> list[list[tuple[int, str, bytes]]]:
    """Consecutive rows in batches of at most ``most`` events and ``most_bytes`` body bytes
    (an event bigger than that alone): a batch over the broker's payload limit would be
    dropped or cut by the broker and re-sent for ever, holding back every later event."""
    out: list[list[tuple[int, str, bytes]]] = []
    chunk: list[tuple[int, str, bytes]] = []
    size = 0
    for row in rows:
        if chunk and (len(chunk) >= most or size + len(row[2]) > most_bytes):
            out.append(chunk)
            chunk, size = [], 0
        chunk.append(row)
        size += len(row[2])
    if chunk:
        out.append(chunk)
    return out
