"""JSON shapes of the API (pydantic models), built from the store's records."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, Field, field_validator

from hub.storage.base import ApiToken, Case, QuarantineEntry, Station, StoredEvent
from hub.storage.console_facts import PatientFacts
from hub.tokens import Role
from protos.topics import TopicError, check_id

_ID = Field(min_length=1, max_length=128, pattern=r"^[^\s/]+$")


class CaseIn(BaseModel):
    case_id: str = _ID
    patient_id: str = Field(min_length=1, max_length=64, description="Affiliation number")
    unit_id: str = _ID
    # Who the patient is, as the clinic's system knows it (optional; stored with the case).
    patient_name: str | None = Field(
        None, min_length=1, max_length=200, description="Patient's full name / nombre"
    )
    sex: Literal["female", "male", "other", "unknown"] | None = Field(
        None, description="Administrative sex / sexo"
    )
    birth_date: date | None = Field(None, description="YYYY-MM-DD / fecha de nacimiento")

    @field_validator("patient_name")
    @classmethod
    def _printable_name(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = " ".join(value.split())
        if not value or not value.isprintable():
            raise ValueError("name must be printable text / el nombre debe ser texto imprimible")
        return value

    @field_validator("birth_date")
    @classmethod
    def _plausible_birth(cls, value: date | None) -> date | None:
        if value is not None and not date(1900, 1, 1) <= value <= date.today():
            raise ValueError(
                "birth date must be between 1900-01-01 and today / "
                "la fecha de nacimiento debe estar entre 1900-01-01 y hoy"
            )
        return value


class CaseOut(BaseModel):
    case_id: str
    patient_id: str = Field(description="Affiliation number / número de afiliado")
    unit_id: str
    opened_at: str
    closed_at: str | None
    opened_by: str
    patient_name: str | None = None
    sex: str | None = None
    birth_date: str | None = None

    @classmethod
    def of(cls, case: Case, patient: PatientFacts | None = None) -> CaseOut:
        return cls(
            case_id=case.case_id,
            patient_id=case.patient_id,
            unit_id=case.unit_id,
            opened_at=case.opened_at,
            closed_at=case.closed_at,
            opened_by=case.opened_by,
            patient_name=(patient.name or None) if patient else None,
            sex=(patient.sex or None) if patient else None,
            birth_date=(patient.birth_date or None) if patient else None,
        )


class EventOut(BaseModel):
    event_id: str
    kind: str = Field(description="Payload kind, e.g. vital_signs, biometric_confirmation")
    occurred_at: str
    station_id: str
    unit_id: str
    device_id: str
    case_id: str
    patient_id: str
    station_seq: int
    received_at: str
    clock_offset_ms: int
    time_flag: str = Field(
        default="",
        description="'' when occurred_at can be trusted; 'station_clock_off' (the station "
        "clock was off from the hub's, see clock_offset_ms = hub - station) or "
        "'time_unverified' (far from the hub's time and no estimate of the station clock)",
    )
    payload: dict[str, Any]
    problem: str | None = Field(
        default=None,
        description="Set when the stored event fails the hub's checks (stored by an older "
        "hub): why, in English / Spanish; its payload is then not shown ({}).",
    )

    @classmethod
    def of(cls, event: StoredEvent) -> EventOut:
        return cls(
            event_id=event.event_id,
            kind=event.kind,
            occurred_at=event.occurred_at,
            station_id=event.station_id,
            unit_id=event.unit_id,
            device_id=event.device_id,
            case_id=event.case_id,
            patient_id=event.patient_id,
            station_seq=event.station_seq,
            received_at=event.received_at,
            clock_offset_ms=event.clock_offset_ms,
            time_flag=event.time_flag,
            payload=event.payload,
            problem=event.problem,
        )


class CaseDetail(CaseOut):
    timeline: list[EventOut] = Field(description="Events of the case, newest first")
    next_cursor: str | None = Field(description="Pass as ?before= for older events")


class CasePage(BaseModel):
    items: list[CaseOut]
    next_cursor: str | None


class EventPage(BaseModel):
    items: list[EventOut]
    next_cursor: str | None


class QuarantineOut(BaseModel):
    id: int
    received_at: str
    topic: str
    station_id: str
    event_id: str | None
    reason_code: str
    reason: str
    size: int
    reingested_at: str | None = None
    reingest_outcome: str = ""

    @classmethod
    def of(cls, entry: QuarantineEntry) -> QuarantineOut:
        return cls(
            id=entry.id,
            received_at=entry.received_at,
            topic=entry.topic,
            station_id=entry.station_id,
            event_id=entry.event_id,
            reason_code=entry.reason_code,
            reason=entry.reason,
            size=entry.size,
            reingested_at=entry.reingested_at,
            reingest_outcome=entry.reingest_outcome,
        )


class ReingestOut(BaseModel):
    quarantine_id: int
    event_id: str
    outcome: str = Field(description="accepted (now on its case), duplicate, or rejected")
    reason: str = Field(default="", description="Why it was refused again (es/en)")


class QuarantinePage(BaseModel):
    items: list[QuarantineOut]
    next_cursor: str | None


class StationIn(BaseModel):
    station_id: str
    unit_id: str

    @field_validator("station_id", "unit_id")
    @classmethod
    def _topic_level(cls, value: str, info: Any) -> str:
        try:
            return check_id(info.field_name.removesuffix("_id"), value)
        except TopicError as exc:
            raise ValueError(str(exc)) from exc


class StationOut(BaseModel):
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
    event_count: int
    clock_offset_known: bool = Field(
        default=False,
        description="clock_offset_ms (hub - station) is the station's round-trip estimate; "
        "false: received - sent_at, an upper bound that includes network and queue waits",
    )
    warnings: list[str] = Field(default_factory=list, description="What the station reports")

    @classmethod
    def of(cls, s: Station) -> StationOut:
        return cls(
            station_id=s.station_id,
            unit_id=s.unit_id,
            registered_at=s.registered_at,
            retired_at=s.retired_at,
            online=s.online,
            last_seen_at=s.last_seen_at,
            state_at=s.state_at,
            clock_offset_ms=s.clock_offset_ms,
            agent_version=s.agent_version,
            outbox_depth=s.outbox_depth,
            event_count=s.event_count,
            clock_offset_known=s.clock_offset_known,
            warnings=list(s.warnings),
        )


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    role: Role


class TokenCreated(BaseModel):
    name: str
    role: Role
    token: str = Field(description="Shown once; the hub keeps only its SHA-256")


class TokenOut(BaseModel):
    name: str
    role: str
    created_at: str
    revoked_at: str | None
    sha256_prefix: str

    @classmethod
    def of(cls, t: ApiToken) -> TokenOut:
        return cls(
            name=t.name,
            role=t.role,
            created_at=t.created_at,
            revoked_at=t.revoked_at,
            sha256_prefix=t.token_sha256[:12],
        )


class RevokeResult(BaseModel):
    name: str
    revoked: int
