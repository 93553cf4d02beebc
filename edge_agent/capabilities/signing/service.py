"""The signing use case: a job per PDF, consent on the agent's page, then the signature.

A job waits for consent; the consent (the token PIN for every advanced
signature; an open token session only where ``session_reuse_document_types``
allows it, with the station's operator PIN checked by the consent route)
signs it: ADVANCED with the token (PAdES), or SIMPLE with the station key
over a statement naming the PDF's hash and the user the clinical system
asserts (detached; document types with ``simple_allowed``
only). Then the PDF is kept as a body (uploaded to the hub by hash) and the
SignedDocument event that names it is recorded. The PIN goes from the consent
request to C_Login and nowhere else. Jobs awaiting consent are kept on disk
(jobs.py) and come back after a restart.
"""

from __future__ import annotations

import hashlib
import logging
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any

from drivers.token.base import (
    FAMILY,
    CertificateInfo,
    KeyType,
    PinLocked,
    PinRequired,
    SigningToken,
    TokenAbsent,
    TokenError,
)
from edge_agent.bodies import BodyUploader
from edge_agent.capabilities.signing import policy
from edge_agent.capabilities.signing.errors import (
    CertificateRevoked,
    JobNotFound,
    JobState,
    NotAPdfError,
    RevocationUnavailable,
    SigningFailed,
    from_token_error,
)
from edge_agent.capabilities.signing.jobs import JobStore
from edge_agent.capabilities.signing.settings import SigningSettings
from edge_agent.devices import DeviceManager
from edge_agent.errors import InvalidInput
from edge_agent.events import timestamp
from edge_agent.identity import StationIdentity
from edge_agent.record import RecordService
from protos import events_pb2
from protos.document_types import DOCUMENT_TYPES, ROLES
from protos.simple_signature import SIGNATURE_ALGORITHM, Statement, UserAssertion

log = logging.getLogger(__name__)

AWAITING, SIGNING, DONE, FAILED, DECLINED, EXPIRED = (
    "awaiting_consent",
    "signing",
    "done",
    "failed",
    "declined",
    "expired",
)
ADVANCED, SIMPLE = "advanced", "simple"
_REVOCATION = {
    "good": events_pb2.REVOCATION_GOOD,
    "pending": events_pb2.REVOCATION_PENDING,
}
_LEVELS = {
    "B-B": events_pb2.PADES_B_B,
    "B-T": events_pb2.PADES_B_T,
    "B-LT": events_pb2.PADES_B_LT,
}


class _Certs:
    """Certificate files read at start (a missing one fails then), parsed to DER on first use.

    Parsing needs cryptography, which an idle agent does not otherwise load.
    """

    def __init__(self, paths: list[Path]) -> None:
        self._files = [path.read_bytes() for path in paths]
        self._der: list[bytes] | None = None

    def der(self) -> list[bytes]:
        if self._der is None:
            self._der = _load_certs(self._files)
        return self._der


def _load_certs(files: list[bytes]) -> list[bytes]:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    out = []
    for data in files:
        if b"-----BEGIN" in data:
            out += [
                c.public_bytes(serialization.Encoding.DER)
                for c in x509.load_pem_x509_certificates(data)
            ]
        else:
            out.append(data)
    return out


