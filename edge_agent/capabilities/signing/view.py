"""The JSON view of a signing job, as the HTTP door and the consent page show it."""

from __future__ import annotations

from typing import Any

from edge_agent.capabilities.signing import policy
from edge_agent.capabilities.signing.job import SigningJob


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
