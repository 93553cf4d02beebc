"""How a consented job is signed: one :class:`SignatureMethod` protocol, two implementations.

In the spirit of pyHanko's ``Signer``: the service decides *whether* a job may
be signed (states, consent, policy); a method knows *how*. ADVANCED signs the
PDF with the user's token (PAdES, pades.py) after the revocation gate;
SIMPLE signs, with the station key, a statement naming the PDF's hash and the
user the clinical system asserts (detached: the PDF stays as it came). Both
keep the PDF as a body first and answer the ``SignedDocument`` payload that
the service records.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from types import ModuleType
from typing import Any, Protocol

from drivers.token.base import KeyType, PinRequired
from edge_agent.bodies import BodyUploader
from edge_agent.capabilities.signing import certificates, pdf_files
from edge_agent.capabilities.signing.errors import SigningFailed
from edge_agent.capabilities.signing.inputs import JobInputs
from edge_agent.capabilities.signing.job import ADVANCED, SIMPLE, SigningJob
from edge_agent.capabilities.signing.settings import SigningSettings
from edge_agent.devices import DeviceManager
from edge_agent.events import timestamp
from edge_agent.identity import StationIdentity
from protos import events_pb2
from protos.document_types import DOCUMENT_TYPES, ROLES
from protos.simple_signature import SIGNATURE_ALGORITHM, Statement

_REVOCATION = {
    "good": events_pb2.REVOCATION_GOOD,
    "pending": events_pb2.REVOCATION_PENDING,
}
_LEVELS = {
    "B-B": events_pb2.PADES_B_B,
    "B-T": events_pb2.PADES_B_T,
    "B-LT": events_pb2.PADES_B_LT,
}


@dataclass(frozen=True)
class Signed:
    """A signature made: the event's payload, and the signed body kept under ``sha256``."""

    payload: events_pb2.SignedDocument
    level: str  # "B-B", "B-T", "B-LT" or "SIMPLE"
    sha256: str
    size: int
    signed_at: datetime


class SignatureMethod(Protocol):
    kind: str  # ADVANCED or SIMPLE, as the job says

    def pin_needed(self, job: SigningJob) -> bool:
        """Whether the consent must carry the token PIN."""
        ...

    def sign(self, job: SigningJob, pin: str | None) -> Signed:
        """Sign the job's PDF (the body is kept before this returns); raises on failure."""
        ...


def pades() -> ModuleType:
    """pyHanko (about 25 MB) loads with the first signature, not with every agent (idle RSS)."""
    from edge_agent.capabilities.signing import pades as module

    return module


def _body_ref(job: SigningJob, sha256: str, size: int) -> events_pb2.BodyRef:
    return events_pb2.BodyRef(
        sha256=bytes.fromhex(sha256),
        size=size,
        media_type="application/pdf",
        filename=f"{job.document_type}-{job.document_id}.pdf",
    )


