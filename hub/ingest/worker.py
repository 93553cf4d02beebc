"""The MQTT side of ingest: paho client (network thread) feeding one writer thread (on
PostgreSQL the writer prepares each batch and a committer thread commits them in order)."""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections import deque
from collections.abc import Callable
from typing import Any

import paho.mqtt.client as mqtt

from hub.broker_link import make_client
from hub.health import WriteHealth
from hub.ingest.held import HeldEvents
from hub.ingest.pipeline import (
    Incoming,
    Outcome,
    Prepared,
    commit_prepared,
    prepare_batch,
    process_batch,
    reject_unstorable,
    split_events,
)
from hub.metrics import HubMetrics
from hub.settings import HubSettings
from hub.storage.base import EventRow, Store
from protos import events_pb2, topics

log = logging.getLogger(__name__)

_RETRIES = 3
_RENDER_CHUNK = 500
_HELD_RETRY_S = 0.05  # while events wait for a gap another worker may fill


class _Job:
    """Messages the writer prepared, on their way to the committer thread."""

    __slots__ = ("generation", "messages", "prepared", "prepared_s")

    def __init__(
        self,
        messages: list[Incoming],
        prepared: Prepared | None,
        generation: int,
        prepared_s: float,
    ) -> None:
        self.messages = messages
        self.prepared = prepared  # None: prepare failed; the committer takes the slow path
        self.generation = generation
        self.prepared_s = prepared_s


_STOP = object()


