"""One ingest batch: validate MQTT messages, commit them in one transaction, build receipts."""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from google.protobuf.message import DecodeError

from hub.ingest.clock import station_clock, time_flag
from hub.ingest.limits import IngestLimits, check_message
from hub.ingest.timefmt import iso_from_epoch, iso_utc
from hub.ingest.validation import (
    Rejection,
    decode_batch,
    reject,
    salvage_event_id,
    validate_event,
)
from hub.storage.base import (
    EventRow,
    QuarantineRow,
    Station,
    StationSeen,
    StationStateUpdate,
    Store,
)
from protos import events_pb2, topics
from protos.reasons import Reason

log = logging.getLogger(__name__)

_ACCEPTED = events_pb2.ACCEPTED
_DUPLICATE = events_pb2.DUPLICATE
_REJECTED = events_pb2.REJECTED


@dataclass(frozen=True, slots=True)
class Incoming:
    """One MQTT message as paho handed it over, stamped with the hub clock."""

    topic: str
    payload: bytes
    received_at: float
    mid: int = 0
    qos: int = 0
    # Events held back earlier and tried again: the station was already seen at arrival.
    retried: bool = False
    # A held-back message's events as decoded and checked at arrival (with the decoded
    # EventBatch for its envelope): a retry re-checks only the station order, not the bytes.
    checked: Checked | None = None


@dataclass(frozen=True, slots=True)
class Checked:
    envelope: events_pb2.EventBatch  # sent_at, oldest_pending_seq, the station's clock
    events: tuple[tuple[bytes, events_pb2.Event], ...]


@dataclass(slots=True)
class Outcome:
    """What a committed batch yields: receipts to publish (topic → ReceiptBatch) and counts."""

    receipts: dict[str, events_pb2.ReceiptBatch] = field(default_factory=dict)
    accepted: int = 0
    duplicate: int = 0
    rejected: int = 0
    quarantined: int = 0
    held: int = 0
    # Events held back behind a gap, re-wrapped one message per original message (same topic,
    # sent_at, oldest_pending_seq and arrival time; qos 0: the original is acknowledged).
    # The worker feeds them in again while the gap fills (hub.ingest.held).
    held_messages: list[Incoming] = field(default_factory=list)
    # Events this batch stored for the first time (for after-commit hooks, e.g. vitals).
    stored: list[EventRow] = field(default_factory=list)
    # The store's commit (no decoding or checks): stage → (wall s, writer thread CPU s),
    # "all" for the whole of it (metrics: puente_hub_store_commit_seconds).
    store_stages: dict[str, tuple[float, float]] = field(default_factory=dict)
    # Its round trips to the database server (metrics: puente_hub_store_round_trips).
    store_round_trips: int = 0


@dataclass(slots=True)
class Prepared:
    """A batch decoded, checked and put in station order, ready for its one commit."""

    outcome: Outcome
    rows: list[EventRow]
    quarantine: list[QuarantineRow]
    seen: list[StationSeen]
    states: list[StationStateUpdate]
    # per receipt topic: (event_id, index into rows) or (event_id, Rejection)
    answers: dict[str, list[tuple[str, int | Rejection]]]
    # station → the highest station_seq this batch stores (what a batch prepared while this
    # one commits may count as stored: `prepare_batch`'s ``in_flight``)
    pending_seqs: dict[str, int]


def process_batch(
    messages: Sequence[Incoming],
    store: Store,
    max_skew_s: int,
    now_s: float | None = None,
    limits: IngestLimits = IngestLimits(),
    clock_flag_s: float = 120.0,
) -> Outcome:
    """Validate and commit `messages` (events and station states) in one store transaction.

    Bad input never raises: each bad event is rejected alone (a receipt with its reason).
    Raises whatever the store raises; then nothing is committed and no receipt is due.
    """
    prepared = prepare_batch(messages, store, max_skew_s, now_s, limits, clock_flag_s)
    return commit_prepared(prepared, store)


