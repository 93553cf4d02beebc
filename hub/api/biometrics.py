"""Fingerprint templates for stations, and a case's biometric confirmations with their verdicts.

Stations authenticate with their own API token (role ``station``, the token's
name is the station id, minted by ops: ``puente hub token create --role
station --name <station_id>``); a retired or unregistered station is refused,
and a station gets a patient's templates only while that patient has an open
case in the station's unit (403 ``patient_not_in_unit`` otherwise).
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from google.protobuf import json_format
from pydantic import BaseModel, Field

from hub.api.deps import Reader, StationCaller, StoreDep
from hub.api.problems import ApiError
from hub.biometrics import SignatureCheck, b64, unit_check
from hub.services import confirmations
from hub.storage.base import Case
from hub.storage.biometrics import TemplateVault, VaultingStore, load_key
from protos import events_pb2

router = APIRouter(tags=["biometrics"])


def _vault(request: Request) -> TemplateVault:
    store = request.app.state.store
    if isinstance(store, VaultingStore):
        return store.vault
    vault: TemplateVault | None = getattr(request.app.state, "fingerprint_vault", None)
    if vault is None:
        s = request.app.state.settings
        key = s.fingerprint_key.get_secret_value() if s.fingerprint_key else None
        vault = store.template_vault(load_key(key, s.data_dir))
        request.app.state.fingerprint_vault = vault
    return vault


class TemplateOut(BaseModel):
    event_id: str
    finger: str
    finger_code: int
    template_format: str
    template: str = Field(description="base64 of the ISO/IEC 19794-2:2011 record")
    template_sha256: str
    enrolled_at: str
    station_id: str


class TemplatesOut(BaseModel):
    patient_id: str
    templates: list[TemplateOut]


@router.get("/v1/patients/{patient_id}/fingerprint-templates", response_model=TemplatesOut)
def patient_templates(
    patient_id: str, caller: StationCaller, store: StoreDep, request: Request
) -> TemplatesOut:
    """The newest enrolled template of each finger of the patient (stations only)."""
    station = store.get_station(caller.name)
    if station is None or station.retired:
        raise ApiError(
            403,
            "station_not_active",
            "Forbidden / Prohibido",
            f"station {caller.name} is not registered or is retired / "
            f"la estación {caller.name} no está registrada o está retirada",
        )
    if not _has_open_case(store, patient_id, station.unit_id):
        raise ApiError(
            403,
            "patient_not_in_unit",
            "Forbidden / Prohibido",
            f"patient {patient_id} has no open case in unit {station.unit_id} of station "
            f"{caller.name}: templates are given only for patients being served there / "
            f"el paciente {patient_id} no tiene un caso abierto en la unidad "
            f"{station.unit_id}: solo se entregan plantillas de pacientes atendidos allí",
        )
    return TemplatesOut(
        patient_id=patient_id,
        templates=[
            TemplateOut(
                event_id=t.event_id,
                finger=events_pb2.Finger.Name(t.finger),
                finger_code=t.finger,
                template_format=t.template_format,
                template=b64(t.template),
                template_sha256=t.template_sha256,
                enrolled_at=t.enrolled_at,
                station_id=t.station_id,
            )
            for t in _vault(request).latest(patient_id)
        ],
    )


def _has_open_case(store: Any, patient_id: str, unit_id: str) -> bool:
    before = None
    while True:
        page = store.list_cases(patient_id, unit_id, 200, before)
        if any(c.closed_at is None for c in page.items):
            return True
        if not page.next_cursor:
            return False
        before = page.next_cursor


class ConfirmationOut(BaseModel):
    event_id: str
    occurred_at: str
    station_id: str
    device_id: str
    step: str
    decision: str
    score: float
    threshold: float
    quality: int
    finger: str
    reader: dict[str, Any]
    operator_id: str
    probe_template_sha256: str
    signature_valid: bool
    signature_problem: str = Field(description="'' when valid; no_station_key, bad_signature...")
    station_unit_id: str = Field(description="unit of the station that signed (verified at ingest)")
    cross_unit: bool = Field(
        description="signed by a station of another unit than the case's: shown, not hidden; "
        "it may be legitimate (referral, visiting team) and is left to a person to judge"
    )
    cross_unit_note: str = Field(description="Spanish / English words when cross_unit, else ''")


class StepOut(BaseModel):
    step: str
    required: bool
    status: str = Field(description="confirmed, failed, invalid_signature or missing")


class CaseBiometricsOut(BaseModel):
    case_id: str
    patient_id: str
    steps: list[StepOut]
    confirmations: list[ConfirmationOut]
    cross_unit_confirmations: int = Field(
        description="how many confirmations were signed by a station of another unit"
    )


def checked_confirmations(
    request: Request, store: Any, case: Case
) -> list[tuple[events_pb2.Event, SignatureCheck]]:
    """The case's confirmations, oldest first, each with its signature verdict (the station
    key valid when it occurred, from the key history)."""
    return confirmations.checked_confirmations(store, case)


def case_steps(
    request: Request, checked: list[tuple[events_pb2.Event, SignatureCheck]]
) -> list[StepOut]:
    """Each required step, then each other step seen, with its status."""
    required = list(request.app.state.settings.biometric_required_steps)
    return [
        StepOut(step=s.step, required=s.required, status=s.status)
        for s in confirmations.step_statuses(required, checked)
    ]


@router.get("/v1/cases/{case_id}/biometrics", response_model=CaseBiometricsOut)
def case_biometrics(
    case_id: str, _caller: Reader, store: StoreDep, request: Request
) -> CaseBiometricsOut:
    """Every biometric confirmation of the case with its verified station signature, and the
    state of each step: a required step without a valid match shows failed or missing."""
    case = store.get_case(case_id)
    if case is None:
        raise ApiError(404, "case_not_found", "Not found / No encontrado", f"no case {case_id}")
    checked = checked_confirmations(request, store, case)
    out = []
    for event, check in checked:
        c = event.biometric_confirmation
        units = unit_check(event, case.unit_id)
        out.append(
            ConfirmationOut(
                event_id=event.event_id,
                occurred_at=event.occurred_at.ToJsonString(),
                station_id=event.station_id,
                device_id=event.device_id,
                step=c.step,
                decision=events_pb2.ConfirmationDecision.Name(c.decision),
                score=c.score,
                threshold=c.threshold,
                quality=c.quality,
                finger=events_pb2.Finger.Name(c.finger),
                reader=json_format.MessageToDict(c.reader, preserving_proto_field_name=True),
                operator_id=c.operator_id,
                probe_template_sha256=c.probe_template_sha256.hex(),
                signature_valid=check.valid,
                signature_problem=check.problem,
                station_unit_id=units.station_unit_id,
                cross_unit=units.cross_unit,
                cross_unit_note=units.note(),
            )
        )
    return CaseBiometricsOut(
        case_id=case_id,
        patient_id=case.patient_id,
        steps=case_steps(request, checked),
        confirmations=out,
        cross_unit_confirmations=sum(1 for x in out if x.cross_unit),
    )
