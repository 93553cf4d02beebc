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