def prepare_batch(
    messages: Sequence[Incoming],
    store: Store,
    max_skew_s: int,
    now_s: float | None = None,
    limits: IngestLimits = IngestLimits(),
    clock_flag_s: float = 120.0,
    in_flight: Mapping[str, int] | None = None,
) -> Prepared:
    """Decode and check ``messages`` and apply the station-order gate, reading the store only.

    ``in_flight``: station → the highest station_seq of batches this worker is committing
    right now; the gate counts them as stored. Should such a batch fail, whatever was
    prepared counting on it must be prepared again (hub.ingest.worker does).
    """
    now_s = time.time() if now_s is None else now_s
    outcome = Outcome()
    rows: list[EventRow] = []
    quarantine: list[QuarantineRow] = []
    seen: dict[str, StationSeen] = {}
    states: list[StationStateUpdate] = []
    answers: dict[str, list[tuple[str, int | Rejection]]] = {}

    parsed: list[tuple[Incoming, topics.StationTopic, events_pb2.EventBatch]] = []
    fresh: set[str] = set()  # stations of events not checked yet (their registry rows)
    for msg in messages:
        try:
            where = topics.parse(msg.topic)
        except topics.TopicError as exc:
            quarantine.append(_quarantine(msg, "", reject(Reason.UNDECODABLE, str(exc)), b""))
            continue
        if where.leaf == "state":
            update = _state_update(msg, where, limits)
            if update is not None:
                states.append(update)
            continue
        if msg.checked is not None:
            parsed.append((msg, where, msg.checked.envelope))
            continue
        batch = decode_batch(msg.payload)
        if isinstance(batch, Rejection):
            log.warning(
                "undecodable event batch on %s", msg.topic, extra={"station_id": where.station_id}
            )
            kept = msg.payload[: limits.max_batch_bytes]
            quarantine.append(_quarantine(msg, where.station_id, batch, kept))
            continue
        parsed.append((msg, where, batch))
        fresh.add(where.station_id)

    stations = store.stations_by_id(list(fresh)) if fresh else {}
    last_seq = dict(store.last_station_seqs([where.station_id for _, where, _ in parsed]))
    for station_id, seq in (in_flight or {}).items():
        if station_id in last_seq and seq > last_seq[station_id]:
            last_seq[station_id] = seq
    for msg, where, batch in parsed:
        received_at = iso_from_epoch(msg.received_at)
        clock = station_clock(batch, msg.received_at)
        offset_ms = clock.offset_ms
        if where.station_id in stations and not msg.retried:
            seen[where.station_id] = StationSeen(
                where.station_id, received_at, offset_ms, clock.known
            )
        answer = answers.setdefault(topics.receipts(where.unit_id, where.station_id), [])
        held: list[tuple[bytes, events_pb2.Event]] = []
        for raw, checked in (
            msg.checked.events
            if msg.checked is not None
            else _checked_events(msg, batch, where, stations, limits)
        ):
            if isinstance(checked, Rejection):
                kept = raw[: limits.max_event_bytes]  # all of it unless the event is too large
                quarantine.append(_quarantine(msg, where.station_id, checked, kept))
                log.info(
                    "rejected event: %s",
                    checked.reason_code.value,
                    extra={"event_id": checked.event_id, "station_id": where.station_id},
                )
                if checked.event_id:
                    answer.append((checked.event_id, checked))
                continue
            if _held_back(checked.station_seq, batch.oldest_pending_seq, where, last_seq):
                outcome.held += 1
                held.append((raw, checked))
                continue
            occurred = checked.occurred_at
            flag = time_flag(occurred.seconds, now_s, clock, clock_flag_s, max_skew_s)
            answer.append((checked.event_id, len(rows)))
            rows.append(
                EventRow(
                    event_id=checked.event_id,
                    station_id=checked.station_id,
                    unit_id=checked.unit_id,
                    device_id=checked.device_id,
                    case_id=checked.case_id,
                    patient_id=checked.patient_id,
                    kind=checked.WhichOneof("payload") or "",
                    occurred_at=iso_utc(occurred.seconds, occurred.nanos),
                    station_seq=checked.station_seq,
                    received_at=received_at,
                    clock_offset_ms=offset_ms,
                    raw=raw,
                    time_flag=flag,
                )
            )
        if held:
            outcome.held_messages.append(_rewrap(msg, batch, held))

    pending: dict[str, int] = {}
    for row in rows:
        if row.station_seq > pending.get(row.station_id, 0):
            pending[row.station_id] = row.station_seq
    return Prepared(outcome, rows, quarantine, list(seen.values()), states, answers, pending)


