"""Signing benchmark: median ms per PAdES signature through the agent's HTTP API vs pyHanko direct.

Same SoftHSM2 token, same PDF, same run; RSA-2048 and P-256, a one-page PDF,
a 2 MB and a 20 MB one; then the hub's validation time. Targets: agent <= 1.15x
direct for one page, <= 1.10x for 2 MB and 20 MB.

The agent runs as its own process (``puente agent``), as at a station where
the caller (the browser) is another process. Rounds are INTERLEAVED: one
direct signature, one through the agent (raw PDF), one through the agent
(JSON/base64 form), one through the agent answered with a reference (the
caller allows it: ``Accept: application/json``, the signed PDF stays at the
station, named by its hash and URL), and again — so load from anything else on
the machine falls on all alike. Every signature gives the PIN (the agent asks
for it for every advanced signature). Each side has its own PKCS#11 session (one per
process, as SoftHSM2 allows).

    .venv/bin/python -m bench.sign [--rounds 15] [--sizes 1-page,2MB,20MB]
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import base64
import statistics
import tempfile
import time
from io import BytesIO
from pathlib import Path

import httpx

from drivers.token.sim import SoftHsm
from hub.signatures.validation import validate_pdf
from tests.e2e.processes import Agent as AgentProcess
from tests.signing.pdfs import make_pdf
from tests.signing.pki import PIN, make_pki, pem

KEYS = {"RSA-2048": ("01", "doctor-rsa"), "P-256": ("02", "doctor-ec")}
ORIGIN = "https://bench.example.test"


class Direct:
    """pyHanko's own PKCS#11 signer on the same token: the baseline."""

    def __init__(self, hsm: SoftHsm, key_id: str, chain: list[bytes]) -> None:
        from asn1crypto import x509 as ax
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign.pkcs11 import PKCS11Signer, open_pkcs11_session

        self.session = open_pkcs11_session(
            str(hsm.module), token_criteria=TokenCriteria(label="bench"), user_pin=PIN
        )
        self.signer = PKCS11Signer(
            self.session,
            key_id=bytes.fromhex(key_id),
            cert_id=bytes.fromhex(key_id),
            other_certs_to_pull=(),
            use_raw_mechanism=True,
            bulk_fetch=False,
        )
        self.signer.cert_registry.register_multiple([ax.Certificate.load(c) for c in chain])
        self.n = 0

    def sign(self, pdf: bytes) -> float:
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import signers
        from pyhanko.sign.fields import SigSeedSubFilter

        self.n += 1
        t = time.perf_counter()
        w = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
        meta = signers.PdfSignatureMetadata(field_name=f"Direct{self.n}", md_algorithm="sha256",
                                            subfilter=SigSeedSubFilter.PADES)  # fmt: skip
        asyncio.run(signers.PdfSigner(meta, self.signer).async_sign_pdf(w, output=BytesIO()))
        return (time.perf_counter() - t) * 1000

    def close(self) -> None:
        self.session.close()


