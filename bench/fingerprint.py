"""Fingerprint figures: extract/compare times, verify latency, FNMR at FMR 1 % and 0.1 %, EER.

Run: ``.venv/bin/python -m bench.fingerprint [--fingers 60] [--impressions 4] [--seed 1]``.
On the synthetic set (drivers/fingerprint/synthetic.py): every impression is
extracted; genuine pairs are all pairs of one finger's impressions, impostor
pairs the first impressions of every two fingers. Verify = extract + quality +
compare against a 3-view enrolled record (capture excluded), with a baseline:
the comparison alone, measured in the same run. Targets: verify median
≤ 150 ms, EER ≤ 2 %.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from itertools import combinations
from pathlib import Path

import numpy as np

from drivers.fingerprint import synthetic
from drivers.fingerprint.base import FingerImage
from drivers.fingerprint.nbis import NbisEngine


def _image(pixels: np.ndarray) -> FingerImage:
    return FingerImage(pixels.shape[1], pixels.shape[0], pixels.tobytes(), 500)


def fnmr_at_fmr(genuine: np.ndarray, impostor: np.ndarray, fmr: float) -> tuple[float, float]:
    """(threshold, FNMR) at the lowest threshold whose FMR ≤ fmr (scores: higher = match)."""
    for t in np.unique(np.concatenate([genuine, impostor, [np.inf]])):
        if np.mean(impostor >= t) <= fmr:
            return float(t), float(np.mean(genuine < t))
    return float("inf"), 1.0


def eer(genuine: np.ndarray, impostor: np.ndarray) -> float:
    best = (2.0, 0.0)
    for t in np.unique(np.concatenate([genuine, impostor])):
        fnmr, fmr = float(np.mean(genuine < t)), float(np.mean(impostor >= t))
        if abs(fnmr - fmr) < best[0]:
            best = (abs(fnmr - fmr), (fnmr + fmr) / 2)
    return best[1]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--fingers", type=int, default=60)
    ap.add_argument("--impressions", type=int, default=4)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("bench/results/fingerprint.json"))
    args = ap.parse_args()
    engine = NbisEngine()

    t0 = time.perf_counter()
    images = {
        (f, k): _image(synthetic.impression(args.seed, f, k))
        for f in range(args.fingers)
        for k in range(args.impressions)
    }
    gen_s = time.perf_counter() - t0

    extract_ms, templates, qualities = [], {}, []
    for key, img in images.items():
        s = time.perf_counter()
        got = engine.extract(img)
        extract_ms.append((time.perf_counter() - s) * 1e3)
        templates[key] = got.template
        qualities.append(got.quality)

    genuine, genuine_ms = [], []
    for f in range(args.fingers):
        for a, b in combinations(range(args.impressions), 2):
            s = time.perf_counter()
            genuine.append(engine.compare(templates[f, a], templates[f, b]))
            genuine_ms.append((time.perf_counter() - s) * 1e3)
    impostor, impostor_ms = [], []
    for f, g in combinations(range(args.fingers), 2):
        s = time.perf_counter()
        impostor.append(engine.compare(templates[f, 0], templates[g, 0]))
        impostor_ms.append((time.perf_counter() - s) * 1e3)

    # verify = extract a probe + compare with a 3-view enrolled record (capture excluded)
    verify_ms, compare_only_ms = [], []
    enrolled_views = min(3, args.impressions - 1)
    for f in range(min(args.fingers, 30)):
        record = engine.merge([templates[f, k] for k in range(enrolled_views)])
        probe_img = images[f, args.impressions - 1]
        s = time.perf_counter()
        probe = engine.extract(probe_img)
        engine.compare(probe.template, record)
        verify_ms.append((time.perf_counter() - s) * 1e3)
        s = time.perf_counter()
        engine.compare(probe.template, record)
        compare_only_ms.append((time.perf_counter() - s) * 1e3)

    g, i = np.array(genuine), np.array(impostor)
    t1, fnmr1 = fnmr_at_fmr(g, i, 0.01)
    t01, fnmr01 = fnmr_at_fmr(g, i, 0.001)
    result = {
        "set": {
            "fingers": args.fingers,
            "impressions_per_finger": args.impressions,
            "seed": args.seed,
            "genuine_pairs": len(genuine),
            "impostor_pairs": len(impostor),
            "generation_s": round(gen_s, 1),
            "nfiq2_median": statistics.median(qualities),
        },
        "extract_ms_median": round(statistics.median(extract_ms), 1),
        "compare_genuine_ms_median": round(statistics.median(genuine_ms), 2),
        "compare_impostor_ms_median": round(statistics.median(impostor_ms), 2),
        "verify_ms_median": round(statistics.median(verify_ms), 1),
        "verify_ms_p95": round(float(np.percentile(verify_ms, 95)), 1),
        "baseline_compare_3view_ms_median": round(statistics.median(compare_only_ms), 2),
        "verify_vs_baseline_ratio": round(
            statistics.median(verify_ms) / statistics.median(compare_only_ms), 1
        ),
        "fnmr_at_fmr_1pct": round(fnmr1, 4),
        "threshold_at_fmr_1pct": t1,
        "fnmr_at_fmr_0_1pct": round(fnmr01, 4),
        "threshold_at_fmr_0_1pct": t01,
        "eer": round(eer(g, i), 4),
        "genuine_score_min_median": [float(g.min()), float(np.median(g))],
        "impostor_score_median_max": [float(np.median(i)), float(i.max())],
        "targets": {"verify_ms_median_max": 150, "eer_max": 0.02},
    }
    result["targets_met"] = {
        "verify": result["verify_ms_median"] <= 150,
        "eer": result["eer"] <= 0.02,
    }
    print(json.dumps(result, indent=2))
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
