"""The signing certificate's revocation status, asked of the CA the certificate names.

The OCSP responder (Authority Information Access) or the CRL distribution
points of the signer's certificate and of its chain are asked through
pyhanko-certvalidator in hard-fail mode, so that a REVOKED answer is never
confused with an unreachable CA (the old code logged both as "not reachable"
and signed). GOOD answers are kept ``max_age_s`` per certificate (the submit's
check serves the consent's) together with the validation context that holds
them, which pyHanko then embeds for B-LT. What to do with UNKNOWN is the
document type's policy (``protos/document_types.py``), decided by the caller.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from asn1crypto import x509 as asn1_x509
from pyhanko_certvalidator import CertificateValidator, ValidationContext
from pyhanko_certvalidator.errors import PathValidationError, RevokedError, ValidationError
from pyhanko_certvalidator.fetchers.requests_fetchers import RequestsFetcherBackend

log = logging.getLogger(__name__)

GOOD, REVOKED, UNKNOWN = "good", "revoked", "unknown"

# RFC 5280 CRLReason -> Spanish (English comes from asn1crypto's human_friendly).
_REASONS_ES = {
    "unspecified": "sin especificar",
    "key_compromise": "clave comprometida",
    "ca_compromise": "CA comprometida",
    "affiliation_changed": "cambio de afiliación",
    "superseded": "reemplazado",
    "cessation_of_operation": "cese de operaciones",
    "certificate_hold": "suspendido",
    "remove_from_crl": "retirado de la CRL",
    "privilege_withdrawn": "privilegio retirado",
    "aa_compromise": "AA comprometida",
}


@dataclass(frozen=True)
class RevocationStatus:
    status: str  # GOOD, REVOKED or UNKNOWN
    checked_at: datetime
    source: str = ""  # "OCSP" or "CRL" when the CA answered
    revoked_at: datetime | None = None
    reason_en: str = ""  # CRL reason of a revocation
    reason_es: str = ""
    ca_revoked: bool = False  # a CA of the chain is revoked, not the signer's certificate
    detail: str = ""  # why the status is UNKNOWN
    context: Any = None  # the ValidationContext holding the CA's answers (GOOD only)


class RevocationChecker:
    """Asks the CA named in a certificate whether it is revoked (thread-safe, cached GOOD)."""

    def __init__(
        self,
        trust_roots: list[bytes],
        chain: list[bytes],
        timeout_s: float = 10.0,
        max_age_s: float = 60.0,
    ) -> None:
        self.roots = [asn1_x509.Certificate.load(r) for r in trust_roots]
        self.chain = [asn1_x509.Certificate.load(c) for c in chain]
        self.timeout_s = timeout_s
        self.max_age_s = max_age_s
        self._cache: dict[str, tuple[float, RevocationStatus]] = {}
        self._lock = threading.Lock()

    def status(self, cert_der: bytes) -> RevocationStatus:
        key = hashlib.sha256(cert_der).hexdigest()
        with self._lock:
            hit = self._cache.get(key)
        if hit is not None and time.monotonic() - hit[0] < self.max_age_s:
            return hit[1]
        if not self.roots:  # nobody to ask: no event loop made for nothing
            return _no_roots()
        result = asyncio.run(self._ask(asn1_x509.Certificate.load(cert_der)))
        with self._lock:
            if result.status == GOOD:
                self._cache[key] = (time.monotonic(), result)
            else:
                self._cache.pop(key, None)
        return result

    async def _ask(self, cert: asn1_x509.Certificate) -> RevocationStatus:
        now = datetime.now(UTC)
        if not self.roots:
            return _no_roots()
        context = ValidationContext(
            trust_roots=self.roots,
            other_certs=self.chain,
            allow_fetching=True,
            revocation_mode="hard-fail",
            fetcher_backend=RequestsFetcherBackend(per_request_timeout=max(1, int(self.timeout_s))),
        )
        try:
            validator = CertificateValidator(
                cert, intermediate_certs=self.chain, validation_context=context
            )
            await validator.async_validate_usage(set())
        except RevokedError as exc:
            text = str(exc)
            reason = exc.reason.native or "unspecified"
            log.warning("certificate revoked: %s", text)
            return RevocationStatus(
                REVOKED,
                now,
                source="OCSP" if text.startswith("OCSP") else "CRL",
                revoked_at=exc.revocation_dt,
                reason_en=exc.reason.human_friendly,
                reason_es=_REASONS_ES.get(reason, reason),
                ca_revoked=not exc.is_ee_cert,
                detail=text,
            )
        except (PathValidationError, ValidationError, OSError, ValueError) as exc:
            log.warning("revocation status unavailable: %s", exc)
            return RevocationStatus(UNKNOWN, now, detail=str(exc)[:300] or type(exc).__name__)
        ocsps = list(getattr(context, "ocsps", []) or [])
        return RevocationStatus(GOOD, now, source="OCSP" if ocsps else "CRL", context=context)


def _no_roots() -> RevocationStatus:
    return RevocationStatus(
        UNKNOWN, datetime.now(UTC), detail="no trust roots configured (signing.trust_roots)"
    )
