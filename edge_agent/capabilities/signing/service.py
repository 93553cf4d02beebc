"""The signing use case: a job per PDF, consent on the agent's page, then the signature.

A job waits for consent; the consent (the token PIN for every advanced
signature; an open token session only where ``session_reuse_document_types``
allows it, with the station's operator PIN checked by the consent route)
signs it with its method (methods.py): ADVANCED with the token (PAdES), or
SIMPLE with the station key over a statement naming the PDF's hash and the
user the clinical system asserts (detached; document types with
``simple_allowed`` only). Then the SignedDocument event that names the kept
body is recorded. The PIN goes from the consent request to C_Login and
nowhere else. Jobs awaiting consent are kept on disk (jobs.py) and come back
after a restart.

The parts: job.py (states, fields, record), jobs.py (the job store),
inputs.py (the PDF files of open jobs), checks.py (request checks),
certificates.py (certificate choice), methods.py (how a job is signed),
view.py (the JSON view); this module holds the transitions between them.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from drivers.token.base import CertificateInfo, PinLocked, SigningToken, TokenError
from edge_agent.bodies import BodyUploader
from edge_agent.capabilities.signing import certificates, checks, pdf_files, policy
from edge_agent.capabilities.signing.certificates import CertificateFiles
from edge_agent.capabilities.signing.errors import (
    CertificateRevoked,
    JobNotFound,
    JobState,
    NotAPdfError,
    RevocationUnavailable,
    SigningFailed,
    from_token_error,
)
from edge_agent.capabilities.signing.inputs import JobInputs
from edge_agent.capabilities.signing.job import (
    ADVANCED,
    AWAITING,
    DECLINED,
    DONE,
    EXPIRED,
    FAILED,
    SIGNING,
    SIMPLE,
    SigningJob,
)
from edge_agent.capabilities.signing.jobs import JobStore
from edge_agent.capabilities.signing.methods import (
    AdvancedSignature,
    SignatureMethod,
    Signed,
    SimpleSignature,
    pades,
)
from edge_agent.capabilities.signing.pdf_files import PdfFile
from edge_agent.capabilities.signing.settings import SigningSettings
from edge_agent.devices import DeviceManager
from edge_agent.identity import StationIdentity
from edge_agent.jobs import JobTable
from edge_agent.record import RecordService
from protos import events_pb2
from protos.simple_signature import UserAssertion

log = logging.getLogger(__name__)


def _unknown_job(job_id: str) -> JobNotFound:
    return JobNotFound(f"no signing job {job_id} / no existe la solicitud de firma {job_id}")


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
        # Finished jobs stay for polling an hour (or the consent timeout, if longer).
        self.jobs: JobTable[SigningJob] = JobTable(
            _unknown_job, keep_finished_s=max(3600.0, settings.consent_timeout_s)
        )
        self._lock = threading.Lock()  # job states and input files (inputs.py)
        self._sign_lock = threading.Lock()  # one signature at a time
        self._trust_roots = CertificateFiles(settings.trust_roots)
        self._chain = CertificateFiles(settings.chain_certs)
        self.store = JobStore(jobs_dir) if jobs_dir is not None else None
        self.inputs = JobInputs(self.store, self.jobs, self._lock)
        self._revocation: Any = None  # policy.checker(), made with the first advanced job
        self.advanced = AdvancedSignature(
            settings,
            devices,
            bodies,
            self.inputs,
            lambda: self.trust_roots,
            lambda: self.chain,
            self._revocation_gate,
        )
        self.simple = SimpleSignature(identity, record.settings.station_id, bodies, self.inputs)
        self.restored = self._restore()

    @property
    def trust_roots(self) -> list[bytes]:
        """The configured trust roots, DER."""
        return self._trust_roots.der()

    @property
    def chain(self) -> list[bytes]:
        """The configured intermediate certificates, DER."""
        return self._chain.der()

    @property
    def spool(self) -> Path:
        """Where uploads are streamed to (inputs.py)."""
        return self.inputs.spool

    def method(self, job: SigningJob) -> SignatureMethod:
        return self.simple if job.kind == SIMPLE else self.advanced

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
            pdf = None
            if record["status"] in (AWAITING, SIGNING):
                record["status"] = AWAITING  # a crash mid-signature: nothing was recorded
                pdf = self.store.input_file(record["input_sha256"], record.get("input_size"))
                if pdf is None:
                    record["status"] = EXPIRED
            job = SigningJob.from_record(record, pdf)
            self.jobs.add(job)
            back += job.status == AWAITING
        return back

    def _persist(self, job: SigningJob) -> None:
        """Tell the job's watchers (a long-poll answers at once), keep its record (written in
        the background, not durable: see jobs.py), drop a finished job's input."""
        job.progress.changed(ended=job.finished)
        if self.store is not None:
            self.store.save(job.job_id, job.status, job.created_at.timestamp(), job.to_record())
            if job.finished:
                self.inputs.drop(job)

    # -- tokens -------------------------------------------------------------------------
    def token_devices(self) -> list[tuple[str, SigningToken]]:
        return certificates.token_devices(self.devices)

    def find_certificate(self, cert_id: str | None) -> tuple[str, SigningToken, CertificateInfo]:
        return certificates.find_certificate(self.devices, cert_id)

    # -- jobs ---------------------------------------------------------------------------
    def submit(
        self,
        *,
        pdf: bytes | PdfFile,
        document_type: str,
        case_id: str,
        patient_id: str,
        role: str,
        origin: str,
        cert_id: str | None = None,
        document_id: str | None = None,
        user: UserAssertion | None = None,
    ) -> SigningJob:
        """A job awaiting consent: advanced (token) unless ``user`` is given (simple).

        ``pdf``: the bytes, or a private file spooled by pdf_files (consumed: adopted as the
        job's input, or removed when the submission is refused)."""
        if not isinstance(pdf, PdfFile):
            pdf = pdf_files.from_bytes(pdf, self.spool, self.settings.max_pdf_bytes)
        try:
            return self._submit(pdf, document_type, case_id, patient_id, role, origin,
                                cert_id, document_id, user)  # fmt: skip
        except BaseException:
            pdf.discard()
            raise

    def _submit(
        self,
        pdf: PdfFile,
        document_type: str,
        case_id: str,
        patient_id: str,
        role: str,
        origin: str,
        cert_id: str | None,
        document_id: str | None,
        user: UserAssertion | None,
    ) -> SigningJob:
        self._expire()
        checks.document_type_and_role(document_type, role)
        checks.size(pdf.size, self.settings.max_pdf_bytes)
        stream = open(pdf.path, "r+b")  # noqa: SIM115 - kept with the job until it signs
        try:
            parsed = pades().parse_pdf(stream)
        except pades().NotAPdf as exc:
            stream.close()
            raise NotAPdfError(str(exc)) from exc
        try:
            return self._new_job(pdf, parsed, document_type, case_id, patient_id, role,
                                 origin, cert_id, document_id, user)  # fmt: skip
        except BaseException:
            stream.close()
            raise

    def _new_job(
        self,
        pdf: PdfFile,
        parsed: Any,
        document_type: str,
        case_id: str,
        patient_id: str,
        role: str,
        origin: str,
        cert_id: str | None,
        document_id: str | None,
        user: UserAssertion | None,
    ) -> SigningJob:
        dtype = checks.document_type_and_role(document_type, role)
        existing = parsed[0]
        if user is not None:
            checks.simple(
                station_key=self.identity is not None,
                allowed=dtype.simple_allowed,
                document_type=document_type,
                existing_signatures=existing,
                user=user,
                role=role,
            )
        checks.document_id(existing, document_id)
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
            input_sha256=pdf.sha256,
            previous_signatures=existing,
            created_at=datetime.now(UTC),
            kind=SIMPLE if user is not None else ADVANCED,
            user=user,
            parsed=parsed,
        )
        if cert is not None:
            job.revocation, job.revocation_detail = revocation[:2]
        with self._lock:
            job.pdf = self.inputs.adopt(pdf)  # a rename, the reader's file follows
            self.jobs.add(job)
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

    def _revocation_gate(self, cert: CertificateInfo, document_type: str) -> Any:
        """policy.revocation_gate: raises for a revoked certificate or a refusing policy."""
        if self._revocation is None:
            self._revocation = policy.checker(self.trust_roots, self.chain, self.settings)
        return policy.revocation_gate(self._revocation, cert, document_type)

    def get(self, job_id: str) -> SigningJob:
        self._expire()
        return self.jobs.get(job_id)

    def wait(self, job_id: str, timeout_s: float) -> SigningJob:
        job = self.get(job_id)
        job.progress.wait_end(timeout_s)
        return job

    async def wait_async(self, job_id: str, timeout_s: float) -> SigningJob:
        """:meth:`wait` for the HTTP long-poll: it holds no worker thread while it waits."""
        job = self.get(job_id)
        await job.progress.wait_end_async(timeout_s)
        return job

    def session_reuse_allowed(self, job: SigningJob) -> bool:
        """Whether the signing policy lets this advanced signature reuse an open token session."""
        return job.kind == ADVANCED and self.advanced.session_reuse_allowed(job)

    def pin_needed(self, job: SigningJob) -> bool:
        return self.method(job).pin_needed(job)

    def decline(self, job_id: str) -> SigningJob:
        job = self.get(job_id)
        with self._lock:
            if job.status != AWAITING:
                raise JobState(f"the job is {job.status} / la solicitud está en {job.status}")
            job.status = DECLINED
            self.inputs.release(job)
        self._persist(job)
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
                signed = self.method(job).sign(job, pin)
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
        self._finish(job, signed)
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

    # -- transitions --------------------------------------------------------------------
    def _finish(self, job: SigningJob, signed: Signed) -> None:
        """The body is kept (the method did that): record the event, the job is done."""
        event_id, _seq = self.record.record(
            payload_name="signed_document",
            payload=signed.payload,
            device_id=job.device_id,
            case_id=job.case_id,
            patient_id=job.patient_id,
        )
        with self._lock:
            job.status, job.level, job.event_id = DONE, signed.level, event_id
            job.signed_sha256, job.signed_size = signed.sha256, signed.size
            job.signed_at = signed.signed_at
            job.error_code = job.error_reason = ""
            self.inputs.release(job)
        self._persist(job)
        log.info(
            "signed %s (%s) for case %s",
            job.document_type,
            signed.level,
            job.case_id,
            extra={"event_id": event_id, "case_id": job.case_id},
        )

    def _fail(self, job: SigningJob, code: str, reason: str, *, final: bool) -> None:
        """Record the error on the job; it stays open for another click unless ``final``."""
        with self._lock:
            job.error_code, job.error_reason = code, reason
            job.status = FAILED if final else AWAITING
            if final:
                self.inputs.release(job)
        self._persist(job)

    def _expire(self) -> None:
        """Jobs awaiting consent too long expire; finished ones are forgotten after a while."""
        now = time.time()
        changed = []
        with self._lock:
            for job in self.jobs.values():
                if job.expired(now, self.settings.consent_timeout_s):
                    job.status = EXPIRED
                    self.inputs.release(job)
                    changed.append(job)
        for job in changed:
            self._persist(job)
        gone = self.jobs.prune(now)
        if self.store is not None:
            for job_id in gone:
                self.store.delete(job_id)


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