@dataclass
class SigningJob:
    job_id: str
    origin: str
    document_type: str
    case_id: str
    patient_id: str
    document_id: str
    role: str
    device_id: str
    cert: CertificateInfo | None  # None for a simple signature
    pdf: bytes
    input_sha256: str
    previous_signatures: int
    created_at: datetime
    kind: str = ADVANCED  # "advanced" (token, PAdES) or "simple" (station key)
    user: UserAssertion | None = None  # simple only: who the clinical system says signs
    status: str = AWAITING
    error_code: str = ""
    error_reason: str = ""
    signed_sha256: str = ""
    signed_size: int = 0
    level: str = ""
    event_id: str = ""
    signed_at: datetime | None = None
    revocation: str = ""  # policy.GOOD or policy.PENDING (advanced), as last checked
    revocation_detail: str = ""  # why PENDING
    done: threading.Event = field(default_factory=threading.Event)
    parsed: Any = None  # parse_pdf()'s answer, kept from submit to consent (not persisted)
    input_hash: Any = None  # hashlib state after the input: the output's digest goes on from it

    @property
    def finished(self) -> bool:
        return self.status in {DONE, FAILED, DECLINED, EXPIRED}

    def to_record(self) -> dict[str, Any]:
        """The job's fields as JSON-ready values (no PDF: that is a file of the job store)."""
        cert = self.cert
        return {
            "job_id": self.job_id, "origin": self.origin, "document_type": self.document_type,
            "case_id": self.case_id, "patient_id": self.patient_id,
            "document_id": self.document_id, "role": self.role, "device_id": self.device_id,
            "input_sha256": self.input_sha256, "previous_signatures": self.previous_signatures,
            "created_at": self.created_at.isoformat(), "kind": self.kind,
            "user": vars(self.user) if self.user else None, "status": self.status,
            "error_code": self.error_code, "error_reason": self.error_reason,
            "signed_sha256": self.signed_sha256, "signed_size": self.signed_size,
            "level": self.level, "event_id": self.event_id,
            "signed_at": self.signed_at.isoformat() if self.signed_at else None,
            "revocation": self.revocation, "revocation_detail": self.revocation_detail,
            "cert": None if cert is None else {
                "token_serial": cert.token_serial, "token_label": cert.token_label,
                "key_id": cert.key_id, "label": cert.label, "subject": cert.subject,
                "issuer": cert.issuer, "serial": cert.serial,
                "not_before": cert.not_before.isoformat(), "not_after": cert.not_after.isoformat(),
                "key_usage": list(cert.key_usage), "key_type": cert.key_type.value,
                "der": cert.der.hex(),
            },
        }  # fmt: skip

    @classmethod
    def from_record(cls, r: dict[str, Any], pdf: bytes) -> SigningJob:
        c = r["cert"]
        cert = None
        if c is not None:
            cert = CertificateInfo(
                **{**c, "not_before": datetime.fromisoformat(c["not_before"]),
                   "not_after": datetime.fromisoformat(c["not_after"]),
                   "key_usage": tuple(c["key_usage"]), "key_type": KeyType(c["key_type"]),
                   "der": bytes.fromhex(c["der"])}
            )  # fmt: skip
        job = cls(
            job_id=r["job_id"], origin=r["origin"], document_type=r["document_type"],
            case_id=r["case_id"], patient_id=r["patient_id"], document_id=r["document_id"],
            role=r["role"], device_id=r["device_id"], cert=cert, pdf=pdf,
            input_sha256=r["input_sha256"], previous_signatures=r["previous_signatures"],
            created_at=datetime.fromisoformat(r["created_at"]), kind=r["kind"],
            user=UserAssertion(**r["user"]) if r["user"] else None, status=r["status"],
            error_code=r["error_code"], error_reason=r["error_reason"],
            signed_sha256=r["signed_sha256"], signed_size=r["signed_size"], level=r["level"],
            event_id=r["event_id"],
            signed_at=datetime.fromisoformat(r["signed_at"]) if r["signed_at"] else None,
            revocation=r.get("revocation", ""), revocation_detail=r.get("revocation_detail", ""),
        )  # fmt: skip
        if job.finished:
            job.done.set()
        return job


