"""Validate every signature of a PDF with pyHanko against the configured trust roots.

Per signature: integrity (the signed bytes hash to what was signed), chain to a
trust root, validity at signing time, revocation when OCSP/CRL answers are
embedded (B-LT: checked with no network), and what the later revisions changed
(only form filling and signatures allowed).

Signing time: B-T and B-LT are validated at the time of their RFC 3161
timestamp (``time_source: timestamp``, a time a trusted third party vouches
for). B-B has no trusted time, so it is validated at the time the signer
CLAIMS (the CMS signingTime / PDF /M, ``time_source: claimed``); a claimed
time later than the hub's clock is a problem. A B-B verdict therefore says
"the certificate was valid at the time the signer says it signed", no more.
"""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from io import BytesIO
from typing import Any

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.dss import DocumentSecurityStore
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.generic_cms import extract_tst_data_iter
from pyhanko.sign.validation.status import ModificationLevel, SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext


@dataclass
class SignatureCheck:
    field_name: str
    signer_subject: str
    cert_sha256: str
    signed_at: str | None  # the signer's claim
    timestamp_at: str | None  # from the TSA (B-T and up)
    level: str  # B-B, B-T, B-LT
    validated_at: str  # the moment the chain and validity were checked at
    time_source: str  # "timestamp" (B-T/B-LT), "claimed" (B-B: the signer's claim), "hub_clock"
    intact: bool
    trusted: bool
    revocation_checked: bool
    coverage: str
    modification: str
    valid: bool
    problems: list[str] = field(default_factory=list)


@dataclass
class Verdict:
    valid: bool
    code: str  # "valid", "not_a_pdf", "no_signatures", "signature_invalid"
    reason: str
    signatures: list[SignatureCheck]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def validate_pdf(data: bytes, trust_roots: list[bytes]) -> Verdict:
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
    checks = [_check(sig, roots, dss) for sig in sigs]
    bad = [c for c in checks if not c.valid]
    if bad:
        detail = "; ".join(f"{c.field_name}: {', '.join(c.problems)}" for c in bad)
        return Verdict(
            False,
            "signature_invalid",
            f"{len(bad)} of {len(checks)} signatures invalid ({detail}) / "
            f"{len(bad)} de {len(checks)} firmas no válidas",
            checks,
        )
    return Verdict(True, "valid", f"{len(checks)} valid signatures / firmas válidas", checks)


CLOCK_SKEW = timedelta(minutes=5)


def _timestamp_time(sig: Any) -> datetime | None:
    """The genTime of the signature's RFC 3161 timestamp token, if it carries one."""
    try:
        for tst in extract_tst_data_iter(sig.signer_info, signed=False):
            info = tst["encap_content_info"]["content"].parsed
            return info["gen_time"].native  # type: ignore[no-any-return]
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


def _check(sig: Any, roots: list[asn1_x509.Certificate], dss: Any) -> SignatureCheck:
    problems: list[str] = []
    status = None
    revocation_checked = False
    moment, time_source = signing_moment(sig)
    if moment > datetime.now(UTC) + CLOCK_SKEW:
        problems.append(f"signing time {moment.isoformat()} is in the future")
    if dss is not None:
        try:
            context = dss.as_validation_context(
                {
                    "trust_roots": roots,
                    "allow_fetching": False,
                    "revocation_mode": "hard-fail",
                    "moment": moment,
                }
            )
            status = validate_pdf_signature(sig, context)
            revocation_checked = bool(status.trusted)
            if not status.bottom_line:
                status = None  # retry without the embedded revocation requirement
        except (SignatureValidationError, ValueError):
            status = None
    if status is None:
        try:
            context = ValidationContext(
                trust_roots=roots, allow_fetching=False, revocation_mode="soft-fail", moment=moment
            )
            status = validate_pdf_signature(sig, context)
        except (SignatureValidationError, ValueError, PdfError) as exc:
            return SignatureCheck(
                sig.field_name, "", "", None, None, "", moment.isoformat(), time_source,
                False, False, False, "", "", False, [f"unverifiable: {exc}"],
            )  # fmt: skip
    cert = status.signing_cert
    ts = status.timestamp_validity
    level = "B-LT" if (revocation_checked and ts is not None) else ("B-T" if ts else "B-B")
    if not status.intact:
        problems.append("integrity: the signed bytes changed")
    if not status.valid:
        problems.append("signature value does not verify")
    if not status.trusted:
        problems.append(
            "certificate does not chain to a trust root or was not valid at "
            f"{moment.isoformat()} ({time_source} time)"
        )
    if ts is not None and not (ts.intact and ts.valid and ts.trusted):
        problems.append("timestamp invalid or untrusted")
    if status.coverage not in (
        SignatureCoverageLevel.ENTIRE_FILE,
        SignatureCoverageLevel.ENTIRE_REVISION,
    ):
        problems.append("signature does not cover its revision")
    mod = status.modification_level
    if mod is not None and mod not in (
        ModificationLevel.NONE,
        ModificationLevel.LTA_UPDATES,
        ModificationLevel.FORM_FILLING,
    ):
        problems.append(f"later revisions modified the document ({mod.name})")
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
        revocation_checked=revocation_checked,
        coverage=status.coverage.name if status.coverage else "",
        modification=mod.name if mod is not None else "",
        valid=not problems,
        problems=problems,
    )
