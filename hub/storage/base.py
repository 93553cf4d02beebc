"""The storage interface of the hub: the `Store` protocol, its records and its errors."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

T = TypeVar("T")


if TYPE_CHECKING:
    from hub.storage.biometrics import TemplateVault
    from hub.storage.case_queries import CaseQueries
    from hub.storage.case_views import CaseViewLog
    from hub.storage.dispensing import DispensingStore
    from hub.storage.documents import DocumentRevision
    from hub.storage.readings import Readings
    from hub.storage.registry import RegistryStore
    from hub.storage.scans import ScanStore
    from hub.storage.signatures import SignatureStore
    from hub.storage.station_key_history import KeyHistory
    from hub.storage.web_users import WebUserStore


class SqlConnection(Protocol):
    """What projections and repositories call on a connection: sqlite3.Connection, or the
    PostgreSQL facade of hub.storage.pg_sql (same SQL, translated)."""

    def execute(self, sql: str, args: Any = ..., /) -> Any: ...

    def executemany(self, sql: str, args: Any, /) -> Any: ...


class Connections(Protocol):
    """A store as the repositories outside its class see it: statements on a connection
    (`_conn`, autocommit reads) and write transactions (`_write`), either backend."""

    def _conn(self) -> SqlConnection: ...

    def _write(self) -> AbstractContextManager[SqlConnection]: ...


class StoreError(Exception):
    """A storage failure with a machine-readable code and a human (bilingual) reason."""

    code = "store_error"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotFound(StoreError):
    code = "not_found"


class Conflict(StoreError):
    code = "conflict"


class Duplicate(Exception):
    """A unique key refused a row (raised by the PostgreSQL facade; SQLite raises
    sqlite3.IntegrityError): repositories turn it into `Conflict`."""


@dataclass(frozen=True, slots=True)
class EventRow:
    """One accepted event as ingest hands it to the store."""

    event_id: str
    station_id: str
    unit_id: str
    device_id: str
    case_id: str
    patient_id: str
    kind: str
    occurred_at: str
    station_seq: int
    received_at: str
    clock_offset_ms: int
    raw: bytes
    # '' or why the time cannot be trusted (hub.ingest.clock: station_clock_off, time_unverified)
    time_flag: str = ""


@dataclass(frozen=True, slots=True)
class QuarantineRow:
    """Bytes that will never become an event, and why."""

    received_at: str
    topic: str
    station_id: str
    event_id: str | None
    reason_code: str
    reason: str
    raw: bytes


@dataclass(frozen=True, slots=True)
class StationSeen:
    """What one ingest batch tells about a station: when it was heard and its clock offset."""

    station_id: str
    last_seen_at: str
    clock_offset_ms: int
    known: bool = False  # the station's own estimate (else received - sent_at, an upper bound)


@dataclass(frozen=True, slots=True)
class StationStateUpdate:
    """A station's retained state message (birth, last will, clean stop)."""

    station_id: str
    online: bool
    state_at: str
    agent_version: str
    outbox_depth: int
    warnings: tuple[str, ...] = ()
    clock_offset_ms: int | None = None  # the station's own estimate, when it has one


@dataclass(frozen=True, slots=True)
class Station:
    station_id: str
    unit_id: str
    registered_at: str
    retired_at: str | None
    online: bool
    last_seen_at: str | None
    state_at: str | None
    clock_offset_ms: int | None
    agent_version: str | None
    outbox_depth: int | None
    event_count: int = 0
    warnings: tuple[str, ...] = ()  # what the station says ops should know (bilingual)
    clock_offset_known: bool = False  # clock_offset_ms is the station's round-trip estimate

    @property
    def retired(self) -> bool:
        return self.retired_at is not None


