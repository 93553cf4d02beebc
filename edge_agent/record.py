"""Recording a fact: validate what the caller gave, build the Event, make it durable."""

from __future__ import annotations

import logging
import re
from datetime import UTC, datetime, timedelta

from google.protobuf.message import Message

from edge_agent.errors import InvalidInput
from edge_agent.events import PAYLOAD_NAMES, build_event
from edge_agent.outbox import Outbox
from edge_agent.settings import AgentSettings
from protos import events_pb2
from protos.topics import TopicError, check_id

log = logging.getLogger(__name__)

# Case and patient ids are not topic levels, but they travel into logs, FHIR and HL7:
# printable, no spaces or separators of those formats.
_REF = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/-]{0,127}$")
_MAX_FUTURE = timedelta(minutes=5)


class RecordService:
    def __init__(self, settings: AgentSettings, outbox: Outbox) -> None:
        self.settings = settings
        self.outbox = outbox

    def build(
        self,
        *,
        payload_name: str,
        payload: Message,
        device_id: str = "",
        case_id: str = "",
        patient_id: str = "",
        occurred_at: datetime | None = None,
    ) -> events_pb2.Event:
        """Validate and build the Event (raises InvalidInput)."""
        if payload_name not in PAYLOAD_NAMES:
            raise InvalidInput(
                f"payload must be one of {', '.join(PAYLOAD_NAMES)}, not {payload_name!r} / "
                "el contenido debe ser uno de los tipos del contrato"
            )
        if device_id:
            try:
                check_id("device", device_id)
            except TopicError as exc:
                raise InvalidInput(str(exc), code="invalid_device_id") from exc
        for name, value in (("case_id", case_id), ("patient_id", patient_id)):
            if value and not _REF.match(value):
                raise InvalidInput(
                    f"{name} {value!r} is not valid: 1-128 letters, digits, '.', '_', ':', '/' "
                    f"or '-' / {name} no es válido",
                    code=f"invalid_{name}",
                )
        if payload_name != "device_status" and not (case_id and patient_id):
            raise InvalidInput(
                "a clinical fact needs case_id and patient_id / "
                "un hecho clínico necesita case_id y patient_id",
                code="missing_field",
            )
        if occurred_at is not None:
            if occurred_at.tzinfo is None:
                raise InvalidInput(
                    "occurred_at needs a time zone (e.g. 2025-01-31T14:05:00Z) / "
                    "occurred_at necesita zona horaria",
                    code="bad_timestamp",
                )
            if occurred_at - datetime.now(UTC) > _MAX_FUTURE:
                raise InvalidInput(
                    "occurred_at is in the future / occurred_at está en el futuro",
                    code="bad_timestamp",
                )
        return build_event(
            station_id=self.settings.station_id,
            unit_id=self.settings.unit_id,
            payload_name=payload_name,
            payload=payload,
            device_id=device_id,
            case_id=case_id,
            patient_id=patient_id,
            occurred_at=occurred_at,
        )

    def record(self, **kwargs: object) -> tuple[str, int]:
        """Build and append; returns (event_id, station_seq) once durable."""
        event = self.build(**kwargs)  # type: ignore[arg-type]  # build's keywords, passed through
        return self._logged(self.outbox.append(event), event)

    async def record_async(self, **kwargs: object) -> tuple[str, int]:
        event = self.build(**kwargs)  # type: ignore[arg-type]  # build's keywords, passed through
        return self._logged(await self.outbox.append_async(event), event)

    def _logged(self, result: tuple[str, int], event: events_pb2.Event) -> tuple[str, int]:
        log.debug(
            "recorded %s seq=%d",
            event.WhichOneof("payload"),
            result[1],
            extra={"event_id": result[0], "case_id": event.case_id or "-"},
        )
        return result