class AdvancedSignature:
    """PAdES with the user's token: the PIN (or an open session where the policy allows it)."""

    kind = ADVANCED

    def __init__(
        self,
        settings: SigningSettings,
        devices: DeviceManager,
        bodies: BodyUploader,
        inputs: JobInputs,
        trust_roots: Callable[[], list[bytes]],
        chain: Callable[[], list[bytes]],
        revocation_gate: Callable[[Any, str], Any],
    ) -> None:
        self.settings = settings
        self.devices = devices
        self.bodies = bodies
        self.inputs = inputs
        self.trust_roots = trust_roots
        self.chain = chain
        self.revocation_gate = revocation_gate

    def session_reuse_allowed(self, job: SigningJob) -> bool:
        """Whether the signing policy lets this signature reuse an open token session."""
        return job.document_type in self.settings.session_reuse_document_types

    def pin_needed(self, job: SigningJob) -> bool:
        if not self.session_reuse_allowed(job):
            return True  # the default: the token PIN for every advanced signature
        token = certificates.token(self.devices, job.device_id)
        opener = getattr(token, "session_open", None)
        assert job.cert is not None
        return not (opener is not None and opener(job.cert.cert_id))

    def sign(self, job: SigningJob, pin: str | None) -> Signed:
        if pin is None and not self.session_reuse_allowed(job):
            # An open session from an earlier PIN is not consent to this document.
            raise PinRequired()
        token = certificates.token(self.devices, job.device_id)
        cert = job.cert
        assert cert is not None
        cert.check_valid()
        job.revocation, job.revocation_detail, ca_answer = self.revocation_gate(
            cert, job.document_type
        )
        module = pades()
        chain = self.chain()
        signer = module.TokenSigner(
            cert.der,
            lambda data: token.sign(cert.cert_id, data, pin),
            chain,
            key_size_bytes=80 if cert.key_type is KeyType.EC else 512,
        )
        dtype = DOCUMENT_TYPES[job.document_type]
        options = module.PadesOptions(
            tsa_url=self.settings.tsa_url,
            long_term=self.settings.long_term,
            trust_roots=tuple(self.trust_roots()),
            revocation_context=ca_answer.context,
        )
        work, parsed = self.inputs.take(job, module.parse_pdf)
        stream = parsed[1].stream
        try:
            # Signed in place: pyHanko appends its revision to the input's file (pdf_files.py).
            result = module.sign_pdf(
                stream,
                signer,
                parsed=parsed,
                in_place=True,
                prefix=module.HashedPrefix(work.size, work.digest),  # the input is hashed once
                field_name=f"Puente-{job.role}-{job.previous_signatures + 1}",
                options=options,
                stamp=module.Stamp(
                    certificates.common_name(cert.der), ROLES.get(job.role, job.role), job.case_id
                )
                if dtype.stamp
                else None,
                reason=f"{dtype.title} — {ROLES.get(job.role, job.role)}",
                location=self.settings.location,
            )
            signed_at = datetime.now(UTC)
            stream.flush()
            sha256, size = pdf_files.signed_digest(work, stream)
            stream.close()
            # The body before the event: fsynced once, renamed into the body store.
            body = self.bodies.adopt(work.path, "application/pdf", sha256, size)
        except BaseException:
            stream.close()
            self.inputs.give_back(job, work)
            raise
        payload = events_pb2.SignedDocument(
            document_type=job.document_type,
            body=_body_ref(job, body.sha256, body.size),
            signer=events_pb2.SignerInfo(
                subject=cert.subject,
                issuer=cert.issuer,
                serial=cert.serial,
                cert_sha256=hashlib.sha256(cert.der).digest(),
                role=job.role,
                signed_at=timestamp(signed_at),
                level=_LEVELS[result.level],
                revocation=_REVOCATION[job.revocation],
                revocation_detail=job.revocation_detail,
            ),
            previous_sha256=bytes.fromhex(job.input_sha256) if job.previous_signatures else b"",
            document_id=job.document_id,
            requested_by_origin=job.origin,
        )
        return Signed(payload, result.level, body.sha256, body.size, signed_at)


class SimpleSignature:
    """The station key over a statement naming the PDF's hash and the asserted user.

    Detached: the PDF is kept as it came (no /Sig field a PDF reader could show as a
    digital signature), so it can never be mistaken for an advanced signature.
    """

    kind = SIMPLE

    def __init__(
        self,
        identity: StationIdentity | None,
        station_id: str,
        bodies: BodyUploader,
        inputs: JobInputs,
    ) -> None:
        self.identity = identity
        self.station_id = station_id
        self.bodies = bodies
        self.inputs = inputs

    def pin_needed(self, job: SigningJob) -> bool:
        return False  # the operator PIN, checked by the consent route, confirms the person

    def sign(self, job: SigningJob, pin: str | None) -> Signed:
        assert self.identity is not None and job.user is not None
        if job.pdf is None:
            raise SigningFailed("the PDF to sign is gone / el PDF a firmar ya no está")
        signed_at = datetime.now(UTC)
        work, parsed = self.inputs.take(job, pades().parse_pdf)
        pdf_files.close_parsed(parsed)
        try:
            # The body before the event: the input's file itself, fsynced and renamed.
            body = self.bodies.adopt(work.path, "application/pdf", work.sha256, work.size)
        except BaseException:
            self.inputs.give_back(job, work)
            raise
        statement = Statement(
            document_sha256=body.sha256,
            document_size=body.size,
            document_type=job.document_type,
            document_id=job.document_id,
            case_id=job.case_id,
            patient_id=job.patient_id,
            station_id=self.station_id,
            signed_at=signed_at.isoformat(),
            user=job.user,
        ).to_bytes()
        payload = events_pb2.SignedDocument(
            document_type=job.document_type,
            body=_body_ref(job, body.sha256, body.size),
            signer=events_pb2.SignerInfo(
                subject=f"{job.user.name} ({job.user.user_id})",
                issuer=f"station {self.station_id} (simple / simple)",
                role=job.role,
                signed_at=timestamp(signed_at),
                level=events_pb2.SIMPLE,
            ),
            document_id=job.document_id,
            requested_by_origin=job.origin,
            simple_signature=events_pb2.SimpleSignature(
                statement=statement,
                station_signature=self.identity.sign(statement),
                signature_algorithm=SIGNATURE_ALGORITHM,
                station_key_sha256=self.identity.public_key_sha256,
            ),
        )
        return Signed(payload, "SIMPLE", body.sha256, body.size, signed_at)
