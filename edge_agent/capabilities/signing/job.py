"""A signing job: its states, its fields, and the record it is kept as (jobs.py stores records).

The job follows the agent's one job model (:mod:`edge_agent.jobs`): an id, a
state whose terminal values end it, and a :class:`~edge_agent.jobs.Progress`
that watchers wait on. A job awaiting consent longer than the consent timeout
expires.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from drivers.token.base import CertificateInfo, KeyType
from edge_agent.capabilities.signing.pdf_files import PdfFile
from edge_agent.jobs import Progress
from protos.simple_signature import UserAssertion

AWAITING, SIGNING, DONE, FAILED, DECLINED, EXPIRED = (
    "awaiting_consent",
    "signing",
    "done",
    "failed",
    "declined",
    "expired",
)
TERMINAL = frozenset({DONE, FAILED, DECLINED, EXPIRED})
ADVANCED, SIMPLE = "advanced", "simple"


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
    pdf: PdfFile | None  # the input's private file while the job may still sign (pdf_files.py)
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
    progress: Progress = field(default_factory=Progress)
    parsed: Any = None  # parse_pdf()'s answer, kept from submit to consent (not persisted)

    @property
    def finished(self) -> bool:
        return self.status in TERMINAL

    def started_at(self) -> float:
        return self.created_at.timestamp()

    def expired(self, now: float, consent_timeout_s: float) -> bool:
        """Awaiting consent for longer than the consent timeout."""
        return self.status == AWAITING and now - self.started_at() > consent_timeout_s

    def to_record(self) -> dict[str, Any]:
        """The job's fields as JSON-ready values (no PDF: that is a file of the job store)."""
        cert = self.cert
        return {
            "job_id": self.job_id, "origin": self.origin, "document_type": self.document_type,
            "case_id": self.case_id, "patient_id": self.patient_id,
            "document_id": self.document_id, "role": self.role, "device_id": self.device_id,
            "input_sha256": self.input_sha256, "previous_signatures": self.previous_signatures,
            "input_size": self.pdf.size if self.pdf is not None else None,
            "created_at": self.created_at.isoformat(), "kind": self.kind,
            "user": dict(vars(self.user)) if self.user else None, "status": self.status,
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
    def from_record(cls, r: dict[str, Any], pdf: PdfFile | None) -> SigningJob:
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
            job.progress.changed(ended=True)
        return job
