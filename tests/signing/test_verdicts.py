"""Hub verdicts on real bytes: B-B validated at the CLAIMED signing time; simple signatures
verified with the station key and checked field by field against their event."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from io import BytesIO
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import fields, signers
from pyhanko.sign.signers.pdf_signer import PdfSigner

from edge_agent.identity import StationIdentity
from hub.signatures.simple import verify_simple
from hub.signatures.validation import validate_pdf
from protos import events_pb2
from protos.simple_signature import SIGNATURE_ALGORITHM, Statement, UserAssertion
from tests.signing.pdfs import make_pdf
from tests.signing.pki import SigningPki, pem


class _SignerAt(PdfSigner):
    """pyHanko's PdfSigner with the signer's claimed signing time set (a B-B claims any time)."""

    def __init__(self, *args: object, at: datetime, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._at = at

    def init_signing_session(self, pdf_out, existing_fields_only=False):  # type: ignore[no-untyped-def]
        session = super().init_signing_session(pdf_out, existing_fields_only)
        session.system_time = self._at
        return session


def _sign_b_b(pki: SigningPki, tmp_path: Path, label: str, at: datetime) -> bytes:
    (tmp_path / "key.pem").write_bytes(pki.keys[label])
    (tmp_path / "cert.pem").write_bytes(pem(pki.certs[label]))
    (tmp_path / "interm.pem").write_bytes(pem(pki.certs["interm"]))
    signer = signers.SimpleSigner.load(
        str(tmp_path / "key.pem"), str(tmp_path / "cert.pem"), [str(tmp_path / "interm.pem")]
    )
    assert signer is not None
    meta = signers.PdfSignatureMetadata(
        field_name="Sig1", md_algorithm="sha256", subfilter=fields.SigSeedSubFilter.PADES
    )
    out = BytesIO()
    writer = IncrementalPdfFileWriter(BytesIO(make_pdf()), strict=False)
    asyncio.run(_SignerAt(meta, signer, at=at).async_sign_pdf(writer, output=out))
    return out.getvalue()


def test_b_b_is_validated_at_the_claimed_signing_time_and_says_so(
    pki: SigningPki, tmp_path: Path
) -> None:
    # The certificate expired on 2022-01-01: signed (as claimed) in mid-2021 it was valid then.
    roots = [pki.certs["root"]]
    claimed = datetime(2021, 6, 1, 12, 0, tzinfo=UTC)
    verdict = validate_pdf(_sign_b_b(pki, tmp_path, "expired-rsa", claimed), roots)
    assert verdict.valid, verdict.reason
    check = verdict.signatures[0]
    assert (check.level, check.time_source) == ("B-B", "claimed")
    assert (check.revocation_checked, check.revocation_source) == (True, "fetched")
    assert check.validated_at == "2021-06-01T12:00:00+00:00"
    assert check.trusted is True

    # Claimed after its expiry: not valid at that time.
    late = datetime(2023, 3, 1, tzinfo=UTC)
    verdict = validate_pdf(_sign_b_b(pki, tmp_path, "expired-rsa", late), roots)
    assert not verdict.valid and verdict.code == "expired"
    check = verdict.signatures[0]
    assert check.time_source == "claimed" and check.trusted is False
    assert check.verdict == "expired"
    assert check.problems == [
        "certificate not valid (expired or not yet valid) at "
        "2023-03-01T00:00:00+00:00 (claimed time)"
    ]

    # A claimed time in the future is flagged, whatever the certificate.
    future = datetime(2099, 1, 1, tzinfo=UTC)
    verdict = validate_pdf(_sign_b_b(pki, tmp_path, "doctor-rsa", future), roots)
    assert not verdict.valid
    assert (
        "signing time 2099-01-01T00:00:00+00:00 is in the future" in verdict.signatures[0].problems
    )


def _simple_event(identity: StationIdentity, **changes: str) -> events_pb2.Event:
    sha = "ab" * 32
    facts = {"case_id": "C-1", "document_id": "D-1", "station_id": "st-1"}
    statement = Statement(
        document_sha256=sha, document_size=1234, document_type="CONSTANCIA",
        document_id=facts["document_id"], case_id=changes.get("statement_case", facts["case_id"]),
        patient_id="P-1", station_id=facts["station_id"], signed_at="2026-01-01T00:00:00+00:00",
        user=UserAssertion("u-1", "Ana", "clerk", "https://medi.example.test"),
    ).to_bytes()  # fmt: skip
    return events_pb2.Event(
        event_id="e-1",
        station_id="st-1",
        case_id="C-1",
        patient_id="P-1",
        signed_document=events_pb2.SignedDocument(
            document_type=changes.get("document_type", "CONSTANCIA"),
            body=events_pb2.BodyRef(sha256=bytes.fromhex(sha), size=1234),
            signer=events_pb2.SignerInfo(role="clerk", level=events_pb2.SIMPLE),
            document_id="D-1",
            simple_signature=events_pb2.SimpleSignature(
                statement=statement,
                station_signature=identity.sign(statement),
                signature_algorithm=SIGNATURE_ALGORITHM,
                station_key_sha256=identity.public_key_sha256,
            ),
        ),
    )


def test_simple_signature_checks_key_signature_fields_and_document_type(tmp_path: Path) -> None:
    station = StationIdentity.load_or_create(tmp_path / "a")
    other = StationIdentity.load_or_create(tmp_path / "b")
    code, _reason, details = verify_simple(_simple_event(station), station.public_key_pem)
    assert code == "valid" and details["valid"] is True and details["level"] == "SIMPLE"
    assert details["user"] == {
        "user_id": "u-1",
        "name": "Ana",
        "role": "clerk",
        "system": "https://medi.example.test",
    }
    assert verify_simple(_simple_event(station), other.public_key_pem)[0] == "station_key_mismatch"
    assert verify_simple(_simple_event(station), None)[0] == "no_station_key"
    forged = _simple_event(station, statement_case="C-2")
    code, reason, _ = verify_simple(forged, station.public_key_pem)
    assert (code, reason.split("(")[-1]) == ("statement_mismatch", "case_id)")
    assert (
        verify_simple(_simple_event(station, document_type="SPS-53"), station.public_key_pem)[0]
        == "simple_not_allowed"
    )
    tampered = _simple_event(station)
    tampered.signed_document.simple_signature.statement = (
        tampered.signed_document.simple_signature.statement.replace(b'"Ana"', b'"Eva"')
    )
    assert verify_simple(tampered, station.public_key_pem)[0] == "bad_signature"
    # A key that is not the station's (same algorithm, unregistered) does not verify either.
    rogue = ec.generate_private_key(ec.SECP256R1())
    rogue_pem = rogue.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    assert verify_simple(_simple_event(station), rogue_pem.decode())[0] == "station_key_mismatch"


def _self_signed(tmp_path: Path) -> str:
    """A signer certificate of a CA nobody trusts (made here, not by the test PKI)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID

    key = rsa.generate_private_key(65537, 2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Dr. Nadie Confiable")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(datetime(2020, 1, 1, tzinfo=UTC))
        .not_valid_after(datetime(2100, 1, 1, tzinfo=UTC))
        .sign(key, hashes.SHA256())
    )
    (tmp_path / "rogue.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    (tmp_path / "rogue.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return "rogue"


def test_each_verdict_in_words_with_the_ca_answering_over_ocsp_and_crl(
    pki: SigningPki, tmp_path: Path
) -> None:
    roots = [pki.certs["root"]]
    now = datetime.now(UTC)

    def verdict_of(label: str, at: datetime = now, **kwargs: object) -> tuple[str, list[str]]:
        v = validate_pdf(_sign_b_b(pki, tmp_path, label, at), roots, **kwargs)  # type: ignore[arg-type]
        assert v.code == v.signatures[0].verdict and v.valid == (v.code == "valid")
        return v.code, v.signatures[0].problems

    # Valid only with revocation checked: the CA's OCSP responder said "good".
    assert verdict_of("doctor-rsa") == ("valid", [])
    # Revoked by OCSP (AIA) and by CRL (the only URL the certificate names).
    for label in ("revoked-rsa", "revoked-crl-rsa"):
        code, problems = verdict_of(label)
        assert code == "revoked", (label, problems)
        assert problems[0].startswith("certificate revoked on 2024-03-01T10:00:00+00:00 (")
    # A B-B claiming a time before the revocation is still revoked: the time is only claimed.
    code, problems = verdict_of("revoked-rsa", datetime(2023, 1, 1, tzinfo=UTC))
    assert code == "revoked" and "only claimed by the signer" in problems[0]
    # The CA named in the certificate does not answer: never valid, and says why.
    assert verdict_of("offline-rsa") == (
        "revocation_unknown",
        ["revocation not checked: no answer embedded and the CA's OCSP/CRL did not answer"],
    )
    assert verdict_of("doctor-rsa", fetch=False)[0] == "revocation_unknown"
    # Not valid at the signing time.
    assert verdict_of("expired-rsa", datetime(2023, 3, 1, tzinfo=UTC))[0] == "expired"
    # Intact but chaining to no trust root.
    label = _self_signed(tmp_path)
    pki.keys[label] = (tmp_path / "rogue.key").read_bytes()
    from cryptography import x509

    pki.certs[label] = x509.load_pem_x509_certificate(
        (tmp_path / "rogue.pem").read_bytes()
    ).public_bytes(serialization.Encoding.DER)
    try:
        assert verdict_of(label)[0] == "untrusted"
    finally:
        del pki.keys[label], pki.certs[label]
    # Broken: one byte of the signed content changed.
    signed = bytearray(_sign_b_b(pki, tmp_path, "doctor-rsa", now))
    signed[signed.index(b"SPS-53 Certificado")] ^= 0x01
    broken = validate_pdf(bytes(signed), roots)
    assert broken.code == "broken" and broken.signatures[0].intact is False
    # The document's verdict is the worst of its signatures and says it in both languages.
    assert "REVOCADO" in validate_pdf(_sign_b_b(pki, tmp_path, "revoked-rsa", now), roots).reason
