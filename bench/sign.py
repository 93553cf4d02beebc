"""Signing benchmark: median ms per PAdES signature through the agent's HTTP API vs pyHanko direct.

Same SoftHSM2 token, same key, same PDF, same run; RSA-2048 and P-256, a
one-page PDF, a 2 MB and a 20 MB one; then the hub's validation time. Targets:
agent <= 1.15x direct for one page, <= 1.10x for 2 MB and 20 MB.

The baseline is pyHanko used by a program that signs a PDF file into a PDF
file with the token's PIN, as the agent must: per signature it opens a PKCS#11
session and logs in with the PIN (the agent asks the PIN for every advanced
signature and logs in with it), reads the input file, and has pyHanko write
the signed PDF straight into an output file (opened read-write, so pyHanko
hashes from it; 1 MiB reads, the agent's setting). PAdES B-B, SHA-256, same
field metadata; the certificate given and the signature's room reserved as the
agent does (no dry-run sizing), so both do the same pyHanko work. It does not
fsync: the agent does (the signed PDF is kept durably before its event), which
the ratios include. For reference the table also shows pyHanko used as its
documentation shows (bytes in, BytesIO out, defaults: certificate read from the
token, room sized by a dry run), with the same login; and the login alone.

The agent runs as its own process (``puente agent``), as at a station where
the caller (the browser) is another process; the client sets TCP_NODELAY as
browsers do. Through the agent, as a web app and the consent page do it: the
submit, then the app's long-poll waiting while the consent page's click (the
PIN) is posted — the app long-polls as soon as it has the job id, so the
signature's end wakes it, one round trip less on the critical path than polling
after the click (``--serial-poll``: that older order). Ways: the raw PDF
answered with the signed PDF (``Accept: application/pdf``), the JSON/base64
form answered with the PDF, the raw PDF answered with a reference (``Prefer:
return=minimal``: the signed PDF stays at the station, named by its hash and
URL). Rounds are INTERLEAVED, direct, direct in memory, agent, json, ref, each
round starting one place further along (so that no way always follows the
same one), so load from anything else on the machine falls on all alike.
Medians; the load average is printed.

    .venv/bin/python -m bench.sign [--rounds 15] [--sizes 1-page,2MB,20MB] [--serial-poll]
"""

from __future__ import annotations

import argparse
import asyncio
import atexit
import base64
import os
import socket
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from io import BytesIO
from pathlib import Path

import httpx

from drivers.token.sim import SoftHsm
from edge_agent.capabilities.signing.pades import FILE_CHUNK_BYTES, TokenSigner
from hub.signatures.validation import validate_pdf
from tests.e2e.processes import Agent as AgentProcess
from tests.signing.pdfs import make_pdf
from tests.signing.pki import PIN, make_pki, pem

KEYS = {"RSA-2048": ("01", "doctor-rsa"), "P-256": ("02", "doctor-ec")}
ORIGIN = "https://bench.example.test"