def commit_prepared(prepared: Prepared, store: Store) -> Outcome:
    """Commit a prepared batch in one store transaction; its outcome with the receipts.

    Raises whatever the store raises; then nothing is committed and no receipt is due (and
    the same prepared batch may be committed again)."""
    outcome, rows, quarantine = prepared.outcome, prepared.rows, prepared.quarantine
    seen, states, answers = prepared.seen, prepared.states, prepared.answers

    new: list[bool] = []
    if rows or quarantine or seen:
        wall, cpu = time.perf_counter(), time.thread_time()
        new = store.commit_ingest(rows, quarantine, seen)
        outcome.store_stages = dict(store.last_commit_stages())
        outcome.store_round_trips = store.last_commit_round_trips()
        outcome.store_stages["all"] = (time.perf_counter() - wall, time.thread_time() - cpu)
    outcome.quarantined = len(quarantine)
    outcome.accepted = outcome.duplicate = outcome.rejected = 0
    outcome.receipts = {}
    outcome.stored = [row for row, is_new in zip(rows, new, strict=True) if is_new]
    for update, applied in zip(states, store.update_station_states(states), strict=True):
        if not applied:
            log.info(
                "state of unknown station or older than stored ignored",
                extra={"station_id": update.station_id},
            )

    committed_ns = time.time_ns()
    for topic, items in answers.items():
        if not items:
            continue
        receipt_batch = events_pb2.ReceiptBatch()
        receipt_batch.committed_at.FromNanoseconds(committed_ns)
        for event_id, result in items:
            if isinstance(result, Rejection):
                receipt_batch.receipts.add(
                    event_id=event_id,
                    status=_REJECTED,
                    reason_code=result.reason_code.value,
                    reason=result.reason,
                )
                outcome.rejected += 1
            elif new[result]:
                receipt_batch.receipts.add(event_id=event_id, status=_ACCEPTED)
                outcome.accepted += 1
            else:
                receipt_batch.receipts.add(event_id=event_id, status=_DUPLICATE)
                outcome.duplicate += 1
        outcome.receipts[topic] = receipt_batch
    return outcome


def split_events(msg: Incoming) -> list[Incoming]:
    """One message per event of an events message of several, to find the event a commit
    fails on ([] when there is nothing to split)."""
    batch = decode_batch(msg.payload)
    if isinstance(batch, Rejection) or len(batch.events) <= 1:
        return []
    parts = []
    for raw in batch.events:
        one = events_pb2.EventBatch(events=[raw], oldest_pending_seq=batch.oldest_pending_seq)
        if batch.HasField("sent_at"):
            one.sent_at.CopyFrom(batch.sent_at)
        parts.append(Incoming(msg.topic, one.SerializeToString(), msg.received_at))
    return parts


def reject_unstorable(msg: Incoming, store: Store) -> Outcome:
    """An events message of one event that no commit could store, however often tried:
    quarantined whole and answered REJECTED (invalid_payload), so that its station stops
    re-sending it and no station waits behind it. Raises if the store cannot even keep it
    in quarantine (the store is down: the station re-sends later, nothing is lost)."""
    where = topics.parse(msg.topic)
    batch = decode_batch(msg.payload)
    raw = batch.events[0] if not isinstance(batch, Rejection) and batch.events else msg.payload
    why = reject(Reason.INVALID_PAYLOAD, "the hub could not store it", salvage_event_id(raw))
    store.commit_ingest([], [_quarantine(msg, where.station_id, why, raw)], [])
    outcome = Outcome(quarantined=1)
    if why.event_id:
        receipts = events_pb2.ReceiptBatch()
        receipts.committed_at.GetCurrentTime()
        receipts.receipts.add(
            event_id=why.event_id,
            status=_REJECTED,
            reason_code=why.reason_code.value,
            reason=why.reason,
        )
        outcome.receipts[topics.receipts(where.unit_id, where.station_id)] = receipts
        outcome.rejected = 1
    return outcome


def _validate(
    raw: bytes,
    where: topics.StationTopic,
    stations: Mapping[str, Station],
    limits: IngestLimits,
) -> events_pb2.Event | Rejection:
    """validate_event, and a rejection (not an exception) if a check itself fails: one event
    never stops the writer."""
    try:
        return validate_event(raw, where, stations, limits)
    except Exception as exc:
        log.exception("checking an event failed", extra={"station_id": where.station_id})
        return reject(Reason.INVALID_PAYLOAD, type(exc).__name__, salvage_event_id(raw))


