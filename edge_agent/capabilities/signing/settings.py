"""The signing settings of the agent (``[signing]`` in the agent's TOML)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, Field


class SigningSettings(BaseModel):
    tsa_url: str | None = Field(
        default=None,
        description="RFC 3161 timestamp authority; set: signatures are PAdES B-T (or B-LT).",
    )
    long_term: bool = Field(
        default=True,
        description="Embed the CA's OCSP/CRL answers (PAdES B-LT) when a TSA is set and the CA "
        "said 'not revoked'; otherwise sign B-T.",
    )
    trust_roots: list[Path] = Field(
        default_factory=list,
        description="PEM or DER root certificates of the signing PKI: the chain up to them is "
        "checked for revocation before every advanced signature; none configured: the status is "
        "unknown and the document type's policy applies (docs/signing.md).",
    )
    chain_certs: list[Path] = Field(
        default_factory=list,
        description="Intermediate certificates embedded in signatures (PEM or DER).",
    )
    revocation_timeout_s: float = Field(
        default=5.0,
        gt=0,
        le=60,
        description="Per request to the CA's OCSP responder / CRL when checking revocation.",
    )
    revocation_max_age_s: float = Field(
        default=60.0,
        ge=0,
        description="A 'not revoked' answer is reused this long for the same certificate "
        "(the submit's check serves the consent's); a revoked one is never cached.",
    )
    consent_timeout_s: float = Field(
        default=300.0, gt=0, description="A job not consented to within this time expires."
    )
    max_pdf_bytes: int = Field(
        default=50 * 1024 * 1024, ge=1024, description="Largest PDF accepted for signing."
    )
    location: str = Field(default="", description="Place written into signatures (unit name).")
    session_reuse_document_types: list[str] = Field(
        default_factory=list,
        description="Document types whose ADVANCED signatures may reuse a token session still "
        "open from the last PIN (the token device's idle_s) instead of asking the PIN again; the "
        "station's operator PIN is then asked instead. Empty (default): the token PIN is asked "
        "for every advanced signature.",
    )
