"""The matching-engine interface: image → template + quality, template × template → score.

An engine is chosen per deployment; its decision threshold is a setting of the
deployment (the score scale is the engine's own). Templates are ISO/IEC
19794-2:2011 records (iso19794.py) holding one or more views of one finger.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from drivers.base import DriverError
from drivers.fingerprint.base import FingerImage


class EngineError(DriverError):
    code = "engine_error"


class PoorQuality(EngineError):
    """The image is too poor to enroll or verify with; ``reason`` says why, bilingually."""

    code = "poor_quality"


@dataclass(frozen=True, repr=False)
class Extracted:
    """One impression's template (a one-view record) and its image quality (0..100)."""

    template: bytes
    quality: int
    minutiae: int

    def __repr__(self) -> str:
        return f"Extracted(quality={self.quality}, minutiae={self.minutiae})"


class MatchingEngine(Protocol):
    name: str
    template_format: str
    default_threshold: float

    def extract(
        self, image: FingerImage, finger_position: int = 0, *, quality: str = "nfiq2"
    ) -> Extracted:
        """Template and quality of one image (no quality gate here: callers decide).

        ``quality``: "nfiq2" (NFIQ 2, for enrollment) or "fast" (a cheap measure on the
        engine's own scale, for verification)."""
        ...

    def merge(self, templates: list[bytes]) -> bytes:
        """One record holding the views of several impressions of the same finger."""
        ...

    def compare(self, probe: bytes, reference: bytes, stop_at: float | None = None) -> float:
        """Similarity of two records: the best over their views; higher is more alike.
        With ``stop_at``, may return as soon as a view pair reaches it."""
        ...
