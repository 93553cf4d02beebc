"""PAdES signing with pyHanko over a token: B-B, B-T with a TSA, B-LT with revocation info.

Revocation is not decided here: the caller asked the CA first (revocation.py,
policy.py) and hands over the validation context holding the CA's answers;
B-LT embeds exactly those. No context (status pending): B-T or B-B.

The token signs through :class:`TokenSigner`, a pyHanko ``Signer`` whose raw
signature is made by the token driver (on its own worker thread). A PDF that
already carries signatures gets an incremental revision, so earlier
signatures stay intact.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
import logging
import re
from collections.abc import Callable, Generator
from dataclasses import dataclass
from datetime import datetime
from io import BytesIO
from typing import BinaryIO

from asn1crypto import x509 as asn1_x509
from pyhanko.pdf_utils import misc
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers, timestamps
from pyhanko.sign.general import SigningError
from pyhanko.sign.signers import pdf_signer as _pdf_signer
from pyhanko.sign.signers.pdf_byterange import PreparedByteRangeDigest, SignatureObject
from pyhanko.stamp import TextStampStyle
from pyhanko_certvalidator import ValidationContext
from pyhanko_certvalidator.registry import SimpleCertificateStore

log = logging.getLogger(__name__)

# (message, digest algorithm) -> signature; the digest is always sha256 here.
RawSign = Callable[[bytes], bytes]


class NotAPdf(ValueError):
    """The bytes are not a PDF pyHanko can read."""


@dataclass(frozen=True)
class HashedPrefix:
    """The input's SHA-256 state (hashlib) after its first ``size`` bytes: given to
    :func:`sign_pdf` with ``in_place``, pyHanko's byte-range digest goes on from it instead
    of hashing the input a second time (the input part of the file is not changed)."""

    size: int
    state: object  # hashlib sha256 object; copied, never updated


_PREFIX: contextvars.ContextVar[HashedPrefix | None] = contextvars.ContextVar(
    "puente_hashed_prefix", default=None
)


class _PrefixHashedSignature(SignatureObject):
    """pyHanko's signature object; with a :class:`HashedPrefix` in context (in-place signing
    of a file whose first bytes were hashed at upload) its byte-range digest starts from that
    state and reads only the appended revision. Anything else: pyHanko's own ``fill``."""

    def fill(  # type: ignore[override]  # pyHanko's generator, same signature, loose typing
        self,
        writer: IncrementalPdfFileWriter,
        md_algorithm: str,
        in_place: bool = False,
        output: BinaryIO | None = None,
        chunk_size: int = misc.DEFAULT_CHUNK_SIZE,
    ) -> Generator[object, object, object]:
        prefix = _PREFIX.get()
        if prefix is None or not in_place or md_algorithm.lower() != "sha256":
            return (yield from super().fill(writer, md_algorithm, in_place, output, chunk_size))
        # pyHanko's PdfByteRangeDigest.fill (in-place branch), with the digest continued.
        writer.digest_aware_write = True
        stream = writer.prev.stream
        writer.write_in_place()
        eof = stream.tell()
        sig_start, sig_end = self.contents.offsets
        self.byte_range.fill_offsets(stream, sig_start, sig_end, eof)
        if sig_start < prefix.size:  # cannot happen for an appended revision; be safe
            return (yield from _fresh_digest(self, stream, sig_start, sig_end, eof, chunk_size))
        md = prefix.state.copy()  # type: ignore[attr-defined]  # hashlib object typed as object
        buffer = bytearray(chunk_size)
        stream.seek(prefix.size)
        misc.chunked_digest(buffer, stream, md, max_read=sig_start - prefix.size)
        stream.seek(sig_end)
        misc.chunked_digest(buffer, stream, md, max_read=eof - sig_end)
        prepared = PreparedByteRangeDigest(
            document_digest=md.digest(), reserved_region_start=sig_start,
            reserved_region_end=sig_end,
        )  # fmt: skip
        cms_data = yield prepared, stream
        yield prepared.fill_with_cms(stream, cms_data)
        return None


def _fresh_digest(
    sig: _PrefixHashedSignature,
    stream: BinaryIO,
    sig_start: int,
    sig_end: int,
    eof: int,
    chunk_size: int,
) -> Generator[object, object, object]:
    import hashlib

    md = hashlib.sha256()
    buffer = bytearray(chunk_size)
    stream.seek(0)
    misc.chunked_digest(buffer, stream, md, max_read=sig_start)
    stream.seek(sig_end)
    misc.chunked_digest(buffer, stream, md, max_read=eof - sig_end)
    prepared = PreparedByteRangeDigest(
        document_digest=md.digest(), reserved_region_start=sig_start, reserved_region_end=sig_end
    )
    cms_data = yield prepared, stream
    yield prepared.fill_with_cms(stream, cms_data)
    return None


