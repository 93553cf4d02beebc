"""Real PDFs for signing tests: a one-page form, optionally padded with an image-sized stream."""

from __future__ import annotations

import os
from io import BytesIO

from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.content import RawContent
from pyhanko.pdf_utils.layout import BoxConstraints
from pyhanko.pdf_utils.writer import PdfFileWriter, init_xobject_dictionary


def make_pdf(title: str = "SPS-53 Certificado de suspensión", padding_bytes: int = 0) -> bytes:
    """A one-page PDF with some text; ``padding_bytes`` of incompressible data as an XObject."""
    writer = PdfFileWriter()
    font = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Font"),
            generic.NameObject("/Subtype"): generic.NameObject("/Type1"),
            generic.NameObject("/BaseFont"): generic.NameObject("/Helvetica"),
        }
    )
    resources = generic.DictionaryObject(
        {
            generic.NameObject("/Font"): generic.DictionaryObject(
                {generic.NameObject("/F1"): writer.add_object(font)}
            )
        }
    )
    text = title.encode("latin-1", "replace").replace(b"(", b"[").replace(b")", b"]")
    ops = b"BT /F1 18 Tf 72 720 Td (" + text + b") Tj ET"
    if padding_bytes:
        blob = os.urandom(padding_bytes)
        xobj = init_xobject_dictionary(b"", 10, 10)
        stream = generic.StreamObject(
            {
                generic.NameObject("/Type"): generic.NameObject("/XObject"),
                generic.NameObject("/Subtype"): generic.NameObject("/Image"),
                generic.NameObject("/Width"): generic.NumberObject(len(blob) // 3 // 1000 or 1),
                generic.NameObject("/Height"): generic.NumberObject(1000),
                generic.NameObject("/ColorSpace"): generic.NameObject("/DeviceRGB"),
                generic.NameObject("/BitsPerComponent"): generic.NumberObject(8),
            },
            stream_data=blob,
        )
        del xobj
        resources[generic.NameObject("/XObject")] = generic.DictionaryObject(
            {generic.NameObject("/Im1"): writer.add_object(stream)}
        )
        ops += b" q 100 0 0 100 72 500 cm /Im1 Do Q"
    content = RawContent(ops, box=BoxConstraints(612, 792))
    page = generic.DictionaryObject(
        {
            generic.NameObject("/Type"): generic.NameObject("/Page"),
            generic.NameObject("/MediaBox"): generic.ArrayObject(
                [generic.NumberObject(v) for v in (0, 0, 612, 792)]
            ),
            generic.NameObject("/Resources"): resources,
            generic.NameObject("/Contents"): writer.add_object(
                generic.StreamObject(stream_data=content.render())
            ),
        }
    )
    writer.insert_page(page)
    out = BytesIO()
    writer.write(out)
    return out.getvalue()