def _held_back(
    seq: int, oldest_pending: int, where: topics.StationTopic, last_seq: dict[str, int]
) -> bool:
    """Keep a station's events in order: hold back one that would jump over a pending gap.

    Every position below ``oldest_pending`` was receipted, and the hub has seen
    every position up to ``last``; a gap between them is still on its way (lost
    with a broker, or published before this hub subscribed, or in another hub
    worker's transaction). A held-back event gets no receipt yet: the worker keeps
    it for a while and tries again as the gap fills (hub.ingest.held); if the gap
    never comes, the station re-sends from the gap after its receipt timeout.
    """
    last = last_seq.get(where.station_id, 0)
    if oldest_pending and seq > max(last, oldest_pending - 1) + 1:
        return True
    last_seq[where.station_id] = max(last, seq)
    return False


def _checked_events(
    msg: Incoming,
    batch: events_pb2.EventBatch,
    where: topics.StationTopic,
    stations: Mapping[str, Station],
    limits: IngestLimits,
) -> Iterator[tuple[bytes, events_pb2.Event | Rejection]]:
    """Each event of a message as it arrived: decoded and checked, or why it is refused."""
    too_big = len(msg.payload) > limits.max_batch_bytes
    for raw in batch.events:
        if too_big:
            yield (
                raw,
                reject(
                    Reason.TOO_LARGE,
                    f"batch of {len(msg.payload)} bytes, at most {limits.max_batch_bytes}",
                    salvage_event_id(raw),
                ),
            )
        else:
            yield raw, _validate(raw, where, stations, limits)


def _rewrap(
    msg: Incoming, batch: events_pb2.EventBatch, held: list[tuple[bytes, events_pb2.Event]]
) -> Incoming:
    """The held events of ``msg`` as one message of their own: the bytes (should a commit
    fail and the message be split or quarantined) and their decoded, checked form."""
    if msg.checked is not None and len(held) == len(msg.checked.events):
        return msg  # all of it held again: nothing to re-wrap
    if msg.checked is None and len(held) == len(batch.events):
        payload = msg.payload  # all of it held: the same bytes
    else:
        payload = _batch_bytes(batch, [raw for raw, _ in held])
    return Incoming(
        msg.topic, payload, msg.received_at, retried=True, checked=Checked(batch, tuple(held))
    )


def _batch_bytes(batch: events_pb2.EventBatch, raws: list[bytes]) -> bytes:
    again = events_pb2.EventBatch(events=raws, oldest_pending_seq=batch.oldest_pending_seq)
    if batch.HasField("sent_at"):
        again.sent_at.CopyFrom(batch.sent_at)
    return again.SerializeToString()


def _quarantine(msg: Incoming, station_id: str, why: Rejection, raw: bytes) -> QuarantineRow:
    return QuarantineRow(
        received_at=iso_from_epoch(msg.received_at),
        topic=msg.topic,
        station_id=station_id,
        event_id=why.event_id,
        reason_code=why.reason_code.value,
        reason=why.reason,
        raw=raw,
    )


def _state_update(
    msg: Incoming, where: topics.StationTopic, limits: IngestLimits
) -> StationStateUpdate | None:
    if not msg.payload:  # a cleared retained message
        return None
    try:
        state = events_pb2.StationState.FromString(msg.payload)
    except (DecodeError, RuntimeError, ValueError):
        log.warning("undecodable station state on %s", msg.topic)
        return None
    problem = check_message(state, limits)
    if problem:
        log.warning("station state out of range on %s: %s", msg.topic, problem[:200])
        return None
    if state.station_id and state.station_id != where.station_id:
        log.warning("station state names another station", extra={"station_id": where.station_id})
        return None
    # States are ordered by their station time, but never one later than its arrival: a
    # station clock that ran fast must not leave a future state that hides every state
    # after the clock was corrected (the station would show offline while it runs).
    # An offline state counts from its arrival: the last will is built when the agent
    # connects, before its birth message, and the broker sends it only when the link dies.
    at = state.at if state.HasField("at") else None
    at_s = msg.received_at
    if at and state.online:
        at_s = min(at.seconds + at.nanos / 1e9, msg.received_at)
    return StationStateUpdate(
        station_id=where.station_id,
        online=state.online,
        state_at=iso_from_epoch(max(at_s, 0.0)),
        agent_version=state.agent_version,
        outbox_depth=state.outbox_depth,
        warnings=tuple(w[:300] for w in state.warnings[:10]),
        clock_offset_ms=int(state.clock_offset_ms) if state.clock_offset_known else None,
    )