# pyHanko makes its signature object by this module-level name (PdfSigningSession); ours
# behaves as pyHanko's unless a HashedPrefix is set for the signature being made.
_pdf_signer.SignatureObject = _PrefixHashedSignature  # type: ignore[misc]  # pyHanko's class replaced on purpose


@functools.lru_cache(maxsize=16)
def _parsed(
    cert_der: bytes, chain: tuple[bytes, ...]
) -> tuple[asn1_x509.Certificate, list[asn1_x509.Certificate]]:
    """The signing certificate and its chain parsed once, not at every signature (asn1crypto
    parses lazily and keeps what it parsed: hashes, names, key identifiers). The objects are
    only read: by pyHanko to build the CMS, by a fresh certificate store per signer."""
    return asn1_x509.Certificate.load(cert_der), [asn1_x509.Certificate.load(c) for c in chain]


class TokenSigner(signers.Signer):
    """A pyHanko signer whose private-key operation is done by the token driver."""

    def __init__(
        self,
        cert_der: bytes,
        raw_sign: RawSign,
        chain: list[bytes] | None = None,
        key_size_bytes: int = 256,
    ) -> None:
        cert, chain_certs = _parsed(cert_der, tuple(chain or ()))
        registry = SimpleCertificateStore.from_certs(chain_certs)
        super().__init__(signing_cert=cert, cert_registry=registry, embed_roots=True)
        self._raw_sign = raw_sign
        self._dry_size = key_size_bytes

    async def async_sign_raw(
        self, data: bytes, digest_algorithm: str, dry_run: bool = False
    ) -> bytes:
        if digest_algorithm.lower() != "sha256":
            raise SigningError(f"only sha256 is supported, not {digest_algorithm}")
        if dry_run:
            return bytes(self._dry_size)
        # Called straight: this event loop is private to one signature (sign_pdf runs it in
        # a worker thread), so blocking it costs nothing and saves a thread per signature.
        return self._raw_sign(data)

    def reserve_hex_chars(self, timestamped: bool) -> int:
        """Room for the CMS in the PDF (hex digits), so pyHanko need not make a dry-run
        signature (and, for B-T, a dummy TSA request) just to measure it."""
        certs = [self.signing_cert, *self.cert_registry]
        size = sum(len(c.dump()) for c in certs) + self._dry_size + 2048
        if timestamped:
            size += 12288  # the TSA token with its certificates
        reserved = size * 2 * 5 // 4
        return reserved + reserved % 2


@dataclass(frozen=True)
class Stamp:
    """Text of a visible signature stamp."""

    name: str
    role: str
    case_id: str


@dataclass(frozen=True)
class PadesOptions:
    tsa_url: str | None = None
    long_term: bool = False
    trust_roots: tuple[bytes, ...] = ()  # DER; needed for B-LT (the chain to fetch for)
    timeout_s: float = 10.0
    # revocation.RevocationStatus.context of a GOOD answer: the OCSP/CRL to embed (B-LT)
    revocation_context: ValidationContext | None = None


_PDF_HEADER = re.compile(rb"[ \t\n\r\x0b\x0c]*%PDF-")


