"""The agent's fingerprint settings: `[fingerprint]` in agent.toml, PUENTE_AGENT_FINGERPRINT__*."""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr

from drivers.fingerprint import calibration


class FingerprintSettings(BaseModel):
    hub_url: str = Field(
        default="",
        description="Hub API base URL the templates are fetched from; empty: cache only.",
    )
    hub_token: SecretStr | None = Field(
        default=None, description="This station's API token at the hub (role 'station')."
    )
    hub_timeout_s: float = Field(default=3.0, gt=0, description="Template fetch timeout.")
    engine: str = Field(default="nbis", description="Matching engine (only 'nbis' today).")
    threshold: float = Field(
        default=calibration.THRESHOLD,
        gt=0,
        description="Decision threshold (Bozorth3 score); the default is calibrated for FMR "
        "≤ 0.1 % (drivers/fingerprint/calibration.py, docs/fingerprint.md).",
    )
    enroll_impressions: int = Field(
        default=3, ge=1, le=10, description="Impressions per enrollment."
    )
    min_quality: int = Field(
        default=calibration.ENROLL_MIN_NFIQ2,
        ge=0,
        le=100,
        description="Least NFIQ 2 score (afis's implementation) of an enrollment impression.",
    )
    enroll_min_minutiae: int = Field(
        default=calibration.ENROLL_MIN_MINUTIAE,
        ge=1,
        description="Least minutiae in an enrollment impression.",
    )
    min_minutiae: int = Field(default=12, ge=1, description="Least minutiae in a verify capture.")
    verify_min_quality: int = Field(
        default=20,
        ge=0,
        le=100,
        description="Least fast quality (coverage × minutia reliability) of a verify capture.",
    )
    cache_max_age_s: int = Field(
        default=7 * 24 * 3600,
        ge=0,
        description="How old cached templates may be when the hub is unreachable.",
    )
    keep_images: bool = Field(
        default=False,
        description="Keep captured images as WSQ in data_dir/fingerprint-images (default: never).",
    )