class ViaAgent:
    """The web app's path: submit (raw PDF, or the JSON+base64 form), the consent page's click,
    then the app's long-poll answering with the signed PDF itself (Accept: application/pdf)."""

    def __init__(self, url: str, cert_id: str) -> None:
        self.app = httpx.Client(base_url=url, headers={"Origin": ORIGIN}, timeout=120)
        self.page = httpx.Client(base_url=url, headers={"Origin": url}, timeout=120)
        self.meta = {"document_type": "SPS-35", "case_id": "BENCH-1", "patient_id": "P-1",
                     "role": "doctor", "cert_id": cert_id}  # fmt: skip
        self.signed = b""

    def sign(self, pdf: bytes, json_form: bool = False, reference: bool = False) -> float:
        t = time.perf_counter()
        if json_form:
            b64 = base64.b64encode(pdf).decode()  # the web app's own cost of the JSON form
            job = self.app.post("/v1/signing/jobs", json={**self.meta, "pdf_base64": b64})
        else:
            job = self.app.post("/v1/signing/jobs", params=self.meta, content=pdf,
                                headers={"Content-Type": "application/pdf"})  # fmt: skip
        job.raise_for_status()
        job_id = job.json()["job_id"]
        self.page.post(f"/v1/signing/jobs/{job_id}/consent", json={"pin": PIN}).raise_for_status()
        accept = "application/json" if reference else "application/pdf"
        got = self.app.get(f"/v1/signing/jobs/{job_id}", params={"wait_s": 30},
                           headers={"Accept": accept})  # fmt: skip
        got.raise_for_status()
        if reference:
            assert got.json()["status"] == "done" and got.json()["signed_sha256"]
        else:
            self.signed = got.content
        return (time.perf_counter() - t) * 1000

    def close(self) -> None:
        self.app.close()
        self.page.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--sizes", default="1-page,2MB,20MB")
    parser.add_argument("--keys", default=",".join(KEYS))
    args = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="bench-sign-"))
    # Served: the hub's validation below asks the CA (OCSP) before it calls a signature valid.
    pki = make_pki(root / "pki").start()
    atexit.register(pki.stop)
    chain = [pki.certs["interm"], pki.certs["root"]]
    (root / "interm.pem").write_bytes(pem(pki.certs["interm"]))
    hsm = SoftHsm(root / "hsm")
    hsm.init_token("bench", PIN)
    for key_id, label in KEYS.values():
        hsm.import_key("bench", PIN, pki.keys[label], key_id, label)
        hsm.import_certificate("bench", PIN, pki.certs[label], key_id, label)
    hsm.activate()
    sizes = {"1-page": 0, "2MB": 2 * 1024 * 1024, "20MB": 20 * 1024 * 1024}
    pdfs = {
        name: make_pdf(padding_bytes=sizes[name]) if sizes[name] else make_pdf()
        for name in args.sizes.split(",")
    }

    device = {"device_id": "token-1", "driver": "pkcs11",
              "options": {"module": hsm.module, "idle_s": 600, "poll_s": 1.0}}  # fmt: skip
    agent = AgentProcess(
        root / "agent", "bench-station", "bench-unit", "mqtt://127.0.0.1:9",
        devices=[device], signing={"chain_certs": [str(root / "interm.pem")]},
        allowed_origins=[ORIGIN], rate_limit_per_s=1000, rate_limit_burst=1000,
        log_level="WARNING",
    ).start()  # fmt: skip
    results: dict[tuple[str, str], dict[str, float]] = {}
    signed_samples = {}
    try:
        listing = httpx.get(
            f"{agent.url}/v1/signing/tokens", headers={"Origin": ORIGIN}, timeout=30
        ).json()
        certs = {c["cert_id"].split(":")[1]: c["cert_id"] for c in listing["certificates"]}
        for kname in args.keys.split(","):
            key_id = KEYS[kname][0]
            for pname, pdf in pdfs.items():
                base, raw = Direct(hsm, key_id, chain), ViaAgent(agent.url, certs[key_id])
                times: dict[str, list[float]] = {"direct": [], "agent": [], "json": [], "ref": []}
                try:
                    for _ in range(args.rounds):
                        times["direct"].append(base.sign(pdf))
                        times["agent"].append(raw.sign(pdf))
                        times["json"].append(raw.sign(pdf, json_form=True))
                        times["ref"].append(raw.sign(pdf, reference=True))
                finally:
                    base.close()
                    raw.close()
                results[(kname, pname)] = {k: statistics.median(v) for k, v in times.items()}
                signed_samples[(kname, pname)] = raw.signed
    finally:
        agent.stop()

    print(f"rounds per cell: {args.rounds} (median ms per signature, PAdES B-B, SoftHSM2)")
    print("agent: raw PDF upload + consent + long-poll answering with the PDF; "
          "json: the same with the JSON/base64 submit; ref: raw upload, answered with a "
          "reference (hash + URL) instead of the PDF")  # fmt: skip
    print(f"{'key':9} {'pdf':7} {'direct':>9} {'agent':>9} {'ratio':>6} {'json':>9} "
          f"{'ratio':>6} {'ref':>9} {'ratio':>6} {'hub validate':>13}")  # fmt: skip
    roots = [pki.certs["root"]]
    for (kname, pname), r in results.items():
        signed = signed_samples[(kname, pname)]
        v: list[float] = []
        for _ in range(max(3, args.rounds // 3)):
            t = time.perf_counter()
            verdict = validate_pdf(signed, roots)
            v.append((time.perf_counter() - t) * 1000)
            assert verdict.valid, verdict.reason
        ratio, jratio = r["agent"] / r["direct"], r["json"] / r["direct"]
        rratio = r["ref"] / r["direct"]
        print(f"{kname:9} {pname:7} {r['direct']:9.1f} {r['agent']:9.1f} {ratio:6.2f} "
              f"{r['json']:9.1f} {jratio:6.2f} {r['ref']:9.1f} {rratio:6.2f} "
              f"{statistics.median(v):13.1f}")  # fmt: skip


if __name__ == "__main__":
    main()
