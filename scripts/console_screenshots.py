#!/usr/bin/env python3
"""Screenshots of the consoles for docs/console.md, taken by the Chromium tests themselves.

Runs the browser tests whose flows docs/console.md shows, with PUENTE_DOCS_SHOTS pointing at
docs/img: each test's ``check_widths`` (tests/browser/console_site.py) then also writes the
first screens of the pages named in ``DOCS_SHOTS`` at 1366 and 390 px, in 64 colours. The
tests assert what they always assert (content, no horizontal overflow); the pictures are
what they saw. Fails when the set grows past the size budget.

Run: PYTHONPATH=$PWD .venv/bin/python scripts/console_screenshots.py [--out docs/img]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TESTS = [
    "tests/browser/test_console_time_words.py::test_case_page_in_local_time_and_clinicians_words",
    "tests/browser/test_console_patient.py",
    "tests/browser/test_console_timeline.py",
    "tests/browser/test_central_station.py",
    "tests/browser/test_console_audit.py",
    "tests/browser/test_console_users.py",
    "tests/browser/test_console_fleet.py",
]
BUDGET = 1_500_000  # bytes, the whole set


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args()
    out = args.out.resolve()
    out.mkdir(parents=True, exist_ok=True)
    env = dict(os.environ, PUENTE_DOCS_SHOTS=str(out))
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(ROOT), env.get("PYTHONPATH", "")]))
    print(f"running {len(TESTS)} browser tests, screenshots to {out}", flush=True)
    run = subprocess.run([sys.executable, "-m", "pytest", "-q", *TESTS], cwd=ROOT, env=env)
    if run.returncode != 0:
        print("the browser tests failed: no screenshots kept as current", file=sys.stderr)
        return run.returncode
    shots = sorted(out.glob("*.png"))
    total = sum(p.stat().st_size for p in shots)
    for p in shots:
        print(f"{p.stat().st_size / 1024:7.1f} KiB  {p.relative_to(ROOT)}")
    print(f"{total / 1024:7.1f} KiB  total ({len(shots)} images; budget {BUDGET / 1024:.0f} KiB)")
    if total > BUDGET:
        print("over the size budget: shoot fewer pages or lower DOCS_MAX_HEIGHT", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
