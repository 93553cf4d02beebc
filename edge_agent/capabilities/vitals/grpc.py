"""The gRPC Vitals service: take a set, start/stop a session, watch it; list unassigned readings."""

from __future__ import annotations

import queue
from datetime import datetime

from edge_agent.capabilities.vitals.inbox import InboxEntry, VitalsInbox
from edge_agent.capabilities.vitals.service import VitalsService
from edge_agent.capabilities.vitals.streaming import LiveReading, Session, StreamService
from edge_agent.container import Services
from edge_agent.errors import AgentError
from edge_agent.events import timestamp
from edge_agent.grpc_errors import to_grpc
from edge_agent.grpc_server import GrpcServer
from protos import vitals_pb2
from protos.vitals_codes import BY_MDC

SERVICE = vitals_pb2.DESCRIPTOR.services_by_name["Vitals"]
SERVICE_NAME = SERVICE.full_name  # "puente.v1.Vitals"


def session_pb(s: Session) -> vitals_pb2.VitalsSession:
    out = vitals_pb2.VitalsSession(
        session_id=s.session_id,
        device_id=s.device_id,
        case_id=s.case_id,
        patient_id=s.patient_id,
        active=s.active,
        batches=s.batches,
        readings=s.readings,
        rejected=s.rejected,
        monitor=s.monitor,
    )
    out.started_at.CopyFrom(timestamp(s.started_at))
    if s.stopped_at is not None:
        out.stopped_at.CopyFrom(timestamp(s.stopped_at))
    return out


def live_pb(item: LiveReading) -> vitals_pb2.LiveReading:
    out = vitals_pb2.LiveReading(
        session_id=item.session_id, case_id=item.case_id, reading=item.reading
    )
    if item.rejected is not None:
        out.reject_code = item.rejected.reason_code
        out.reject_reason = item.rejected.reason
    else:
        parameter = BY_MDC.get(item.reading.mdc_code)
        out.loinc = parameter.loinc if parameter else ""
    return out


def entry_pb(e: InboxEntry) -> vitals_pb2.UnassignedEntry:
    out = vitals_pb2.UnassignedEntry(
        entry_id=e.entry_id,
        device_id=e.device_id,
        state=e.state,
        reason_code=e.reason_code,
        reason=e.reason,
        message_id=e.message_id,
        patient_ids=e.patient_ids,
        patient_name=e.patient_name,
        decided_by=e.decided_by,
        case_id=e.case_id,
    )
    out.received_at.FromDatetime(datetime.fromisoformat(e.received_at))
    for d in e.readings:
        r = out.readings.add(
            mdc_code=d["mdc_code"],
            mdc_refid=d["mdc_refid"],
            value=d["value"] if d["value"] is not None else 0.0,
            unit=d["unit"],
            containment=d["containment"],
            flags=d["flags"],
        )
        r.measured_at.FromDatetime(datetime.fromisoformat(d["measured_at"]))
    return out


class VitalsServicer:
    def __init__(self, vitals: VitalsService, streams: StreamService, inbox: VitalsInbox) -> None:
        self.vitals = vitals
        self.streams = streams
        self.inbox = inbox

    def ListUnassigned(self, request, context):  # type: ignore[no-untyped-def]  # grpc's generated servicer and interceptor hooks are untyped
        state = request.state or "pending"
        entries = self.inbox.entries(
            request.device_id or None, None if state == "all" else state, request.limit or 200
        )
        return vitals_pb2.UnassignedReadings(entries=[entry_pb(e) for e in entries])

    def TakeVitals(self, request, context):  # type: ignore[no-untyped-def]  # grpc's generated servicer and interceptor hooks are untyped
        try:
            result = self.vitals.take(
                request.device_id,
                request.case_id,
                request.patient_id,
                request.timeout_s or 10.0,
                request.patient_name,
            )
        except AgentError as exc:
            context.abort(*to_grpc(exc))
        return vitals_pb2.TakeVitalsResponse(
            event_id=result.event_id, station_seq=result.station_seq, observation=result.observation
        )

    def StartSession(self, request, context):  # type: ignore[no-untyped-def]  # grpc's generated servicer and interceptor hooks are untyped
        try:
            session = self.streams.start(
                request.device_id,
                request.case_id,
                request.patient_id,
                request.operator_id,
                request.patient_name,
            )
        except AgentError as exc:
            context.abort(*to_grpc(exc))
        return session_pb(session)

    def StopSession(self, request, context):  # type: ignore[no-untyped-def]  # grpc's generated servicer and interceptor hooks are untyped
        try:
            return session_pb(self.streams.stop(request.session_id))
        except AgentError as exc:
            context.abort(*to_grpc(exc))

    def WatchSession(self, request, context):  # type: ignore[no-untyped-def]  # grpc's generated servicer and interceptor hooks are untyped
        try:
            session = self.streams.get(request.session_id)
        except AgentError as exc:
            context.abort(*to_grpc(exc))
        q = session.subscribe()
        # Tells the client it is subscribed: nothing after this moment is missed.
        context.send_initial_metadata((("puente-subscribed", "1"),))
        try:
            while context.is_active():
                try:
                    item = q.get(timeout=0.5)
                except queue.Empty:
                    continue
                if item is None:
                    return
                yield live_pb(item)
        finally:
            session.unsubscribe(q)


def register(server: GrpcServer, services: Services) -> tuple[str, ...]:
    return (server.add(VitalsServicer(services.vitals, services.streams, services.inbox), SERVICE),)
