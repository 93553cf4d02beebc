"""Signing over HTTP: tokens and certificates, jobs, the consent page, the signed PDF.

A job is submitted either as the raw PDF (``Content-Type: application/pdf``,
metadata in the query string: one parse, no base64) or as JSON with
``pdf_base64``. ``signature=simple`` asks for a simple signature (station key
+ the user the clinical system asserts) where the document type allows it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, HTMLResponse, Response
from pydantic import BaseModel, Field, ValidationError

from edge_agent.api.deps import services
from edge_agent.api.security import own_origins
from edge_agent.capabilities.signing import consent as consent_page
from edge_agent.capabilities.signing import pdf_files
from edge_agent.capabilities.signing.errors import ConsentRefused, JobState
from edge_agent.capabilities.signing.job import AWAITING, DONE, SIMPLE, SigningJob
from edge_agent.capabilities.signing.pdf_files import PdfFile
from edge_agent.capabilities.signing.service import SigningService
from edge_agent.capabilities.signing.view import job_view
from edge_agent.errors import InvalidInput
from protos.document_types import DOCUMENT_TYPES
from protos.simple_signature import UserAssertion

router = APIRouter(prefix="/v1/signing", tags=["signing"])


def signing_service(request: Request) -> SigningService:
    return services(request).signing


Signing = Annotated[SigningService, Depends(signing_service)]


class CertificateOut(BaseModel):
    cert_id: str
    device_id: str
    token_label: str
    token_serial: str
    label: str
    subject: str
    issuer: str
    serial: str
    not_before: datetime
    not_after: datetime
    key_usage: list[str]
    key_type: str


class TokenOut(BaseModel):
    device_id: str
    slot_id: int
    label: str
    serial: str
    manufacturer: str
    model: str
    present: bool


class TokensOut(BaseModel):
    tokens: list[TokenOut]
    certificates: list[CertificateOut]


class UserIn(BaseModel):
    """The user as the calling clinical system asserts it (simple signatures only)."""

    user_id: str = Field(max_length=128)
    name: str = Field(max_length=256)


class SubmitIn(BaseModel):
    document_type: str = Field(examples=["SPS-53"])
    case_id: str
    patient_id: str
    role: str = Field(examples=["doctor"])
    pdf_base64: str = Field(
        default="", description="JSON form only: the PDF (signed by others, or not), base64."
    )
    cert_id: str | None = Field(default=None, description="From GET /v1/signing/tokens.")
    document_id: str | None = Field(
        default=None, description="For a PDF signed before: the document_id of its first job."
    )
    signature: Literal["advanced", "simple"] = Field(
        default="advanced",
        description="advanced: the token (PAdES). simple: the station key plus `user` "
        "(only for document types with simple_allowed); never an advanced signature.",
    )
    user: UserIn | None = None


class JobOut(BaseModel):
    job_id: str
    status: str
    document_type: str
    case_id: str
    patient_id: str
    document_id: str
    role: str
    origin: str
    input_sha256: str
    kind: str = Field(description="advanced or simple")
    cert_id: str | None
    signer_subject: str
    user: dict[str, str] | None = None
    error_code: str | None
    error_reason: str | None
    signed_sha256: str | None
    signed_size: int | None
    level: str | None
    event_id: str | None
    signed_at: datetime | None
    pin_needed: bool | None = None
    revocation: str | None = Field(
        default=None,
        description="advanced: good (the CA said not revoked) or pending (the CA could not be "
        "asked; signed under the document type's policy)",
    )
    revocation_note: str | None = Field(default=None, description="the same, in words (es/en)")
    consent_url: str | None = None
    signed_pdf_url: str | None = None


class ConsentIn(BaseModel):
    pin: str | None = Field(default=None, max_length=64)
    operator: str | None = Field(
        default=None,
        max_length=64,
        description="Who confirms with their operator PIN (may be left out at a station with a "
        "single operator).",
    )
    operator_pin: str | None = Field(
        default=None,
        max_length=64,
        description="The station operator PIN: simple signatures, and advanced ones reusing a "
        "token session where the signing policy allows it.",
    )

    def __repr__(self) -> str:  # never print a PIN
        return "ConsentIn(pin=***, operator_pin=***)"


def needs_operator_pin(service: SigningService, job: SigningJob) -> bool:
    """A consent without the token PIN needs something else only the person knows."""
    return job.kind == SIMPLE or (
        service.session_reuse_allowed(job) and not service.pin_needed(job)
    )


def _confirm_person(
    request: Request, service: SigningService, job: SigningJob, body: ConsentIn
) -> None:
    if body.pin and job.kind != SIMPLE:
        return  # the token PIN, checked by the token itself
    if job.kind == SIMPLE or service.session_reuse_allowed(job):
        container = services(request)
        confirmed_by = container.operator_pin.verify(body.operator_pin, body.operator)
        container.audit.record("consent_confirmed", job_id=job.job_id, confirmed_by=confirmed_by)


def _confirm_and_sign(
    request: Request, service: SigningService, job: SigningJob, body: ConsentIn
) -> SigningJob:
    """The person confirmed (operator PIN where needed), then the signature; the PINs leave
    the request body before anything can fail and go nowhere but their checks."""
    pin = body.pin or None
    try:
        if job.status == AWAITING:
            _confirm_person(request, service, job, body)
    finally:
        body.operator_pin = None
        body.pin = None
    try:
        return service.consent(job.job_id, pin)
    finally:
        pin = None


@router.get("/document-types")
def document_types() -> list[dict[str, object]]:
    return [
        {
            "code": t.code,
            "title": t.title,
            "signers": list(t.signers),
            "stamp": t.stamp,
            "simple_allowed": t.simple_allowed,
            "revocation_unknown": t.revocation_unknown,
        }
        for t in DOCUMENT_TYPES.values()
    ]


@router.get("/tokens", response_model=TokensOut)
async def tokens(service: Signing) -> TokensOut:
    out = TokensOut(tokens=[], certificates=[])
    for device_id, token in service.token_devices():
        for t in token.tokens():
            out.tokens.append(TokenOut(device_id=device_id, **vars(t)))
        for c in token.certificates():
            out.certificates.append(
                CertificateOut(
                    cert_id=c.cert_id,
                    device_id=device_id,
                    token_label=c.token_label,
                    token_serial=c.token_serial,
                    label=c.label,
                    subject=c.subject,
                    issuer=c.issuer,
                    serial=c.serial,
                    not_before=c.not_before,
                    not_after=c.not_after,
                    key_usage=list(c.key_usage),
                    key_type=c.key_type.value,
                )
            )
    return out


def _consent_url(request: Request, job_id: str) -> str:
    port = request.scope["server"][1]
    return f"http://127.0.0.1:{port}/v1/signing/consent/{job_id}"


def _job_out(request: Request, job: SigningJob, pin_needed: bool | None = None) -> JobOut:
    return JobOut(
        **job_view(job, pin_needed),
        consent_url=_consent_url(request, job.job_id) if not job.finished else None,
        signed_pdf_url=f"/v1/signing/jobs/{job.job_id}/pdf" if job.status == DONE else None,
    )


_QUERY_FIELDS = ("document_type", "case_id", "patient_id", "role", "cert_id", "document_id",
                 "signature")  # fmt: skip
_RAW_DOC = {
    "requestBody": {
        "content": {
            "application/pdf": {"schema": {"type": "string", "format": "binary"}},
            "application/json": {"schema": SubmitIn.model_json_schema()},
        }
    },
    "parameters": [
        {"name": n, "in": "query", "required": False, "schema": {"type": "string"}}
        for n in (*_QUERY_FIELDS, "user_id", "user_name")
    ],
}


async def _read_submission(request: Request, service: SigningService) -> tuple[SubmitIn, PdfFile]:
    """The raw PDF with metadata in the query string, or the JSON form with base64.

    The raw PDF is streamed into a private file as it arrives, hashed on the way
    (pdf_files.receive): never joined in memory, never hashed again. Megabytes of JSON and
    base64 are decoded in a worker thread, never on the event loop that answers every other
    caller. Whatever is refused leaves no file behind."""
    media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
    limit = service.settings.max_pdf_bytes
    if media_type == "application/json":
        raw = await request.body()
        return await run_in_threadpool(_parse_json, raw, service.spool, limit)
    # any other type: the bytes are the PDF
    pdf = await pdf_files.receive(request.stream(), service.spool, limit)
    try:
        return _parse_query(request), pdf
    except BaseException:
        pdf.discard()
        raise


def _parse_json(raw: bytes, spool: Path, limit: int) -> tuple[SubmitIn, PdfFile]:
    with _invalid_submission():
        meta = SubmitIn.model_validate_json(raw)
    pdf = pdf_files.from_base64(meta.pdf_base64, spool, limit)
    meta.pdf_base64 = ""
    return meta, pdf


def _parse_query(request: Request) -> SubmitIn:
    q = request.query_params
    values: dict[str, Any] = {k: q[k] for k in _QUERY_FIELDS if k in q}
    if "user_id" in q or "user_name" in q:
        values["user"] = {"user_id": q.get("user_id", ""), "name": q.get("user_name", "")}
    with _invalid_submission():
        return SubmitIn.model_validate(values)


@contextmanager
def _invalid_submission() -> Iterator[None]:
    try:
        yield
    except ValidationError as exc:
        fields = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors())
        raise InvalidInput(
            f"missing or invalid: {fields} / faltan o no son válidos: {fields}",
            code="invalid_submission",
        ) from exc


@router.post("/jobs", status_code=202, response_model=JobOut, openapi_extra=_RAW_DOC)
async def submit(request: Request, service: Signing) -> JobOut:
    """Submit a PDF to sign: the raw PDF (``application/pdf``, metadata as query parameters,
    ``user_id``/``user_name`` for simple) or JSON (``SubmitIn``). 202 with ``consent_url``."""
    body, pdf = await _read_submission(request, service)
    origin = request.headers.get("origin", "")
    user = None
    if body.signature == "simple":
        if body.user is None:
            pdf.discard()
            raise InvalidInput(
                "a simple signature needs `user` (user_id, name) as the clinical system asserts "
                "it / la firma simple requiere `user` (user_id, name)",
                code="user_assertion_required",
            )
        user = UserAssertion(body.user.user_id, body.user.name, body.role, origin)
    job = await run_in_threadpool(
        lambda: service.submit(
            pdf=pdf,
            document_type=body.document_type,
            case_id=body.case_id,
            patient_id=body.patient_id,
            role=body.role,
            origin=origin,
            cert_id=body.cert_id,
            document_id=body.document_id,
            user=user,
        )
    )
    return _job_out(request, job, service.pin_needed(job))


def _wants_pdf(request: Request) -> bool:
    """``Accept: application/pdf`` asks for the signed PDF itself; ``Prefer: return=minimal``
    (RFC 7240) always gets the reference (``signed_pdf_url``, ``signed_sha256``) instead."""
    if "return=minimal" in request.headers.get("prefer", "").replace(" ", "").lower():
        return False
    return "application/pdf" in request.headers.get("accept", "")


class _PdfFile(FileResponse):
    """A large signed PDF streamed from its body file in 1 MiB reads (not Starlette's 64 KiB:
    each read is a thread hop and a send, which cost more than the bytes for a 20 MB PDF)."""

    chunk_size = 1024 * 1024


_READ_WHOLE_BYTES = 4 * 1024 * 1024  # below this one read in one thread hop is cheapest


async def _pdf_response(service: SigningService, job: SigningJob) -> Response:
    headers = {
        "Content-Disposition": f'attachment; filename="{job.job_id}.pdf"',
        "X-Puente-Job-Status": job.status,
        "X-Puente-Document-Id": job.document_id,
        "X-Puente-Signature-Level": job.level,
        "X-Puente-Sha256": job.signed_sha256,
    }
    if job.signed_size <= _READ_WHOLE_BYTES:
        data = await run_in_threadpool(service.signed_pdf_of, job)
        return Response(data, media_type="application/pdf", headers=headers)
    # Streamed from the body file (written and fsynced once), not read into memory again.
    return _PdfFile(service.signed_pdf_path(job), media_type="application/pdf", headers=headers)


@router.get("/jobs/{job_id}", response_model=JobOut)
async def get_job(
    job_id: str,
    request: Request,
    service: Signing,
    wait_s: Annotated[float, Query(ge=0, le=120, description="Long-poll until finished")] = 0,
) -> Any:
    """Poll / long-poll a job. With ``Accept: application/pdf`` a finished, signed job answers
    with the signed PDF itself (metadata in X-Puente-* headers): one round trip less."""
    job = service.get(job_id)
    if wait_s and not job.finished:
        job = await service.wait_async(job_id, wait_s)  # no worker thread held meanwhile
    if job.status == DONE and _wants_pdf(request):
        return await _pdf_response(service, job)
    return _job_out(request, job, service.pin_needed(job) if not job.finished else None)


@router.get("/jobs/{job_id}/pdf")
async def signed_pdf(job_id: str, service: Signing) -> Response:
    """The signed PDF (the reference a finished job answers with), streamed from its file."""
    job = service.get(job_id)
    if job.status != DONE:
        raise JobState(
            f"the job is {job.status}, not done / la solicitud no está terminada",
            code="job_not_done",
        )
    return await _pdf_response(service, job)


@router.get("/consent/{job_id}", response_class=HTMLResponse)
async def consent_form(job_id: str, service: Signing) -> HTMLResponse:
    job = service.get(job_id)
    html = consent_page.render(
        kind=job.kind,
        user=f"{job.user.name} ({job.user.user_id})" if job.user else "",
        job_id=job.job_id,
        origin=job.origin,
        document_type=job.document_type,
        patient_id=job.patient_id,
        case_id=job.case_id,
        role=job.role,
        signer=job.cert.subject if job.cert else "",
        sha256=job.input_sha256,
        pin_needed=service.pin_needed(job),
        revocation_note=job_view(job)["revocation_note"] or "",
        operator_pin_needed=needs_operator_pin(service, job),
    )
    return HTMLResponse(
        html,
        headers={
            "Content-Security-Policy": "default-src 'none'; script-src 'unsafe-inline'; "
            "style-src 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'",
            "X-Frame-Options": "DENY",
            "Cache-Control": "no-store",
            "Referrer-Policy": "no-referrer",
        },
    )


def _own_origin_only(request: Request) -> None:
    origin = (request.headers.get("origin") or "").rstrip("/")
    if origin not in own_origins(int(request.scope["server"][1])):
        raise ConsentRefused(
            "consent is given only on the agent's own consent page, never by the calling site / "
            "la autorización solo se da en la página del agente, nunca desde el sitio que llama"
        )


@router.post("/jobs/{job_id}/consent", response_model=JobOut)
async def consent(job_id: str, body: ConsentIn, request: Request, service: Signing) -> Any:
    """Sign now (own origin only). Answers the finished job with ``signed_pdf_url``; with
    ``Accept: application/pdf`` the signed PDF itself."""
    _own_origin_only(request)
    job = service.get(job_id)
    # One worker thread for the person's check and the signature (not a hop for each).
    job = await run_in_threadpool(_confirm_and_sign, request, service, job, body)
    if job.status == DONE and _wants_pdf(request):
        return await _pdf_response(service, job)
    return _job_out(request, job)


@router.post("/jobs/{job_id}/decline", response_model=JobOut)
async def decline(job_id: str, request: Request, service: Signing) -> JobOut:
    _own_origin_only(request)
    return _job_out(request, service.decline(job_id))
