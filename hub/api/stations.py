"""Stations: register, retire, and read their online state, clock offset and outbox."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel

from hub.api.deps import Caller, Ops, StoreDep, require
from hub.api.models import StationIn, StationOut
from hub.api.problems import ApiError
from hub.ingest.timefmt import now_iso
from hub.storage.keys import BadPublicKey
from hub.tokens import Role

router = APIRouter(prefix="/v1/stations", tags=["stations"])

StationReader = Annotated[Caller, Depends(require(Role.OPS, Role.READONLY))]


@router.post("", status_code=201, response_model=StationOut)
def register(body: StationIn, _caller: Ops, store: StoreDep, response: Response) -> StationOut:
    """Register a station (201); the same registration again is 200; another unit is 409."""
    station, created = store.register_station(body.station_id, body.unit_id, now_iso())
    if not created:
        response.status_code = 200
    return StationOut.of(station)


class StationKeyIn(BaseModel):
    public_key_pem: str


class StationKeyOut(BaseModel):
    station_id: str
    key_sha256: str


@router.put("/{station_id}/key", response_model=StationKeyOut)
def set_key(station_id: str, body: StationKeyIn, _caller: Ops, store: StoreDep) -> StationKeyOut:
    """Set the public key the station signs its attestations with (ops, or enrollment)."""
    try:
        digest = store.set_station_key(station_id, body.public_key_pem, now_iso())
    except BadPublicKey as exc:
        raise ApiError(422, "bad_public_key", "Invalid key / Clave no válida", str(exc)) from exc
    return StationKeyOut(station_id=station_id, key_sha256=digest)


@router.post("/{station_id}/retire", response_model=StationOut)
def retire(station_id: str, _caller: Ops, store: StoreDep, request: Request) -> StationOut:
    """Retire a station: its certificates are revoked (CRL, ACL, broker reloaded); events
    that occurred after the retirement are rejected (RETIRED_STATION), its backlog before it
    is still accepted."""
    station = store.retire_station(station_id, now_iso())
    fleet = getattr(request.app.state, "fleet", None)
    if fleet is not None and station.retired_at is not None:
        fleet.on_retired(station_id, station.retired_at)
    return StationOut.of(station)


@router.get("", response_model=list[StationOut])
def list_stations(_caller: StationReader, store: StoreDep) -> list[StationOut]:
    return [StationOut.of(s) for s in store.list_stations()]


@router.get("/{station_id}", response_model=StationOut)
def get_station(station_id: str, _caller: StationReader, store: StoreDep) -> StationOut:
    station = store.get_station(station_id)
    if station is None:
        raise ApiError(
            404,
            "station_not_found",
            "Not found / No encontrado",
            f"no station {station_id} / no existe la estación {station_id}",
        )
    return StationOut.of(station)
