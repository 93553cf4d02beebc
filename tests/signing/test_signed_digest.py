"""PDF files of signing jobs: hashed once while written, signed in place, put back on failure.

Real files in a temporary folder; the signed digest continues the input's hash over the
appended revision only.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from edge_agent.capabilities.signing import pdf_files
from tests.signing.pdfs import make_pdf
from tests.signing.pki import SigningPki

PDF = b"%PDF-1.7\n" + bytes(range(256)) * 9000 + b"%%EOF\n"  # a little over 2 MiB of chunks


async def _chunks(data: bytes, size: int = 65536) -> AsyncIterator[bytes]:
    for i in range(0, len(data), size):
        yield data[i : i + size]


def test_an_upload_is_streamed_to_a_private_file_and_hashed_on_the_way(tmp_path: Path) -> None:
    pdf = asyncio.run(pdf_files.receive(_chunks(PDF), tmp_path, len(PDF)))
    assert pdf.path.read_bytes() == PDF and pdf.size == len(PDF)
    assert pdf.sha256 == hashlib.sha256(PDF).hexdigest()
    assert pdf.path.stat().st_mode & 0o777 == 0o600


def test_an_upload_past_the_limit_is_refused_and_leaves_no_file(tmp_path: Path) -> None:
    with pytest.raises(pdf_files.PdfTooLarge) as refused:
        asyncio.run(pdf_files.receive(_chunks(PDF), tmp_path, len(PDF) - 1))
    assert refused.value.code == "pdf_too_large"
    assert list(tmp_path.iterdir()) == []


def test_a_client_gone_mid_upload_leaves_no_file(tmp_path: Path) -> None:
    async def broken() -> AsyncIterator[bytes]:
        yield PDF[: 3 * 1024 * 1024 // 2]
        raise ConnectionResetError("client went away")

    with pytest.raises(ConnectionResetError):
        asyncio.run(pdf_files.receive(broken(), tmp_path, 50 * 1024 * 1024))
    assert list(tmp_path.iterdir()) == []


def test_the_signed_digest_goes_on_from_the_input_hash_over_the_appended_revision(
    tmp_path: Path,
) -> None:
    pdf = pdf_files.from_bytes(PDF, tmp_path, len(PDF))
    revision = b"1 0 obj << /Type /Sig >> endobj\n%%EOF\n"
    with open(pdf.path, "r+b") as f:
        f.seek(0, 2)
        f.write(revision)
        f.flush()
        sha256, size = pdf_files.signed_digest(pdf, f)
    assert sha256 == hashlib.sha256(PDF + revision).hexdigest()
    assert size == len(PDF) + len(revision)
    assert pdf.sha256 == hashlib.sha256(PDF).hexdigest()  # the job's state is untouched


def test_a_failed_signature_gives_the_input_back_byte_for_byte(tmp_path: Path) -> None:
    pdf = pdf_files.from_bytes(PDF, tmp_path, len(PDF))
    work = pdf_files.take(pdf, "job1", shared=False)
    assert not pdf.path.exists() and work.path.exists()
    with open(work.path, "ab") as f:
        f.write(b"half a revision")
    pdf_files.give_back(work, pdf)
    assert pdf.path.read_bytes() == PDF and not work.path.exists()


def test_a_shared_input_is_copied_not_taken(tmp_path: Path) -> None:
    pdf = pdf_files.from_bytes(PDF, tmp_path, len(PDF))
    work = pdf_files.take(pdf, "job1", shared=True)
    assert pdf.path.read_bytes() == PDF == work.path.read_bytes()
    pdf_files.give_back(work, pdf)
    assert pdf.path.read_bytes() == PDF and not work.path.exists()


def test_an_input_caught_mid_signature_by_a_crash_is_recovered(tmp_path: Path) -> None:
    sha256 = hashlib.sha256(PDF).hexdigest()
    (tmp_path / f"{sha256}.job1.signing").write_bytes(PDF + b"partial revision")
    path = pdf_files.recover(tmp_path, sha256, len(PDF))
    assert path == tmp_path / sha256 and path.read_bytes() == PDF
    assert pdf_files.recover(tmp_path, "0" * 64, None) is None


def test_base64_is_decoded_piece_by_piece_into_the_same_file(tmp_path: Path) -> None:
    pdf = pdf_files.from_base64(base64.b64encode(PDF).decode(), tmp_path, len(PDF))
    assert pdf.path.read_bytes() == PDF and pdf.sha256 == hashlib.sha256(PDF).hexdigest()
    bad = base64.b64encode(PDF).decode()
    bad = bad[:2_000_000] + "*" + bad[2_000_001:]
    with pytest.raises(pdf_files.InvalidInput) as refused:
        pdf_files.from_base64(bad, tmp_path, len(PDF))
    assert refused.value.code == "bad_base64"
    assert sorted(p.name for p in tmp_path.iterdir()) == [pdf.path.name]


def _sign_in_place(pki: SigningPki, path: Path, prefix: object) -> bytes:
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import padding

    from edge_agent.capabilities.signing import pades

    key = serialization.load_pem_private_key(pki.keys["doctor-rsa"], password=None)
    signer = pades.TokenSigner(
        pki.certs["doctor-rsa"],
        lambda data: key.sign(data, padding.PKCS1v15(), hashes.SHA256()),  # type: ignore[union-attr]
        [pki.certs["interm"]],
        key_size_bytes=512,
    )
    with open(path, "r+b") as f:
        pades.sign_pdf(
            f,
            signer,
            in_place=True,
            prefix=prefix,
            field_name="Test-1",
            options=pades.PadesOptions(),
        )
    return path.read_bytes()


def _intact(data: bytes, root: bytes) -> bool:
    from io import BytesIO

    from asn1crypto import x509
    from pyhanko.pdf_utils.reader import PdfFileReader
    from pyhanko.sign.validation import validate_pdf_signature
    from pyhanko_certvalidator import ValidationContext

    context = ValidationContext(trust_roots=[x509.Certificate.load(root)])
    (sig,) = PdfFileReader(BytesIO(data), strict=False).embedded_signatures
    return bool(validate_pdf_signature(sig, signer_validation_context=context).intact)


def test_the_byte_range_digest_goes_on_from_the_upload_hash_and_depends_on_it(
    tmp_path: Path, pki: SigningPki
) -> None:
    """Signed in place with the upload's hash state: valid, and the input was not hashed again
    (a state of other bytes makes a signature over them: not intact)."""
    from edge_agent.capabilities.signing import pades

    source = make_pdf(padding_bytes=3 * 1024 * 1024)
    good = pdf_files.from_bytes(source, tmp_path, len(source))
    signed = _sign_in_place(pki, good.path, pades.HashedPrefix(good.size, good.digest))
    root = pki.certs["root"]
    assert signed.startswith(source) and _intact(signed, root)

    other = tmp_path / "other.pdf"
    other.write_bytes(source)
    wrong = hashlib.sha256(source[:-1] + b"X")  # the state of bytes that are not the file's
    assert not _intact(_sign_in_place(pki, other, pades.HashedPrefix(len(source), wrong)), root)


def test_signers_of_one_certificate_share_its_parse_and_each_signature_is_valid(
    tmp_path: Path, pki: SigningPki
) -> None:
    """The certificate and chain are parsed once (not at every signature); every signer still
    gets a certificate store of its own, and each signature made with them is intact."""
    from edge_agent.capabilities.signing import pades

    def signer(chain: list[bytes]) -> pades.TokenSigner:
        return pades.TokenSigner(pki.certs["doctor-rsa"], lambda _: b"", chain)

    first, second = signer([pki.certs["interm"]]), signer([pki.certs["interm"]])
    assert first.signing_cert is second.signing_cert
    assert first.cert_registry is not second.cert_registry
    other_chain = signer([pki.certs["interm"], pki.certs["root"]])
    assert len(list(other_chain.cert_registry)) == 2 and len(list(first.cert_registry)) == 1
    root = pki.certs["root"]
    for n in range(2):
        source = make_pdf()
        path = tmp_path / f"{n}.pdf"
        path.write_bytes(source)
        assert _intact(_sign_in_place(pki, path, None), root)
