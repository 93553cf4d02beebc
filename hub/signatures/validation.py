"""Validate every signature of a PDF with pyHanko: a verdict in words, never assumed valid.

Per signature: integrity (the signed bytes hash to what was signed), chain to a
trust root, validity at signing time, REVOCATION AT SIGNING TIME, and what the
later revisions changed (only form filling and signatures allowed).

Revocation is checked from the answers embedded in the PDF's DSS (B-LT, no
network) or, when none are embedded, by asking the CA the certificate names
(OCSP / CRL, ``fetch``); a fresh "good" answer also says "not revoked at
signing time", and a "revoked" one counts only if the revocation came on or
before that time. Each signature gets one verdict:

- ``valid``: intact, trusted, valid at signing time, revocation checked.
- ``revoked``: the CA says the certificate (or a CA of its chain) was revoked.
- ``expired``: not valid (expired / not yet valid) at the signing time.
- ``revocation_unknown``: otherwise fine, but no revocation answer could be had
  (the CA is unreachable): validated again later (worker.py).
- ``untrusted``: intact, but no chain to a trust root, an untrusted timestamp, or
  a signing time in the future.
- ``broken``: the signed bytes changed, the signature value does not verify,
  it does not cover its revision, or later revisions changed the document.

The document's verdict is the worst of its signatures (in that order, from
broken down to valid); ``not_a_pdf`` and ``no_signatures`` are their own codes.

Signing time: B-T and B-LT are validated at the time of their RFC 3161
timestamp (``time_source: timestamp``, a time a trusted third party vouches
for). B-B has no trusted time, so it is validated at the time the signer
CLAIMS (the CMS signingTime / PDF /M, ``time_source: claimed``); a claimed
time later than the hub's clock is a problem. A B-B verdict therefore says
"the certificate was valid at the time the signer says it signed", no more.
"""

from __future__ import annotations

import asyncio
import hashlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.ades.report import AdESFailure, AdESIndeterminate
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.generic_cms import extract_tst_data_iter
from pyhanko.sign.validation.status import (
    ModificationLevel,
    RevocationDetails,
    SignatureCoverageLevel,
)
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import RevokedError
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

VALID, REVOKED, EXPIRED, REVOCATION_UNKNOWN, UNTRUSTED, BROKEN = (
    "valid", "revoked", "expired", "revocation_unknown", "untrusted", "broken",
)  # fmt: skip
SEVERITY = (BROKEN, REVOKED, EXPIRED, UNTRUSTED, REVOCATION_UNKNOWN, VALID)  # worst first
_OUT_OF_BOUNDS = {
    AdESIndeterminate.OUT_OF_BOUNDS_NO_POE,
    AdESIndeterminate.OUT_OF_BOUNDS_NOT_REVOKED,
    AdESIndeterminate.EXPIRED,
    AdESIndeterminate.NOT_YET_VALID,
    AdESFailure.NOT_YET_VALID,
}


@dataclass
class SignatureCheck:
    field_name: str
    signer_subject: str
    cert_sha256: str
    signed_at: str | None  # the signer's claim
    timestamp_at: str | None  # from the TSA (B-T and up)
    level: str  # B-B, B-T, B-LT
    validated_at: str  # the moment the chain, validity and revocation were checked at
    time_source: str  # "timestamp" (B-T/B-LT), "claimed" (B-B: the signer's claim), "hub_clock"
    intact: bool
    trusted: bool
    revocation_checked: bool
    coverage: str
    modification: str
    valid: bool
    problems: list[str] = field(default_factory=list)
    verdict: str = BROKEN  # one of SEVERITY
    revocation_source: str = ""  # "embedded" (the PDF's DSS), "fetched" (asked the CA), ""
    revoked_at: str | None = None
    revocation_reason: str = ""


@dataclass
class Verdict:
    valid: bool
    code: str  # a verdict of SEVERITY, or "not_a_pdf", "no_signatures"
    reason: str
    signatures: list[SignatureCheck]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


_SAYS = {
    VALID: "valid, revocation checked / válidas, revocación verificada",
    REVOKED: "certificate REVOKED / certificado REVOCADO",
    EXPIRED: "certificate not valid at signing time / certificado no vigente al firmar",
    UNTRUSTED: "intact but not trusted / íntegras pero no confiables",
    REVOCATION_UNKNOWN: "revocation status unknown (CA unreachable) / "
    "estado de revocación desconocido (CA inaccesible)",
    BROKEN: "BROKEN: the document or signature does not verify / "
    "ROTA: el documento o la firma no verifica",
}


