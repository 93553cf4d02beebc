"""What asking the CA costs: the agent's revocation check and the hub's validation with it.

Run: ``python -m bench.revocation --rounds 15``. A certomancer PKI serves OCSP and CRLs on
loopback (``certomancer animate``). Printed, median ms and ratios in the same run:
- agent: a fresh check of a good certificate by OCSP, of a revoked one by CRL only, of one
  whose CA does not answer (connection refused), and a cached "good" answer (submit → consent);
- hub: validating a B-B signature asking the CA (``fetch``) vs not asking (the old cost, which
  could not say "valid" honestly).
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from edge_agent.capabilities.signing.revocation import RevocationChecker
from hub.signatures.validation import validate_pdf
from tests.signing.pki import make_pki
from tests.signing.test_verdicts import _sign_b_b


def _median_ms(fn: object, rounds: int) -> float:
    times = []
    for _ in range(rounds):
        t = time.perf_counter()
        fn()  # type: ignore[operator]
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-revocation-"))
    pki = make_pki(root / "pki").start()
    try:
        roots, chain = [pki.certs["root"]], [pki.certs["interm"]]

        def fresh(label: str) -> None:
            RevocationChecker(roots, chain, timeout_s=5).status(pki.certs[label])

        cached = RevocationChecker(roots, chain, timeout_s=5)
        cached.status(pki.certs["doctor-rsa"])
        pdf = _sign_b_b(pki, root, "doctor-rsa", datetime.now(UTC))
        assert validate_pdf(pdf, roots).code == "valid"
        rows = {
            "agent: OCSP good (fresh)": _median_ms(lambda: fresh("doctor-rsa"), args.rounds),
            "agent: CRL revoked (fresh)": _median_ms(lambda: fresh("revoked-crl-rsa"), args.rounds),
            "agent: CA unreachable": _median_ms(lambda: fresh("offline-rsa"), args.rounds),
            "agent: cached good": _median_ms(
                lambda: cached.status(pki.certs["doctor-rsa"]), args.rounds
            ),
            "hub: validate, no fetch": _median_ms(
                lambda: validate_pdf(pdf, roots, fetch=False), args.rounds
            ),
            "hub: validate, asks the CA": _median_ms(lambda: validate_pdf(pdf, roots), args.rounds),
        }
    finally:
        pki.stop()
    base = rows["hub: validate, no fetch"]
    print(f"rounds: {args.rounds}; median ms; ratio vs hub validation without asking the CA")
    for name, ms in rows.items():
        print(f"{name:30} {ms:9.2f} {ms / base:7.2f}")


if __name__ == "__main__":
    main()
