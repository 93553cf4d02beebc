"""The puente.v1.Pharmacy gRPC service: the dispensing use cases for native station software."""

from __future__ import annotations

import queue
from collections.abc import Iterator

from edge_agent.capabilities.pharmacy.service import DispensingService, Session, Update
from edge_agent.container import Services
from edge_agent.errors import AgentError
from edge_agent.grpc_errors import to_grpc
from edge_agent.grpc_server import GrpcServer, ServicerContext
from protos import pharmacy_pb2

SERVICE = pharmacy_pb2.DESCRIPTOR.services_by_name["Pharmacy"]
SERVICE_NAME = SERVICE.full_name


def update_pb(u: Update) -> pharmacy_pb2.SessionUpdate:
    out = pharmacy_pb2.SessionUpdate(
        session_id=u.session_id,
        kind=u.kind,
        code=u.code,
        warning=u.warning,
        lines=list(u.lines),
        differences=list(u.differences),
    )
    if u.item is not None:
        out.item.CopyFrom(u.item)
    return out


def session_pb(s: Session) -> pharmacy_pb2.DispensingSession:
    return pharmacy_pb2.DispensingSession(
        session_id=s.session_id,
        case_id=s.case_id,
        patient_id=s.patient_id,
        prescription_id=s.prescription_id,
        state=s.state,
        items=s.items,
        lines=[x.pb() for x in s.lines],
        differences=list(s.differences()),
        refusals=[update_pb(r) for r in s.refusals],
    )


class PharmacyServicer:
    def __init__(self, service: DispensingService) -> None:
        self.service = service

    def _call(self, context: ServicerContext, fn, *args):  # type: ignore[no-untyped-def]  # grpc's generated servicer and interceptor hooks are untyped
        try:
            return fn(*args)
        except AgentError as exc:
            code, details = to_grpc(exc)
            context.abort(code, details)

    def OpenSession(self, request, context):  # type: ignore[no-untyped-def]  # grpc's generated servicer and interceptor hooks are untyped
        r = request
        lines = [(x.product_code, x.quantity, x.duration_days) for x in r.lines]
        s = self._call(
            context,
            self.service.open,
            r.case_id,
            r.patient_id,
            r.prescription_id,
            lines,
            r.pharmacist_id,
            r.scanner_device_id,
        )
        return session_pb(s)

    def Scan(self, request, context):  # type: ignore[no-untyped-def]  # grpc's generated servicer and interceptor hooks are untyped
        return update_pb(self._call(context, self.service.scan, request.session_id, request.raw))

    def GetSession(self, request, context):  # type: ignore[no-untyped-def]  # grpc's generated servicer and interceptor hooks are untyped
        return session_pb(self._call(context, self.service.get, request.session_id))

    def CancelSession(self, request, context):  # type: ignore[no-untyped-def]  # grpc's generated servicer and interceptor hooks are untyped
        return session_pb(self._call(context, self.service.cancel, request.session_id))

    def FinishSession(self, request, context):  # type: ignore[no-untyped-def]  # grpc's generated servicer and interceptor hooks are untyped
        result = self._call(
            context, self.service.finish, request.session_id, request.fingerprint_device_id
        )
        return pharmacy_pb2.DispensingResult(
            event_id=result.event_id,
            station_seq=result.station_seq,
            confirmation_event_id=result.confirmation_event_id,
            session=session_pb(result.session),
        )

    def WatchSession(self, request, context) -> Iterator[pharmacy_pb2.SessionUpdate]:  # type: ignore[no-untyped-def]  # grpc's generated servicer and interceptor hooks are untyped
        session = self._call(context, self.service.get, request.session_id)
        q = self._call(context, session.subscribe)
        try:
            while context.is_active():
                try:
                    u = q.get(timeout=0.2)
                except queue.Empty:
                    continue
                if u is None:
                    return
                yield update_pb(u)
        finally:
            session.unsubscribe(q)


def register(server: GrpcServer, services: Services) -> tuple[str, ...]:
    return (server.add(PharmacyServicer(services.pharmacy), SERVICE),)