class IngestWorker:
    """Subscribes to every station's events and states; commits batches, then publishes receipts.

    Messages are acknowledged to the broker (manual PUBACK) only after their batch is
    committed and its receipts are handed to paho, so a hub that dies mid-batch gets the
    same messages again from its persistent session.
    """

    def __init__(
        self,
        settings: HubSettings,
        store: Store,
        metrics: HubMetrics,
        health: WriteHealth | None = None,
    ) -> None:
        self._settings = settings
        self._health = health  # told of every commit's outcome (/healthz)
        self._store = store
        self._metrics = metrics
        self._queue: queue.Queue[Incoming] = queue.Queue()
        self._accepting = threading.Event()
        self._stopping = threading.Event()
        self._connected = threading.Event()
        self._subscribed = threading.Event()
        self._recent_publishes: deque[mqtt.MQTTMessageInfo] = deque(maxlen=2000)
        self._held = HeldEvents(settings.held_events_ttl_s, settings.held_messages_max)
        self._held_tried_at = 0.0
        self._client = self._make_client()
        self._writer = threading.Thread(target=self._run, name="hub-ingest-writer", daemon=True)
        # On PostgreSQL the writer prepares (decodes, checks, orders) the next batch while a
        # committer thread commits the previous one and waits for the server: see _prepare.
        self._pipelined = settings.database_url.startswith(("postgresql://", "postgres://"))
        self._handoff: queue.Queue[_Job | object] = queue.Queue(maxsize=1)
        self._committer = threading.Thread(
            target=self._commit_jobs, name="hub-ingest-committer", daemon=True
        )
        self._flight_lock = threading.Lock()
        self._in_flight: dict[int, dict[str, int]] = {}  # job id → station → highest seq
        self._generation = 0  # bumped when a prepared commit fails
        # Provisioning hooks (hub.fleet): a state message seen (writer thread), and a
        # (re)connection made (network thread; retained configs are re-published).
        self.on_state: Callable[[str, bytes], None] | None = None
        self.on_connected: Callable[[], None] | None = None
        # After-commit hooks (writer thread), given the newly stored events (hub.vitals).
        self.on_commit: list[Callable[[list[EventRow]], None]] = []

    def publish(self, topic: str, payload: bytes, retain: bool) -> None:
        """Publish for another part of the hub (QoS 1; paho queues it while offline)."""
        self._client.publish(topic, payload, qos=1, retain=retain)

    # -- paho (network thread) ---------------------------------------------------------
    def _make_client(self) -> mqtt.Client:
        client, self._address = make_client(
            self._settings, self._settings.mqtt_client_id, clean_session=False, manual_ack=True
        )
        client.max_inflight_messages_set(200)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_connect_fail = self._on_connect_fail
        client.on_subscribe = self._on_subscribe
        client.on_message = self._on_message
        return client

    def _on_connect(
        self, client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        if reason.is_failure:
            log.error("broker refused the hub: %s", reason)
            return
        self._connected.set()
        self._metrics.mqtt_connected.set(1)
        log.info("connected to broker %s", self._address)
        client.subscribe(
            [(topics.all_events(self._settings.shared_subscription), 1), (topics.ALL_STATES, 1)]
        )
        if self.on_connected is not None:
            try:
                self.on_connected()
            except Exception:
                log.exception("on-connect hook failed")

    def _on_connect_fail(self, _client: mqtt.Client, _userdata: Any) -> None:
        """The broker cannot be reached (refused, no route, TLS): said at once, then every
        30 s while paho keeps retrying, so a hub without its broker is never silent."""
        now = time.monotonic()
        self._connect_failures = getattr(self, "_connect_failures", 0) + 1
        if now - getattr(self, "_fail_logged_at", -1e9) >= 30:
            self._fail_logged_at = now
            log.warning(
                "cannot reach the broker at %s (%d attempt(s)); retrying every %s s at most / "
                "no se alcanza el broker en %s; se reintenta",
                self._address,
                self._connect_failures,
                self._settings.reconnect_max_s,
                self._address,
            )

    def _on_disconnect(
        self, _client: mqtt.Client, _userdata: Any, _flags: Any, reason: Any, _props: Any
    ) -> None:
        self._connected.clear()
        self._subscribed.clear()
        self._metrics.mqtt_connected.set(0)
        if not self._stopping.is_set():
            log.warning("disconnected from broker (%s); reconnecting", reason)

    def _on_subscribe(
        self, _client: mqtt.Client, _userdata: Any, _mid: int, reasons: Any, _props: Any
    ) -> None:
        if any(r.is_failure for r in reasons):
            log.error("broker refused a subscription of the hub: %s", reasons)
            return
        self._subscribed.set()
        threading.Thread(
            target=self._ask_for_resends, name="hub-resend-notice", daemon=True
        ).start()

    def _ask_for_resends(self) -> None:
        """Ask every station to re-send what it has in flight, now that this worker listens.

        Mosquitto does not restore a ``$share`` subscription after a restart: what stations
        publish before the hub is back reaches no one, and would wait for the station's
        receipt timeout (10 s) — a drain of one window per timeout. One small message per
        station (``ReceiptBatch.resend_unreceipted``) on each (re)subscription ends that wait;
        a copy that did arrive is answered DUPLICATE."""
        try:
            stations = self._store.list_stations()
        except Exception:
            log.exception("could not list stations to ask for re-sends")
            return
        notice = events_pb2.ReceiptBatch(resend_unreceipted=True).SerializeToString()
        for station in stations:
            if not station.retired:
                self._client.publish(
                    topics.receipts(station.unit_id, station.station_id), notice, qos=1
                )

    def _on_message(self, client: mqtt.Client, _userdata: Any, msg: mqtt.MQTTMessage) -> None:
        # paho's network thread: nothing here but a queue.put, and never raise.
        try:
            if not self._accepting.is_set():
                return  # not acknowledged: the broker delivers it again next session
            self._queue.put(Incoming(msg.topic, bytes(msg.payload), time.time(), msg.mid, msg.qos))
        except Exception:
            log.exception("could not queue a message from %s", getattr(msg, "topic", "?"))
            try:
                client.ack(msg.mid, msg.qos)  # do not block the broker's in-flight window
            except Exception:
                log.exception("could not acknowledge message")

    # -- writer thread -----------------------------------------------------------------
    def _run(self) -> None:
        max_messages = self._settings.ingest_batch_max
        max_bytes = self._settings.ingest_batch_max_bytes
        wait_s = self._settings.ingest_batch_wait_ms / 1000
        while True:
            try:
                first = self._queue.get(timeout=_HELD_RETRY_S if self._held else 0.1)
            except queue.Empty:
                if self._stopping.is_set():
                    if self._pipelined:  # what was handed over is committed, then it stops
                        self._handoff.put(_STOP)
                        self._committer.join()
                    return
                if self._held and time.monotonic() - self._held_tried_at >= _HELD_RETRY_S:
                    self._retry_held([])
                else:
                    self._idle()
                continue
            batch = [first]
            size = len(first.payload)
            deadline = time.monotonic() + wait_s
            while len(batch) < max_messages and size < max_bytes:
                remaining = deadline - time.monotonic()
                try:
                    msg = (
                        self._queue.get(timeout=remaining)
                        if remaining > 0
                        else self._queue.get_nowait()
                    )
                except queue.Empty:
                    break
                batch.append(msg)
                size += len(msg.payload)
            self._metrics.queue_depth.set(self._queue.qsize())
            self._retry_held(batch)

    def _retry_held(self, batch: list[Incoming]) -> None:
        """Commit ``batch`` followed by the events held behind a gap (which it may fill)."""
        self._held_tried_at = time.monotonic()
        held = self._held.take()
        self._metrics.held_retries.inc(len(held))
        try:
            if self._pipelined:
                self._handoff.put(self._prepare(batch + held))
            else:
                self._handle(batch + held)
        except Exception:  # the writer must outlive any bug
            log.exception("ingest batch failed")

    # -- pipelined (PostgreSQL): writer prepares, committer commits ----------------------
    def _prepare(self, messages: list[Incoming]) -> _Job:
        """Decode, check and order ``messages`` while the previous batch commits.

        The order gate counts what this worker is committing right now as stored (a
        station's next batch need not wait for it). If that commit fails, every job
        prepared meanwhile is stale (its generation is older) and goes the slow way,
        prepared again from the database."""
        started = time.perf_counter()
        with self._flight_lock:
            generation = self._generation
            in_flight: dict[str, int] = {}
            for seqs in self._in_flight.values():
                for station_id, seq in seqs.items():
                    if seq > in_flight.get(station_id, 0):
                        in_flight[station_id] = seq
        try:
            prepared: Prepared | None = prepare_batch(
                messages,
                self._store,
                self._settings.max_clock_skew_s,
                limits=self._settings.ingest_limits,
                clock_flag_s=self._settings.clock_flag_s,
                in_flight=in_flight,
            )
        except Exception:
            log.exception("preparing a batch of %d messages failed", len(messages))
            prepared = None
        job = _Job(messages, prepared, generation, time.perf_counter() - started)
        if prepared is not None and prepared.pending_seqs:
            with self._flight_lock:
                self._in_flight[id(job)] = prepared.pending_seqs
        return job

    def _commit_jobs(self) -> None:
        while True:
            job = self._handoff.get()
            if not isinstance(job, _Job):
                return
            try:
                self._commit_job(job)
            except Exception:  # the committer must outlive any bug
                log.exception("ingest batch failed")
                self._landed(job, failed=True)

    def _commit_job(self, job: _Job) -> None:
        prepared = job.prepared
        if prepared is None or job.generation != self._generation:
            self._landed(job, failed=False)
            self._handle(job.messages)  # prepared again, from the database
            return
        started = time.perf_counter()
        outcome: Outcome | None = None
        for attempt in range(1, _RETRIES + 1):
            try:
                outcome = commit_prepared(prepared, self._store)
                break
            except Exception:
                log.exception("commit of %d messages failed (try %d)", len(job.messages), attempt)
                if attempt < _RETRIES and not self._stopping.is_set():
                    time.sleep(0.2 * attempt)
        if outcome is None:
            self._landed(job, failed=True)
            self._handle(job.messages)  # the slow way: one by one, quarantine, …
            return
        self._landed(job, failed=False)
        if self._health is not None:
            self._health.commit_ok()
        took = job.prepared_s + time.perf_counter() - started
        self._answer(job.messages, outcome, took)

    def _landed(self, job: _Job, failed: bool) -> None:
        """``job`` no longer commits; if it failed, what was prepared counting on it is stale."""
        with self._flight_lock:
            self._in_flight.pop(id(job), None)
            if failed:
                self._generation += 1

    def _handle(self, batch: list[Incoming]) -> None:
        started = time.perf_counter()
        outcome = self._commit(batch)
        if self._health is not None:  # /healthz answers 503 while commits fail
            if outcome is None:
                self._health.commit_failed(len(batch))
            else:
                self._health.commit_ok()
        if outcome is None and len(batch) > 1:
            log.error("batch of %d messages failed; committing them one by one", len(batch))
            for msg in batch:
                self._handle([msg])
            return
        if outcome is None and batch[0].topic.endswith("/events"):
            # One message no commit stores: find the event it fails on, and answer that one
            # alone (rejected, kept in quarantine) instead of stalling its station for ever.
            parts = split_events(batch[0])
            if parts:
                log.error("message of %d events failed; committing them one by one", len(parts))
                for part in parts:
                    self._handle([part])
            else:
                outcome = self._reject_unstorable(batch[0])
        if outcome is not None:
            self._answer(batch, outcome, time.perf_counter() - started)
        else:
            self._states_and_acks(batch)

    def _answer(self, batch: list[Incoming], outcome: Outcome, took_s: float) -> None:
        """After a commit: metrics, held events kept, receipts, hooks, states, PUBACKs."""
        self._metrics.batch_commit_seconds.observe(took_s)
        answered = outcome.accepted + outcome.duplicate + outcome.rejected
        if answered:
            self._metrics.batch_events.observe(answered)
        for stage, (wall, cpu) in outcome.store_stages.items():
            self._metrics.store_commit_seconds.labels(stage).observe(wall)
            self._metrics.store_commit_cpu_seconds.labels(stage).inc(max(cpu, 0.0))
        self._metrics.store_round_trips.inc(outcome.store_round_trips)
        self._metrics.accepted.inc(outcome.accepted)
        self._metrics.duplicate.inc(outcome.duplicate)
        self._metrics.rejected.inc(outcome.rejected)
        self._metrics.held.inc(outcome.held)
        self._held.keep(outcome.held_messages)
        self._metrics.quarantined.inc(outcome.quarantined)
        for topic, receipts in outcome.receipts.items():
            info = self._client.publish(topic, receipts.SerializeToString(), qos=1)
            self._recent_publishes.append(info)
        if outcome.stored and self.on_commit:
            hooks_started = time.perf_counter()
            for hook in self.on_commit:
                try:
                    hook(outcome.stored)
                except Exception:
                    log.exception("after-commit hook failed")
            self._metrics.after_commit_seconds.observe(time.perf_counter() - hooks_started)
        self._states_and_acks(batch)

    def _states_and_acks(self, batch: list[Incoming]) -> None:
        if self.on_state is not None:
            for msg in batch:
                if msg.topic.endswith("/state"):
                    try:
                        self.on_state(msg.topic, msg.payload)
                    except Exception:
                        log.exception("state hook failed")
        # Committed (or given up after retries: the station re-sends after its timeout).
        for msg in batch:
            if msg.qos > 0:
                self._client.ack(msg.mid, msg.qos)

    def _commit(self, batch: list[Incoming]) -> Outcome | None:
        for attempt in range(1, _RETRIES + 1):
            try:
                return process_batch(
                    batch,
                    self._store,
                    self._settings.max_clock_skew_s,
                    limits=self._settings.ingest_limits,
                    clock_flag_s=self._settings.clock_flag_s,
                )
            except Exception:
                log.exception("commit of %d messages failed (try %d)", len(batch), attempt)
                if attempt < _RETRIES and not self._stopping.is_set():
                    time.sleep(0.2 * attempt)
        return None

    def _reject_unstorable(self, msg: Incoming) -> Outcome | None:
        try:
            return reject_unstorable(msg, self._store)
        except Exception:
            log.exception("could not quarantine an event the store refuses; it will come again")
            return None

    def _idle(self) -> None:
        """Render payload JSON of recently stored events while nothing waits.

        It stops as soon as a message is queued (within a few events' rendering, ~1 ms):
        rendering a whole chunk (500 events, 25-250 ms on a busy 2-core machine) made a
        message that arrived meanwhile wait for all of it. Still one transaction per call,
        so no more write-lock traffic between hub processes than before."""
        self._metrics.queue_depth.set(0)
        try:
            self._metrics.rendered.inc(
                self._store.render_pending_payloads(_RENDER_CHUNK, stop=self._busy)
            )
        except Exception:
            log.exception("rendering payload JSON failed")

    def _busy(self) -> bool:
        return not self._queue.empty()

    # -- lifecycle ---------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    def wait_subscribed(self, timeout: float) -> bool:
        return self._subscribed.wait(timeout)

    def start(self) -> None:
        self._accepting.set()
        if self._pipelined:
            self._committer.start()
        self._writer.start()
        self._client.connect_async(self._address.host, self._address.port, keepalive=30)
        self._client.loop_start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking messages, commit what is queued, send its receipts, disconnect."""
        self._accepting.clear()
        self._stopping.set()
        self._writer.join(timeout)
        deadline = time.monotonic() + min(timeout, 5.0)
        for info in list(self._recent_publishes):
            # A receipt published while the broker was away never left (paho says so with
            # an error code, and is_published() raises): the station re-sends those events
            # after its timeout and gets DUPLICATE. Wait only for what can still go out.
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                continue
            while self.connected and time.monotonic() < deadline and not info.is_published():
                time.sleep(0.01)
        self._client.disconnect()
        self._client.loop_stop()
