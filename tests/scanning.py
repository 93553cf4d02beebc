"""Scanner test helpers: a SANE config dir that loads only the `test` backend, page checks."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pikepdf


def sane_test_dir() -> str:
    """A SANE_CONFIG_DIR whose dll.conf holds only ``test`` (discovery in milliseconds).

    One fixed directory per user: SANE starts once per process, with one config dir.
    """
    path = Path(tempfile.gettempdir()) / f"puente-sane-test-{os.getuid()}"
    path.mkdir(exist_ok=True)
    (path / "dll.conf").write_text("test\n")
    return str(path)


def sane_device(**extra_options: str) -> dict[str, object]:
    # test:0 keeps its options across opens: every configured device sets the fault it wants.
    options = {"test-picture": "Grid", "read-return-value": "Default", **extra_options}
    return {"device": "test:0", "config_dir": sane_test_dir(), "extra_options": options}


def pdf_pages(pdf: bytes) -> list[tuple[str, bytes]]:
    """(filter, raw stream bytes) of the one image on each page of a PDF."""
    out = []
    with pikepdf.open(__import__("io").BytesIO(pdf)) as doc:
        for page in doc.pages:
            (image,) = page.get_images().values()
            filt = image.get("/Filter")
            if isinstance(filt, pikepdf.Array):
                (filt,) = list(filt)
            out.append((str(filt), image.read_raw_bytes()))
    return out
