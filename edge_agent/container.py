"""The services container: every use-case object of a running agent, typed, for both transports.

Built once by :class:`edge_agent.service.AgentService`; the HTTP routers read it
through :func:`edge_agent.api.deps.services`, and each capability's ``grpc.register``
takes it. The types are imported for checking only, so building the container
loads no capability's libraries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from edge_agent.audit import AuditLog
    from edge_agent.capabilities.activity.service import ActivityBoard
    from edge_agent.capabilities.fingerprint.service import FingerprintService
    from edge_agent.capabilities.pairing.service import PairingStore
    from edge_agent.capabilities.pharmacy.service import DispensingService
    from edge_agent.capabilities.scanning.service import ScanService
    from edge_agent.capabilities.signing.service import SigningService
    from edge_agent.capabilities.status.service import StatusService
    from edge_agent.capabilities.vitals.inbox import VitalsInbox
    from edge_agent.capabilities.vitals.router import VitalsRouter
    from edge_agent.capabilities.vitals.service import VitalsService
    from edge_agent.capabilities.vitals.streaming import StreamService
    from edge_agent.identity import StationIdentity
    from edge_agent.metrics import AgentMetrics
    from edge_agent.operator_pin import OperatorPin
    from edge_agent.record import RecordService


@dataclass(frozen=True)
class Services:
    record: RecordService
    status: StatusService
    metrics: AgentMetrics
    identity: StationIdentity
    vitals: VitalsService
    streams: StreamService
    inbox: VitalsInbox
    vitals_router: VitalsRouter
    fingerprint: FingerprintService
    scan: ScanService
    signing: SigningService
    pharmacy: DispensingService
    pairings: PairingStore
    audit: AuditLog
    activity: ActivityBoard
    operator_pin: OperatorPin
    http_url: Callable[[], str]  # the agent's own HTTP address (pages named in gRPC answers)