def validate_pdf(
    data: bytes, trust_roots: list[bytes], *, fetch: bool = True, timeout_s: float = 5.0
) -> Verdict:
    """Every signature's verdict; ``fetch``: ask the CA when the PDF embeds no answers."""
    roots = [asn1_x509.Certificate.load(r) for r in trust_roots]
    try:
        reader = PdfFileReader(BytesIO(data), strict=False)
        sigs = reader.embedded_signatures
    except (PdfError, ValueError, KeyError, TypeError, IndexError) as exc:
        return Verdict(False, "not_a_pdf", f"unreadable PDF: {exc} / PDF ilegible", [])
    if not sigs:
        return Verdict(
            False, "no_signatures", "no signature in the PDF / el PDF no tiene firmas", []
        )
    dss = None
    try:
        if "/DSS" in reader.root:
            dss = DocumentSecurityStore.read_dss(reader)
    except Exception:
        dss = None
    checks = [_check(sig, roots, dss, fetch, timeout_s) for sig in sigs]
    code = min((c.verdict for c in checks), key=SEVERITY.index)
    if code == VALID:
        return Verdict(True, VALID, f"{len(checks)} signatures {_SAYS[VALID]}", checks)
    bad = [c for c in checks if c.verdict != VALID]
    detail = "; ".join(f"{c.field_name}: {c.verdict} ({', '.join(c.problems)})" for c in bad)
    return Verdict(
        False,
        code,
        f"{len(bad)} of {len(checks)} signatures not valid / {len(bad)} de {len(checks)} "
        f"firmas no válidas — {_SAYS[code]}: {detail}",
        checks,
    )


CLOCK_SKEW = timedelta(minutes=5)


def _timestamp_time(sig: Any) -> datetime | None:
    """The genTime of the signature's RFC 3161 timestamp token, if it carries one."""
    try:
        for tst in extract_tst_data_iter(sig.signer_info, signed=False):
            info = tst["encap_content_info"]["content"].parsed
            at: datetime = info["gen_time"].native
            return at
    except Exception:
        return None
    return None


def signing_moment(sig: Any) -> tuple[datetime, str]:
    """When to validate ``sig`` at: its timestamp's time, else the signer's claimed time."""
    ts = _timestamp_time(sig)
    if ts is not None:
        return ts, "timestamp"
    claimed = sig.self_reported_timestamp
    if claimed is not None:
        return claimed, "claimed"
    return datetime.now(UTC), "hub_clock"


def _context(
    roots: list[asn1_x509.Certificate],
    moment: datetime,
    dss: Any,
    *,
    fetch: bool,
    hard: bool,
    timeout_s: float,
) -> ValidationContext:
    kwargs: dict[str, Any] = {
        "trust_roots": roots,
        "allow_fetching": fetch,
        "revocation_mode": "hard-fail" if hard else "soft-fail",
        "moment": moment,
    }
    if fetch:
        # An answer fetched now speaks for the signing time too: "good" now means never
        # revoked; "revoked" carries its date, compared with the signing time.
        kwargs["retroactive_revinfo"] = True
        kwargs["fetcher_backend"] = RequestsFetcherBackend(
            per_request_timeout=max(1, int(timeout_s))
        )
    if dss is not None:
        context: ValidationContext = dss.as_validation_context(kwargs)
        return context
    return ValidationContext(**kwargs)


def _attempt(sig: Any, context: ValidationContext) -> Any:
    try:
        return validate_pdf_signature(sig, context)
    except (SignatureValidationError, ValueError, PdfError):
        return None


def _revoked_now(
    sig: Any, status: Any, roots: list[asn1_x509.Certificate], fetched: ValidationContext
) -> Any:
    """The revocation of the signer's chain as of now (RevocationDetails), or None, from the
    answers the CA just gave (``fetched``: no second round trip)."""
    cert = status.signing_cert
    if cert is None:
        return None
    context = ValidationContext(
        trust_roots=roots,
        ocsps=fetched.ocsps,
        crls=fetched.crls,
        allow_fetching=False,
        revocation_mode="soft-fail",
    )
    validator = CertificateValidator(
        cert, intermediate_certs=list(sig.other_embedded_certs), validation_context=context
    )
    try:
        asyncio.run(validator.async_validate_usage(set()))
    except RevokedError as exc:
        return RevocationDetails(not exc.is_ee_cert, exc.revocation_dt, exc.reason)
    except Exception:  # expired now, unreachable now: the check at the signing time stands
        return None
    return None