def parse_pdf(data: bytes | BinaryIO) -> tuple[int, PdfFileReader]:
    """Parse ``data`` once: (how many signatures it already has, the reader to sign from).

    ``data`` is the PDF's bytes or a file opened on it (read-write for :func:`sign_pdf`'s
    ``in_place``). Raises NotAPdf unless it is a PDF pyHanko can read.
    """
    if isinstance(data, bytes | bytearray | memoryview):
        head: bytes | bytearray | memoryview = data
        stream: BinaryIO = BytesIO(data)  # shares the bytes, no copy
    else:
        stream = data
        stream.seek(0)
        head = stream.read(1024)
        stream.seek(0)
    if not _PDF_HEADER.match(head):  # not data.lstrip(): that copies the whole PDF
        raise NotAPdf("the file does not start with %PDF- / el archivo no es un PDF")
    try:
        reader = PdfFileReader(stream, strict=False)
        reader.root  # noqa: B018 - parses the trailer and catalog
        return len(reader.embedded_signatures), reader
    except (PdfError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise NotAPdf(f"the PDF cannot be read ({exc}) / el PDF no se puede leer") from exc


def check_pdf(data: bytes) -> int:
    """Raise NotAPdf unless ``data`` is a PDF; returns how many signatures it already has."""
    return parse_pdf(data)[0]


def _stamp_box(index: int) -> tuple[int, int, int, int]:
    """Stamps go along the bottom of page 1, one slot per signer."""
    x = 36 + (index % 3) * 180
    y = 36 + (index // 3) * 70
    return (x, y, x + 170, y + 60)


@dataclass(frozen=True)
class PadesResult:
    pdf: bytes
    level: str  # "B-B", "B-T" or "B-LT"
    field_name: str
    signed_at: datetime | None


# Reads of a PDF file while pyHanko hashes its byte ranges (its default is 4 KiB).
FILE_CHUNK_BYTES = 1024 * 1024


async def async_sign_pdf(
    pdf: bytes | BinaryIO,
    signer: TokenSigner,
    *,
    field_name: str,
    options: PadesOptions,
    stamp: Stamp | None = None,
    reason: str = "",
    location: str = "",
    parsed: tuple[int, PdfFileReader] | None = None,
    in_place: bool = False,
    prefix: HashedPrefix | None = None,
) -> PadesResult:
    """Sign ``pdf``; ``parsed`` is :func:`parse_pdf`'s answer when the caller has it already.

    ``in_place``: ``pdf`` is a file opened read-write; the signed revision is appended to it
    (the input's bytes are not copied) and the result's ``pdf`` is empty. ``prefix``: the
    input's hash state from the upload (in place only): the input is not hashed again."""
    if in_place and isinstance(pdf, bytes | bytearray | memoryview):
        raise TypeError("in_place signing needs a file opened read-write")
    input_size = len(pdf) if isinstance(pdf, bytes | bytearray | memoryview) else None
    if input_size is None:
        pdf.seek(0, 2)  # type: ignore[union-attr]  # in place: pdf is the open file
        input_size = pdf.tell()  # type: ignore[union-attr]  # in place: pdf is the open file
    existing, reader = parsed if parsed is not None else parse_pdf(pdf)
    timestamper = (
        timestamps.HTTPTimeStamper(options.tsa_url, timeout=int(options.timeout_s))
        if options.tsa_url
        else None
    )
    context = options.revocation_context if options.long_term else None
    long_term = context is not None and timestamper is not None
    if long_term:
        # The TSA's chain needs revocation info too: ask the TSA once for its certificate.
        try:
            await timestamper.async_dummy_response("sha256")  # type: ignore[union-attr]  # in place: pdf is the open file
        except Exception as exc:
            log.info("TSA unreachable (%s)", type(exc).__name__)
            raise
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason or None,
        location=location or None,
        embed_validation_info=long_term,
        validation_context=context if long_term else None,
    )
    field_spec = None
    style = None
    if stamp is not None:
        field_spec = fields.SigFieldSpec(field_name, on_page=0, box=_stamp_box(existing))
        style = TextStampStyle(
            stamp_text=("%(signer)s\n%(role)s\nCaso / Case %(case)s\n%(ts)s"),
            border_width=1,
        )
    pdf_signer = signers.PdfSigner(
        meta,
        signer,
        timestamper=timestamper,
        stamp_style=style,
        new_field_spec=field_spec,
    )
    writer = IncrementalPdfFileWriter.from_reader(reader)  # no second parse
    out: BytesIO | None = None if in_place else BytesIO()
    io_options = {"in_place": in_place, "output": out, "chunk_size": FILE_CHUNK_BYTES}
    appearance = (
        {"signer": stamp.name, "role": stamp.role, "case": stamp.case_id} if stamp else None
    )
    # B-LT embeds more than we can foresee: let pyHanko measure. Else reserve the room.
    reserved = None if long_term else signer.reserve_hex_chars(timestamper is not None)
    if in_place and prefix is not None and prefix.size == input_size:
        _PREFIX.set(prefix)  # this coroutine's context only (asyncio.run copies it)
    try:
        await pdf_signer.async_sign_pdf(
            writer, appearance_text_params=appearance, bytes_reserved=reserved, **io_options
        )
    except SigningError as exc:
        if reserved is None or "larger than expected" not in str(exc):
            raise
        log.warning("signature larger than reserved (%s); signing again measured", exc)
        if in_place:
            pdf.flush()  # type: ignore[union-attr]  # in place: pdf is the open file
            pdf.truncate(input_size)  # type: ignore[union-attr]  # in place: pdf is the open file
            pdf.seek(0)  # type: ignore[union-attr]  # in place: pdf is the open file
        writer = IncrementalPdfFileWriter.from_reader(parse_pdf(pdf)[1])
        out = None if in_place else BytesIO()
        io_options["output"] = out
        await pdf_signer.async_sign_pdf(writer, appearance_text_params=appearance, **io_options)
    level = "B-LT" if long_term else ("B-T" if timestamper else "B-B")
    return PadesResult(b"" if out is None else out.getvalue(), level, field_name, None)


def sign_pdf(pdf: bytes | BinaryIO, signer: TokenSigner, **kwargs: object) -> PadesResult:
    return asyncio.run(async_sign_pdf(pdf, signer, **kwargs))  # type: ignore[arg-type]  # async_sign_pdf's keywords, passed through
