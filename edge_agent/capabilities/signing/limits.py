"""Body size of a PDF submission, known to the app's body limit before signing's routes load."""

from __future__ import annotations


def submission_limit(max_pdf_bytes: int) -> int:
    """Largest request body of a PDF submission: the PDF in base64 plus its JSON metadata.

    The app's body-limit middleware refuses a larger body with 413 before reading it."""
    return max_pdf_bytes * 4 // 3 + 65536