@dataclass(frozen=True, slots=True)
class Case:
    case_id: str
    patient_id: str
    unit_id: str
    opened_at: str
    closed_at: str | None
    opened_by: str


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """An event as read back: envelope columns plus the payload as a JSON object."""

    ingest_seq: int
    event_id: str
    station_id: str
    unit_id: str
    device_id: str
    case_id: str
    patient_id: str
    kind: str
    occurred_at: str
    station_seq: int
    received_at: str
    clock_offset_ms: int
    payload: dict[str, object]
    # Why the payload is not shown (an event stored by an older hub that fails today's
    # checks); None when it is shown.
    problem: str | None = None
    time_flag: str = ""


@dataclass(frozen=True, slots=True)
class QuarantineEntry:
    id: int
    received_at: str
    topic: str
    station_id: str
    event_id: str | None
    reason_code: str
    reason: str
    size: int
    reingested_at: str | None = None  # when ops re-ingested it (hub.ingest.reingest)
    reingest_outcome: str = ""  # accepted, duplicate, or rejected: <reason>


@dataclass(frozen=True, slots=True)
class QuarantinedBytes:
    """What re-ingest needs of a quarantine entry: where and when it came, and its bytes."""

    id: int
    topic: str
    received_at: str
    raw: bytes


@dataclass(frozen=True, slots=True)
class ApiToken:
    token_sha256: str
    name: str
    role: str
    created_at: str
    revoked_at: str | None


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """A page of a newest-first list; `next_cursor` fetches the older rest (None at the end)."""

    items: list[T]
    next_cursor: str | None


