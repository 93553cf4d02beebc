"""Types of scanned documents, the table station and hub share (code → English / Spanish label).

A scan's ``ScannedDocument.document_type`` is one of these codes. The hub lists
documents by them; it stores an unknown code as sent (a newer station may know
more types) but the station only offers these.
"""

from __future__ import annotations

SCAN_DOCUMENT_TYPES: dict[str, str] = {
    "external_lab_result": "External laboratory result / Resultado de laboratorio externo",
    "referral": "Referral letter / Referencia o contrarreferencia",
    "imaging_report": "Imaging report / Informe de imagenología",
    "prior_record": "Prior paper record / Expediente previo en papel",
    "consent": "Signed consent form / Consentimiento firmado",
    "identity_document": "Identity or affiliation document / Documento de identidad o afiliación",
    "prescription": "External prescription / Receta externa",
    "other": "Other document / Otro documento",
}


def is_scan_type(code: str) -> bool:
    return code in SCAN_DOCUMENT_TYPES


def page_count_note(scanned: int, expected: int, blank_dropped: int = 0) -> str:
    """Spanish / English words when a scan yielded another number of pages than the request
    said (``scanned``: pages the scanner gave, blank ones included); "" when ``expected`` is 0
    (not said) or the numbers agree. Station and hub both say it with these words."""
    if expected <= 0 or scanned == expected:
        return ""
    blank = (
        f" ({blank_dropped} en blanco descartadas)" if blank_dropped else "",
        f" ({blank_dropped} blank dropped)" if blank_dropped else "",
    )
    return (
        f"{scanned} de {expected} páginas esperadas{blank[0]}: revise el documento / "
        f"{scanned} of {expected} expected pages{blank[1]}: check the document"
    )