class SigningService:
    def __init__(
        self,
        settings: SigningSettings,
        devices: DeviceManager,
        record: RecordService,
        bodies: BodyUploader,
        identity: StationIdentity | None = None,
        jobs_dir: Path | None = None,
    ) -> None:
        self.settings = settings
        self.devices = devices
        self.record = record
        self.bodies = bodies
        self.identity = identity
        self._jobs: dict[str, SigningJob] = {}
        self._lock = threading.Lock()
        self._sign_lock = threading.Lock()
        self._trust_roots = _Certs(settings.trust_roots)
        self._chain = _Certs(settings.chain_certs)
        self.store = JobStore(jobs_dir) if jobs_dir is not None else None
        self._revocation: Any = None  # policy.checker(), made with the first advanced job
        self.restored = self._restore()

    @property
    def trust_roots(self) -> list[bytes]:
        """The configured trust roots, DER."""
        return self._trust_roots.der()

    @property
    def chain(self) -> list[bytes]:
        """The configured intermediate certificates, DER."""
        return self._chain.der()

    def close(self) -> None:
        if self.store is not None:
            self.store.close()

    def _restore(self) -> int:
        """Jobs from before a restart: awaiting ones come back with their PDF, the rest as they
        ended (for polling). Returns how many awaiting jobs came back."""
        if self.store is None:
            return 0
        back = 0
        for record in self.store.load():
            pdf = b""
            if record["status"] in (AWAITING, SIGNING):
                record["status"] = AWAITING  # a crash mid-signature: nothing was recorded
                pdf = self.store.read_input(record["input_sha256"]) or b""
                if not pdf:
                    record["status"] = EXPIRED
            job = SigningJob.from_record(record, pdf)
            self._jobs[job.job_id] = job
            back += job.status == AWAITING
        return back

    def _persist(self, job: SigningJob) -> None:
        if self.store is not None:
            self.store.save(job.job_id, job.status, job.created_at.timestamp(), job.to_record())
            if job.finished:
                self.store.drop_input(job.input_sha256, self._input_needed(job))

    def _input_needed(self, job: SigningJob) -> bool:
        return any(
            j is not job and j.status in (AWAITING, SIGNING) and j.input_sha256 == job.input_sha256
            for j in list(self._jobs.values())
        )

    # -- tokens -------------------------------------------------------------------------
    def token_devices(self) -> list[tuple[str, SigningToken]]:
        out = []
        for info in self.devices.list():
            if info.family != FAMILY:
                continue
            device = self.devices.device(info.device_id)
            if device is not None:
                out.append((info.device_id, device))  # type: ignore[arg-type]
        return out

    def find_certificate(self, cert_id: str | None) -> tuple[str, SigningToken, CertificateInfo]:
        candidates = []
        for device_id, token in self.token_devices():
            for cert in token.certificates():
                if cert_id in (None, "", cert.cert_id):
                    candidates.append((device_id, token, cert))
        if not candidates:
            if cert_id:
                if not any(t.tokens() for _, t in self.token_devices()):
                    raise from_token_error(TokenAbsent())
                raise InvalidInput(
                    f"no certificate {cert_id!r} on the connected tokens / "
                    f"no hay un certificado {cert_id!r} en los tokens conectados",
                    code="certificate_not_found",
                )
            raise from_token_error(TokenAbsent())
        if len(candidates) > 1 and not cert_id:
            raise InvalidInput(
                "several certificates are available: name one with cert_id / "
                "hay varios certificados: indique cert_id",
                code="certificate_ambiguous",
            )
        return candidates[0]

    # -- jobs ---------------------------------------------------------------------------
    def submit(
        self,
        *,
        pdf: bytes,
        document_type: str,
        case_id: str,
        patient_id: str,
        role: str,
        origin: str,
        cert_id: str | None = None,
        document_id: str | None = None,
        user: UserAssertion | None = None,
    ) -> SigningJob:
        """A job awaiting consent: advanced (token) unless ``user`` is given (simple)."""
        self._expire()
        dtype = DOCUMENT_TYPES.get(document_type)
        if dtype is None:
            raise InvalidInput(
                f"unknown document type {document_type!r}; known: {', '.join(DOCUMENT_TYPES)} / "
                "tipo de documento desconocido",
                code="unknown_document_type",
            )
        if role not in dtype.signers:
            raise InvalidInput(
                f"{document_type} is signed by {', '.join(dtype.signers)}, not {role!r} / "
                f"el rol {role!r} no firma {document_type}",
                code="role_not_in_workflow",
            )
        if len(pdf) > self.settings.max_pdf_bytes:
            raise InvalidInput(
                f"the PDF is larger than {self.settings.max_pdf_bytes} bytes / "
                "el PDF excede el tamaño máximo",
                code="pdf_too_large",
            )
        try:
            parsed = _pades().parse_pdf(pdf)
        except _pades().NotAPdf as exc:
            raise NotAPdfError(str(exc)) from exc
        existing = parsed[0]
        if user is not None:
            self._check_simple(dtype.simple_allowed, document_type, existing, user, role)
        if existing and not document_id:
            raise InvalidInput(
                "this PDF is already signed: send the document_id of its first signature / "
                "el PDF ya está firmado: envíe el document_id de la primera firma",
                code="document_id_required",
            )
        # A dry run of the record validation: bad case or patient ids fail now, not after the PIN.
        self.record.build(
            payload_name="signed_document",
            payload=events_pb2.SignedDocument(),
            case_id=case_id,
            patient_id=patient_id,
        )
        cert: CertificateInfo | None = None
        device_id = ""
        if user is None:
            device_id, _token, cert = self.find_certificate(cert_id)
            try:
                cert.check_valid()
            except TokenError as exc:
                raise from_token_error(exc) from exc
            revocation = self._revocation_gate(cert, document_type)  # before any PIN is asked
        input_hash = hashlib.sha256(pdf)
        input_sha256 = input_hash.hexdigest()
        job = SigningJob(
            job_id=uuid.uuid4().hex,
            origin=origin,
            document_type=document_type,
            case_id=case_id,
            patient_id=patient_id,
            document_id=document_id or str(uuid.uuid4()),
            role=role,
            device_id=device_id,
            cert=cert,
            pdf=pdf,
            input_sha256=input_sha256,
            previous_signatures=existing,
            created_at=datetime.now(UTC),
            kind=SIMPLE if user is not None else ADVANCED,
            user=user,
            parsed=parsed,
            input_hash=input_hash,
        )
        if cert is not None:
            job.revocation, job.revocation_detail = revocation[:2]
        if self.store is not None:
            self.store.put_input(input_sha256, pdf)
        with self._lock:
            self._jobs[job.job_id] = job
        self._persist(job)
        log.info(
            "signing job %s (%s): %s for case %s awaits consent",
            job.job_id,
            job.kind,
            document_type,
            case_id,
            extra={"case_id": case_id},
        )
        return job

    def _check_simple(
        self, allowed: bool, document_type: str, existing: int, user: UserAssertion, role: str
    ) -> None:
        if self.identity is None:
            raise InvalidInput(
                "simple signatures need the station key / la firma simple requiere la clave de "
                "la estación",
                code="simple_unavailable",
            )
        if not allowed:
            raise InvalidInput(
                f"{document_type} requires an ADVANCED signature with the token; a simple "
                f"signature is not allowed / {document_type} requiere firma AVANZADA con token; "
                "no se permite la firma simple",
                code="simple_not_allowed",
            )
        if existing:
            raise InvalidInput(
                "a simple signature is not added to a PDF that carries advanced signatures / "
                "no se agrega una firma simple a un PDF con firmas avanzadas",
                code="simple_on_signed_pdf",
            )
        if not user.user_id.strip() or not user.name.strip():
            raise InvalidInput(
                "a simple signature needs the user's id and name as the clinical system asserts "
                "them / la firma simple requiere el id y el nombre del usuario",
                code="user_assertion_required",
            )
        if user.role != role:
            raise InvalidInput(
                f"the asserted user's role {user.role!r} is not the signing role {role!r} / "
                "el rol del usuario no coincide con el rol que firma",
                code="user_role_mismatch",
            )

    def _revocation_gate(self, cert: CertificateInfo, document_type: str) -> Any:
        """policy.revocation_gate: raises for a revoked certificate or a refusing policy."""
        if self._revocation is None:
            self._revocation = policy.checker(self.trust_roots, self.chain, self.settings)
        return policy.revocation_gate(self._revocation, cert, document_type)

    def get(self, job_id: str) -> SigningJob:
        self._expire()
        job = self._jobs.get(job_id)
        if job is None:
            raise JobNotFound(f"no signing job {job_id} / no existe la solicitud de firma {job_id}")
        return job

    def wait(self, job_id: str, timeout_s: float) -> SigningJob:
        job = self.get(job_id)
        job.done.wait(timeout_s)
        return job

    def session_reuse_allowed(self, job: SigningJob) -> bool:
        """Whether the signing policy lets this advanced signature reuse an open token session."""
        return (
            job.kind == ADVANCED and job.document_type in self.settings.session_reuse_document_types
        )

    def pin_needed(self, job: SigningJob) -> bool:
        if job.kind == SIMPLE:
            return False
        if not self.session_reuse_allowed(job):
            return True  # the default: the token PIN for every advanced signature
        token = self._token(job.device_id)
        opener = getattr(token, "session_open", None)
        return not (opener is not None and opener(job.cert.cert_id))

    def decline(self, job_id: str) -> SigningJob:
        job = self.get(job_id)
        with self._lock:
            if job.status != AWAITING:
                raise JobState(f"the job is {job.status} / la solicitud está en {job.status}")
            job.status = DECLINED
            job.pdf, job.parsed = b"", None
        self._persist(job)
        job.done.set()
        return job

    def consent(self, job_id: str, pin: str | None) -> SigningJob:
        """The user clicked Sign on the consent page (with a PIN unless a session is open)."""
        job = self.get(job_id)
        with self._lock:
            if job.status != AWAITING:
                raise JobState(f"the job is {job.status} / la solicitud está en {job.status}")
            job.status = SIGNING
        try:
            with self._sign_lock:
                if job.kind == SIMPLE:
                    self._sign_simple(job)
                else:
                    self._sign(job, pin)
        except TokenError as exc:
            fatal = isinstance(exc, PinLocked) or exc.code.startswith("certificate_")
            self._fail(job, exc.code, exc.reason, final=fatal)
            raise from_token_error(exc) from exc
        except (SigningFailed, RevocationUnavailable, CertificateRevoked) as exc:
            self._fail(job, exc.code, exc.reason, final=isinstance(exc, CertificateRevoked))
            raise
        except Exception as exc:
            inner = _token_error_in(exc)
            if inner is not None:
                self._fail(job, inner.code, inner.reason, final=False)
                raise from_token_error(inner) from exc
            log.exception("signing job %s failed", job.job_id, extra={"case_id": job.case_id})
            reason = f"{type(exc).__name__}: {exc} / la firma falló"
            self._fail(job, "signing_failed", reason, final=False)
            raise SigningFailed(reason) from exc
        finally:
            pin = None
        return job

    def signed_pdf_of(self, job: SigningJob) -> bytes:
        """The signed PDF of a finished job (from memory when just signed, else from disk)."""
        return self.bodies.bodies.read(job.signed_sha256)

    def signed_pdf_path(self, job: SigningJob) -> Path:
        """The file of a finished job's signed PDF, for an answer streamed from disk."""
        return self.bodies.bodies.path(job.signed_sha256)

    def signed_pdf(self, job_id: str) -> bytes:
        job = self.get(job_id)
        if job.status != DONE:
            raise JobState(
                f"the job is {job.status}, not done / la solicitud no está terminada",
                code="job_not_done",
            )
        return self.bodies.bodies.read(job.signed_sha256)

    # -- internals ----------------------------------------------------------------------
    def _token(self, device_id: str) -> SigningToken:
        device = self.devices.device(device_id)
        if device is None:
            raise from_token_error(TokenAbsent())
        return device  # type: ignore[return-value]

    def _sign(self, job: SigningJob, pin: str | None) -> None:
        if pin is None and not self.session_reuse_allowed(job):
            # An open session from an earlier PIN is not consent to this document.
            raise PinRequired()
        token = self._token(job.device_id)
        cert = job.cert
        assert cert is not None
        cert.check_valid()
        job.revocation, job.revocation_detail, ca_answer = self._revocation_gate(
            cert, job.document_type
        )
        pades = _pades()
        signer = pades.TokenSigner(
            cert.der,
            lambda data: token.sign(cert.cert_id, data, pin),
            self.chain,
            key_size_bytes=80 if cert.key_type is KeyType.EC else 512,
        )
        dtype = DOCUMENT_TYPES[job.document_type]
        subject_cn = _common_name(cert.der)
        options = pades.PadesOptions(
            tsa_url=self.settings.tsa_url,
            long_term=self.settings.long_term,
            trust_roots=tuple(self.trust_roots),
            revocation_context=ca_answer.context,
        )
        parsed, job.parsed = job.parsed, None  # one use: a retry after an error parses afresh
        result = pades.sign_pdf(
            job.pdf,
            signer,
            parsed=parsed,
            field_name=f"Puente-{job.role}-{job.previous_signatures + 1}",
            options=options,
            stamp=pades.Stamp(subject_cn, ROLES.get(job.role, job.role), job.case_id)
            if dtype.stamp
            else None,
            reason=f"{dtype.title} — {ROLES.get(job.role, job.role)}",
            location=self.settings.location,
        )
        signed_at = datetime.now(UTC)
        sha256 = _appended_digest(job.input_hash, job.pdf, result.pdf)
        job.input_hash = None
        # The body before the event.
        body = self.bodies.submit(result.pdf, "application/pdf", sha256)
        payload = events_pb2.SignedDocument(
            document_type=job.document_type,
            body=events_pb2.BodyRef(
                sha256=bytes.fromhex(body.sha256),
                size=body.size,
                media_type="application/pdf",
                filename=f"{job.document_type}-{job.document_id}.pdf",
            ),
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
        self._finish(job, payload, result.level, body.sha256, body.size, signed_at)

    def _sign_simple(self, job: SigningJob) -> None:
        """SIMPLE: the station key signs a statement naming the PDF's hash and the asserted user.

        Detached: the PDF is kept as it came (no /Sig field a PDF reader could show as a
        digital signature), so it can never be mistaken for an advanced signature.
        """
        assert self.identity is not None and job.user is not None
        if not job.pdf:
            raise SigningFailed("the PDF to sign is gone / el PDF a firmar ya no está")
        signed_at = datetime.now(UTC)
        sha256 = job.input_hash.hexdigest() if job.input_hash is not None else None
        # The body before the event.
        body = self.bodies.submit(job.pdf, "application/pdf", sha256)
        statement = Statement(
            document_sha256=body.sha256,
            document_size=body.size,
            document_type=job.document_type,
            document_id=job.document_id,
            case_id=job.case_id,
            patient_id=job.patient_id,
            station_id=self.record.settings.station_id,
            signed_at=signed_at.isoformat(),
            user=job.user,
        ).to_bytes()
        payload = events_pb2.SignedDocument(
            document_type=job.document_type,
            body=events_pb2.BodyRef(
                sha256=bytes.fromhex(body.sha256),
                size=body.size,
                media_type="application/pdf",
                filename=f"{job.document_type}-{job.document_id}.pdf",
            ),
            signer=events_pb2.SignerInfo(
                subject=f"{job.user.name} ({job.user.user_id})",
                issuer=f"station {self.record.settings.station_id} (simple / simple)",
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
        self._finish(job, payload, "SIMPLE", body.sha256, body.size, signed_at)

    def _finish(
        self,
        job: SigningJob,
        payload: events_pb2.SignedDocument,
        level: str,
        sha256: str,
        size: int,
        signed_at: datetime,
    ) -> None:
        event_id, _seq = self.record.record(
            payload_name="signed_document",
            payload=payload,
            device_id=job.device_id,
            case_id=job.case_id,
            patient_id=job.patient_id,
        )
        with self._lock:
            job.status, job.level, job.event_id = DONE, level, event_id
            job.signed_sha256, job.signed_size, job.signed_at = sha256, size, signed_at
            job.error_code = job.error_reason = ""
            job.pdf, job.parsed = b"", None
        self._persist(job)
        job.done.set()
        log.info(
            "signed %s (%s) for case %s",
            job.document_type,
            level,
            job.case_id,
            extra={"event_id": event_id, "case_id": job.case_id},
        )

    def _fail(self, job: SigningJob, code: str, reason: str, *, final: bool) -> None:
        """Record the error on the job; it stays open for another click unless ``final``."""
        with self._lock:
            job.error_code, job.error_reason = code, reason
            job.status = FAILED if final else AWAITING
            if final:
                job.pdf, job.parsed = b"", None
        self._persist(job)
        if final:
            job.done.set()

    def _expire(self) -> None:
        now = time.time()
        changed, gone = [], []
        with self._lock:
            for job_id, job in list(self._jobs.items()):
                age = now - job.created_at.timestamp()
                if job.status == AWAITING and age > self.settings.consent_timeout_s:
                    job.status, job.pdf, job.parsed = EXPIRED, b"", None
                    job.done.set()
                    changed.append(job)
                if job.finished and age > max(3600.0, self.settings.consent_timeout_s):
                    del self._jobs[job_id]
                    gone.append(job_id)
        for job in changed:
            self._persist(job)
        if self.store is not None:
            for job_id in gone:
                self.store.delete(job_id)


def _appended_digest(input_hash: Any, pdf: bytes, signed: bytes) -> str | None:
    """SHA-256 of ``signed`` without hashing its first part again, or None to hash it whole.

    pyHanko signs as an incremental update: the signed PDF is the input, byte for
    byte, with a revision appended. The input was hashed at submit; its hash state
    goes on over the appended bytes alone (after checking the input is a prefix).
    """
    if input_hash is None or not signed.startswith(pdf):  # a memcmp, not a second hash
        return None
    digest = input_hash.copy()
    digest.update(memoryview(signed)[len(pdf) :])
    return str(digest.hexdigest())


def _token_error_in(exc: BaseException) -> TokenError | None:
    """pyHanko may wrap the token's error: find it in the cause chain."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, TokenError):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _common_name(der: bytes) -> str:
    from cryptography import x509

    cert = x509.load_der_x509_certificate(der)
    names = cert.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)
    return str(names[0].value) if names else cert.subject.rfc4514_string()


def job_view(job: SigningJob, pin_needed: bool | None = None) -> dict[str, Any]:
    return {
        "job_id": job.job_id,
        "status": job.status,
        "document_type": job.document_type,
        "case_id": job.case_id,
        "patient_id": job.patient_id,
        "document_id": job.document_id,
        "role": job.role,
        "origin": job.origin,
        "input_sha256": job.input_sha256,
        "kind": job.kind,
        "cert_id": job.cert.cert_id if job.cert else None,
        "signer_subject": job.cert.subject
        if job.cert
        else (f"{job.user.name} ({job.user.user_id})" if job.user else ""),
        "user": vars(job.user) if job.user else None,
        "error_code": job.error_code or None,
        "error_reason": job.error_reason or None,
        "signed_sha256": job.signed_sha256 or None,
        "signed_size": job.signed_size or None,
        "level": job.level or None,
        "event_id": job.event_id or None,
        "signed_at": job.signed_at,
        "pin_needed": pin_needed,
        "revocation": job.revocation or None,
        "revocation_note": policy.note(job.revocation, job.document_type, job.revocation_detail)
        or None,
    }


def _pades() -> ModuleType:
    """pyHanko (about 25 MB) loads with the first signature, not with every agent (idle RSS)."""
    from edge_agent.capabilities.signing import pades

    return pades