class Direct:
    """pyHanko's own PKCS#11 signer on the same token and key: the baseline."""

    def __init__(
        self, hsm: SoftHsm, key_id: str, cert: bytes, chain: list[bytes], work: Path, ec: bool
    ) -> None:
        from asn1crypto import x509 as ax
        from pyhanko.config.pkcs11 import TokenCriteria
        from pyhanko.sign.pkcs11 import open_pkcs11_session

        self.module, self.key_id = str(hsm.module), bytes.fromhex(key_id)
        self.criteria = TokenCriteria(label="bench")
        self.cert = ax.Certificate.load(cert)
        self.chain = [ax.Certificate.load(c) for c in chain]
        # The same room for the signature as the agent reserves (no dry-run sizing), so the
        # baseline does the same pyHanko work as the agent does.
        sizer = TokenSigner(cert, lambda _: b"", chain, key_size_bytes=80 if ec else 512)
        self.reserved = sizer.reserve_hex_chars(False)
        self.work = work
        self.n = 0
        self._open = open_pkcs11_session

    def _signer(self, session: object, known_cert: bool = False) -> object:
        from pyhanko.sign.pkcs11 import PKCS11Signer

        signer = PKCS11Signer(session, key_id=self.key_id, cert_id=self.key_id,  # type: ignore[arg-type]
                              signing_cert=self.cert if known_cert else None,
                              other_certs_to_pull=(), use_raw_mechanism=True,
                              bulk_fetch=False)  # fmt: skip
        signer.cert_registry.register_multiple(self.chain)
        return signer

    def _meta(self) -> object:
        from pyhanko.sign import signers
        from pyhanko.sign.fields import SigSeedSubFilter

        self.n += 1
        return signers.PdfSignatureMetadata(field_name=f"Direct{self.n}", md_algorithm="sha256",
                                            subfilter=SigSeedSubFilter.PADES,
                                            reason="bench", location="bench")  # fmt: skip

    def login(self) -> float:
        """What the PIN login alone costs: open a session, C_Login, close."""
        t = time.perf_counter()
        self._open(self.module, token_criteria=self.criteria, user_pin=PIN).close()
        return (time.perf_counter() - t) * 1000

    def sign_file(self, path: Path) -> float:
        """Fair baseline: PIN login, PDF file in, signed PDF file out (pyHanko writes it); the
        certificate known and the signature's room reserved as the agent does."""
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import signers

        out_path = self.work / "direct-out.pdf"
        t = time.perf_counter()
        session = self._open(self.module, token_criteria=self.criteria, user_pin=PIN)
        try:
            with open(path, "rb") as fin, open(out_path, "w+b") as fout:
                w = IncrementalPdfFileWriter(fin, strict=False)
                signer = self._signer(session, known_cert=True)
                pdf_signer = signers.PdfSigner(self._meta(), signer)  # type: ignore[arg-type]
                asyncio.run(pdf_signer.async_sign_pdf(w, output=fout, bytes_reserved=self.reserved,
                                                      chunk_size=FILE_CHUNK_BYTES))  # fmt: skip
        finally:
            session.close()
        elapsed = (time.perf_counter() - t) * 1000
        # Not timed: the output written to disk now. Left dirty, its 20 MB were written back
        # inside the next way's fsync (ext4 orders a journal commit after dirty data), so
        # the agent's way that followed direct paid the baseline's deferred write: 20 MB by
        # reference right after direct took 6.8-23 ms in its body fsync, 1.0-1.2 ms after
        # another way. The baseline's own timed work is unchanged.
        fd = os.open(out_path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        return elapsed

    def sign_memory(self, pdf: bytes) -> float:
        """pyHanko as its docs show it, with the PIN login: bytes in, BytesIO out, defaults
        (the certificate read from the token, the signature's room sized by a dry run)."""
        from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
        from pyhanko.sign import signers

        t = time.perf_counter()
        session = self._open(self.module, token_criteria=self.criteria, user_pin=PIN)
        try:
            w = IncrementalPdfFileWriter(BytesIO(pdf), strict=False)
            pdf_signer = signers.PdfSigner(self._meta(), self._signer(session))  # type: ignore[arg-type]
            asyncio.run(pdf_signer.async_sign_pdf(w, output=BytesIO()))
        finally:
            session.close()
        return (time.perf_counter() - t) * 1000

    def close(self) -> None:
        (self.work / "direct-out.pdf").unlink(missing_ok=True)


def _nodelay_client(url: str, origin: str) -> httpx.Client:
    """A client that, like a browser, sends with TCP_NODELAY (no Nagle wait on the body)."""
    transport = httpx.HTTPTransport(socket_options=[(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)])
    return httpx.Client(base_url=url, headers={"Origin": origin}, timeout=120, transport=transport)


class ViaAgent:
    """The web app's path: submit (raw PDF, or the JSON+base64 form), then the app's long-poll
    (answering with the signed PDF itself, Accept: application/pdf, or by reference) waiting
    while the person clicks Sign on the consent page, as in a browser: the app long-polls as
    soon as it has the job id, since it cannot know when the click comes. ``serial_poll``: the
    long-poll only after the consent has answered (the order of the figures before 15:30 UTC,
    2026-12-01: one more round trip on the critical path than a browser flow has)."""

    def __init__(self, url: str, cert_id: str, serial_poll: bool = False) -> None:
        self.app = _nodelay_client(url, ORIGIN)
        self.page = _nodelay_client(url, url)
        self.meta = {"document_type": "SPS-35", "case_id": "BENCH-1", "patient_id": "P-1",
                     "role": "doctor", "cert_id": cert_id}  # fmt: skip
        self.signed = b""
        self.serial_poll = serial_poll
        self._poller = ThreadPoolExecutor(1, thread_name_prefix="long-poll")

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
        prefer = {"Prefer": "return=minimal"} if reference else {}
        headers = {"Accept": "application/pdf", **prefer}

        def long_poll() -> httpx.Response:
            return self.app.get(f"/v1/signing/jobs/{job_id}", params={"wait_s": 30},
                                headers=headers)  # fmt: skip

        waiting = None if self.serial_poll else self._poller.submit(long_poll)
        self.page.post(f"/v1/signing/jobs/{job_id}/consent", json={"pin": PIN}).raise_for_status()
        got = long_poll() if waiting is None else waiting.result()
        got.raise_for_status()
        if reference:
            assert got.json()["status"] == "done" and got.json()["signed_sha256"]
        else:
            assert got.headers["X-Puente-Job-Status"] == "done"
            self.signed = got.content
        return (time.perf_counter() - t) * 1000

    def close(self) -> None:
        self._poller.shutdown()
        self.app.close()
        self.page.close()


WAYS = ("direct", "memory", "agent", "json", "ref")


def _sign_one(way: str, base: Direct, raw: ViaAgent, pdf: bytes, path: Path) -> float:
    if way == "direct":
        return base.sign_file(path)
    if way == "memory":
        return base.sign_memory(pdf)
    return raw.sign(pdf, json_form=way == "json", reference=way == "ref")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--sizes", default="1-page,2MB,20MB")
    parser.add_argument("--keys", default=",".join(KEYS))
    parser.add_argument("--serial-poll", action="store_true",
                        help="long-poll only after the consent answered (older order)")  # fmt: skip
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
    pdf_files = {}
    for name, pdf in pdfs.items():
        pdf_files[name] = root / f"{name}.pdf"
        pdf_files[name].write_bytes(pdf)
    load_before = os.getloadavg()

    device = {"device_id": "token-1", "driver": "pkcs11",
              "options": {"module": hsm.module, "idle_s": 600, "poll_s": 1.0}}  # fmt: skip
    agent = AgentProcess(
        root / "agent", "bench-station", "bench-unit", "mqtt://127.0.0.1:9",
        devices=[device], signing={"chain_certs": [str(root / "interm.pem")]},
        allowed_origins=[ORIGIN], rate_limit_per_s=1000, rate_limit_burst=1000,
        log_level="WARNING",
    ).start()  # fmt: skip
    results: dict[tuple[str, str], dict[str, float]] = {}
    best: dict[tuple[str, str], dict[str, float]] = {}  # each way's fastest round
    signed_samples = {}
    try:
        listing = httpx.get(
            f"{agent.url}/v1/signing/tokens", headers={"Origin": ORIGIN}, timeout=30
        ).json()
        certs = {c["cert_id"].split(":")[1]: c["cert_id"] for c in listing["certificates"]}
        for kname in args.keys.split(","):
            key_id = KEYS[kname][0]
            for pname, pdf in pdfs.items():
                base = Direct(hsm, key_id, pki.certs[KEYS[kname][1]], chain, root,
                              ec=kname.startswith("P-"))  # fmt: skip
                raw = ViaAgent(agent.url, certs[key_id], serial_poll=args.serial_poll)
                times: dict[str, list[float]] = {"direct": [], "memory": [], "agent": [],
                                                 "json": [], "ref": [], "login": []}  # fmt: skip
                try:
                    base.sign_file(pdf_files[pname])  # warm-up, not timed: imports, caches
                    raw.sign(pdf)
                    for n in range(args.rounds):
                        times["login"].append(base.login())
                        # Each round starts one place further along: no way of signing
                        # always follows the same one (the JSON form's 27 MB of garbage
                        # and disk writes fell on the next way, "ref", every round).
                        for name in WAYS[n % len(WAYS) :] + WAYS[: n % len(WAYS)]:
                            times[name].append(_sign_one(name, base, raw, pdf, pdf_files[pname]))
                finally:
                    base.close()
                    raw.close()
                results[(kname, pname)] = {k: statistics.median(v) for k, v in times.items()}
                best[(kname, pname)] = {k: min(v) for k, v in times.items()}
                signed_samples[(kname, pname)] = raw.signed
    finally:
        agent.stop()

    load_after = os.getloadavg()
    print(f"rounds per cell: {args.rounds} (median ms per signature, PAdES B-B, SoftHSM2); "
          f"load average {load_before[0]:.1f} before, {load_after[0]:.1f} after "
          f"({os.cpu_count()} CPUs)")  # fmt: skip
    print("direct: pyHanko, PIN login + PDF file in + signed file out (the baseline); "
          "mem: bytes in memory, pyHanko's defaults (cert read from the token, dry-run "
          "sizing), same login (not a ratio); "
          "login: the PIN login alone (in both); "
          "agent: raw PDF upload + consent + long-poll answering with the PDF "
          f"({'polled after the consent' if args.serial_poll else 'waiting during the consent'}); "
          "json: the same with the JSON/base64 submit; ref: raw upload answered with a "
          "reference (Prefer: return=minimal: hash + URL) instead of the PDF; "
          "ratios against direct")  # fmt: skip
    print(f"{'key':9} {'pdf':7} {'login':>6} {'direct':>8} {'mem':>8} {'agent':>8} {'ratio':>6} "
          f"{'json':>8} {'ratio':>6} {'ref':>8} {'ratio':>6} {'hub validate':>13}")  # fmt: skip
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
        print(f"{kname:9} {pname:7} {r['login']:6.1f} {r['direct']:8.1f} {r['memory']:8.1f} "
              f"{r['agent']:8.1f} "
              f"{ratio:6.2f} {r['json']:8.1f} {jratio:6.2f} {r['ref']:8.1f} {rratio:6.2f} "
              f"{statistics.median(v):13.1f}")  # fmt: skip
    # On a shared machine the medians carry the other programs' load; each way's fastest
    # round is the one least disturbed. Shown beside the medians, never instead of them.
    print("fastest round of each way (ms) and its ratio against direct's fastest:")
    for (kname, pname), fast in best.items():
        print(f"{kname:9} {pname:7} direct {fast['direct']:7.1f}  agent {fast['agent']:7.1f} "
              f"{fast['agent'] / fast['direct']:5.2f}  json {fast['json']:7.1f} "
              f"{fast['json'] / fast['direct']:5.2f}  ref {fast['ref']:7.1f} "
              f"{fast['ref'] / fast['direct']:5.2f}")  # fmt: skip
    # The issue's words are "pyHanko alone"; the verdict above is against the strict
    # baseline (direct). pyHanko as its documentation shows it (mem: bytes in, BytesIO out,
    # the certificate read from the token, a dry-run signature to size the room) is the
    # other reading of those words: shown for reference, not as the verdict.
    print("by reference vs pyHanko as documented (mem), medians, for reference only:")
    for (kname, pname), r in results.items():
        print(f"{kname:9} {pname:7} ref / mem {r['ref'] / r['memory']:5.2f}  "
              f"agent / mem {r['agent'] / r['memory']:5.2f}")  # fmt: skip


if __name__ == "__main__":
    main()