class Store(Protocol):
    """The hub's one storage entry point: ingest, cases, events, stations and tokens here, and
    one repository per read model or registry below. Nothing outside `hub.storage` opens a
    connection or writes SQL: it asks a `Store` (SQLite or PostgreSQL, by `database_url`)."""

    # repositories (each made once per store and shared by threads)
    def readings(self) -> Readings:
        """The vitals read model (sets, readings, sessions), filled inside ingest."""
        ...

    def scans(self) -> ScanStore: ...

    def signatures(self) -> SignatureStore:
        """Signature verdicts and workflows of signed documents."""
        ...

    def key_history(self) -> KeyHistory:
        """Every public key each station has had, from when."""
        ...

    def template_vault(self, key: bytes) -> TemplateVault:
        """The fingerprint template vault, sealed with ``key`` (AES-GCM)."""
        ...

    def registry(self) -> RegistryStore:
        """Units, devices, enrollment codes, certificates and station configs."""
        ...

    def web_users(self) -> WebUserStore: ...

    def case_views(self) -> CaseViewLog:
        """The audit log of who opened which case."""
        ...

    def case_queries(self) -> CaseQueries:
        """The console's case search and per-case counts."""
        ...

    def dispensing(self) -> DispensingStore:
        """Dispensed medicines (read model of migration 900) and the pharmacy catalogue."""
        ...

    def live_fanout(self) -> LiveFanout | None:
        """Cross-process news of newly stored vital sets (PostgreSQL LISTEN/NOTIFY); None
        when one process does everything (SQLite: ingest's after-commit hook suffices)."""
        ...

    def migrate(self) -> int:
        """Bring the schema up to date (idempotent); return the schema version."""
        ...

    def ping(self) -> bool: ...

    def probe_write(self, holder: str, at: str, timeout_s: float) -> None:
        """Write and commit ``holder``'s heartbeat row within ``timeout_s``; raise a
        ``StoreError`` (``hub.storage.heartbeat.WriteFailed``) naming why it cannot."""
        ...

    def close(self) -> None: ...

    # ingest
    def commit_ingest(
        self,
        events: Sequence[EventRow],
        quarantine: Sequence[QuarantineRow],
        seen: Sequence[StationSeen],
    ) -> list[bool]:
        """Store a batch in ONE transaction; per event True if new, False if a duplicate."""
        ...

    def last_commit_stages(self) -> Mapping[str, tuple[float, float]]:
        """Of this thread's last `commit_ingest`: stage → (wall s, this thread's CPU s);
        empty where the backend does not split its commit."""
        ...

    def last_commit_round_trips(self) -> int:
        """Of this thread's last `commit_ingest`: the round trips to a database server (each
        waits for the server process); 0 for an embedded database."""
        ...

    def stations_by_id(self, station_ids: Sequence[str]) -> Mapping[str, Station]: ...

    def set_station_key(self, station_id: str, public_key_pem: str, at: str) -> str:
        """Record the station's public key (PEM); returns its SHA-256 (hex, of the DER)."""
        ...

    def station_key(self, station_id: str) -> str | None:
        """The station's public key (PEM), if one was set."""
        ...

    def list_documents(
        self,
        *,
        case_id: str | None = None,
        document_type: str | None = None,
        since: str | None = None,
        until: str | None = None,
        limit: int = 50,
        before: str | None = None,
        origin: str | None = None,
    ) -> Page[DocumentRevision]:
        """Document revisions (signed and scanned) newest first, filtered."""
        ...

    def document_revisions(self, document_id: str) -> list[DocumentRevision]:
        """A document's revisions in signing order."""
        ...

    def last_station_seqs(self, station_ids: Sequence[str]) -> Mapping[str, int]:
        """Highest ``station_seq`` stored per station (0 when none): the ordering gate's state."""
        ...

    def update_station_state(self, update: StationStateUpdate) -> bool:
        """Apply a state message if the station is known and it is newer; True if applied."""
        ...

    def update_station_states(self, updates: Sequence[StationStateUpdate]) -> list[bool]:
        """`update_station_state` for each, in order (on PostgreSQL in one transaction)."""
        ...

    def render_pending_payloads(self, limit: int, stop: Callable[[], bool] | None = None) -> int:
        """Fill payload_json of up to `limit` events stored without it; return how many.

        `stop` is asked every few events: once it answers True, what is rendered so far is
        written (one transaction) and the call returns, so a caller that renders while idle
        is back to its work within a few events' rendering."""
        ...

    # cases
    def open_case(self, case: Case) -> tuple[Case, bool]:
        """Open a case; (case, True) if created, (existing, False) if identical; Conflict."""
        ...

    def close_case(self, case_id: str, closed_at: str) -> Case: ...

    def get_case(self, case_id: str) -> Case | None: ...

    def list_cases(
        self, patient_id: str | None, unit_id: str | None, limit: int, before: str | None
    ) -> Page[Case]: ...

    # events
    def case_timeline(self, case_id: str, limit: int, before: str | None) -> Page[StoredEvent]: ...

    def get_event(self, event_id: str) -> StoredEvent | None: ...

    def unmatched_events(self, limit: int, before: str | None) -> Page[StoredEvent]: ...

    def list_quarantine(self, limit: int, before: str | None) -> Page[QuarantineEntry]: ...

    def get_quarantined(self, quarantine_id: int) -> QuarantinedBytes | None: ...

    def mark_reingested(self, quarantine_id: int, at: str, outcome: str) -> None: ...

    # stations
    def register_station(self, station_id: str, unit_id: str, at: str) -> tuple[Station, bool]:
        """(station, True) if registered now, (existing, False) if identical; Conflict."""
        ...

    def retire_station(self, station_id: str, at: str) -> Station: ...

    def get_station(self, station_id: str) -> Station | None: ...

    def list_stations(self) -> list[Station]: ...

    # API tokens (only their SHA-256 is ever stored)
    def add_token(self, token: ApiToken) -> None: ...

    def find_token(self, token_sha256: str) -> ApiToken | None: ...

    def revoke_tokens(self, name: str, at: str) -> int: ...

    def list_tokens(self) -> list[ApiToken]: ...


class LiveFanout(Protocol):
    def announce(self, stored: Sequence[tuple[str, str]]) -> None:
        """Tell every listening process: these (case_id, event_id) were just committed."""
        ...

    def listen(self, on_stored: Callable[[list[tuple[str, str]]], None]) -> Callable[[], None]:
        """Call `on_stored` (on a listener thread) for each announcement; returns stop()."""
        ...