def _check(
    sig: Any, roots: list[asn1_x509.Certificate], dss: Any, fetch: bool, timeout_s: float
) -> SignatureCheck:
    problems: list[str] = []
    moment, time_source = signing_moment(sig)
    if moment > datetime.now(UTC) + CLOCK_SKEW:
        problems.append(f"signing time {moment.isoformat()} is in the future")
    # Revocation at the signing time: the embedded answers first, then the CA itself.
    attempts = []
    if dss is not None:
        attempts.append(("embedded", dict(fetch=False)))
    if fetch:
        attempts.append(("fetched", dict(fetch=True)))
    status, source, revoked, used = None, "", None, None
    for name, how in attempts:
        used = _context(roots, moment, dss, hard=True, timeout_s=timeout_s, **how)
        got = _attempt(sig, used)
        if got is not None and got.revocation_details is not None:
            status, source, revoked = got, name, got.revocation_details
            break
        if got is not None and got.bottom_line:
            status, source = got, name
            break
    revocation_checked = status is not None
    if status is not None and revoked is None and (source, time_source) == ("fetched", "claimed"):
        # No trusted time (B-B): a signer holding a revoked key can claim any earlier time, so
        # a revocation the CA reports now counts whatever the claimed time (no proof of
        # existence before it; AdES REVOKED_NO_POE).
        revoked = _revoked_now(sig, status, roots, used)  # type: ignore[arg-type]  # set by the loop that set status
    if status is None:  # no revocation answer: what else holds (soft-fail, no network)
        status = _attempt(sig, _context(roots, moment, dss, fetch=False, hard=False,
                                        timeout_s=timeout_s))  # fmt: skip
    if status is None:
        return SignatureCheck(
            sig.field_name, "", "", None, None, "", moment.isoformat(), time_source,
            False, False, False, "", "", False, ["unverifiable: the signature cannot be read"],
            BROKEN,
        )  # fmt: skip
    cert = status.signing_cert
    ts = status.timestamp_validity
    level = "B-LT" if (source == "embedded" and ts is not None) else ("B-T" if ts else "B-B")
    broken: list[str] = []
    if not status.intact:
        broken.append("integrity: the signed bytes changed")
    if not status.valid:
        broken.append("signature value does not verify")
    if status.coverage not in (
        SignatureCoverageLevel.ENTIRE_FILE,
        SignatureCoverageLevel.ENTIRE_REVISION,
    ):
        broken.append("signature does not cover its revision")
    mod = status.modification_level
    if mod is not None and mod not in (
        ModificationLevel.NONE,
        ModificationLevel.LTA_UPDATES,
        ModificationLevel.FORM_FILLING,
    ):
        broken.append(f"later revisions modified the document ({mod.name})")
    out_of_bounds = status.trust_problem_indic in _OUT_OF_BOUNDS
    if revoked is not None:
        problems.append(
            f"certificate {'of a CA of the chain ' if revoked.ca_revoked else ''}revoked on "
            f"{revoked.revocation_date.isoformat()} ({revoked.revocation_reason.human_friendly})"
            + (
                f", before the signing time {moment.isoformat()} ({time_source} time)"
                if revoked.revocation_date <= moment
                else f"; the signing time {moment.isoformat()} is only claimed by the signer"
            )
        )
    elif out_of_bounds:
        problems.append(
            f"certificate not valid (expired or not yet valid) at {moment.isoformat()} "
            f"({time_source} time)"
        )
    elif not status.trusted:
        problems.append(
            "certificate does not chain to a trust root or was not valid at "
            f"{moment.isoformat()} ({time_source} time)"
        )
    if ts is not None and not (ts.intact and ts.valid and ts.trusted):
        problems.append("timestamp invalid or untrusted")
    if not revocation_checked and not broken and revoked is None and status.trusted:
        problems.append(
            "revocation not checked: no answer embedded and the CA's OCSP/CRL "
            + ("did not answer" if fetch else "was not asked (fetching is off)")
        )
    problems = broken + problems
    if broken:
        verdict = BROKEN
    elif revoked is not None:
        verdict = REVOKED
    elif out_of_bounds:
        verdict = EXPIRED
    elif not status.trusted or any(p.startswith(("timestamp", "signing time")) for p in problems):
        verdict = UNTRUSTED
    elif not revocation_checked:
        verdict = REVOCATION_UNKNOWN
    else:
        verdict = VALID
    return SignatureCheck(
        field_name=sig.field_name,
        signer_subject=cert.subject.human_friendly if cert is not None else "",
        cert_sha256=hashlib.sha256(cert.dump()).hexdigest() if cert is not None else "",
        signed_at=_iso(status.signer_reported_dt),
        timestamp_at=_iso(ts.timestamp) if ts is not None else None,
        level=level,
        validated_at=moment.isoformat(),
        time_source=time_source,
        intact=bool(status.intact),
        trusted=bool(status.trusted),
        revocation_checked=revocation_checked and revoked is None,
        coverage=status.coverage.name if status.coverage else "",
        modification=mod.name if mod is not None else "",
        valid=verdict == VALID,
        problems=problems,
        verdict=verdict,
        revocation_source=source,
        revoked_at=_iso(revoked.revocation_date) if revoked is not None else None,
        revocation_reason=revoked.revocation_reason.human_friendly if revoked else "",
    )
