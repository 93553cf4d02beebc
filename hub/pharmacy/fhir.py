"""FHIR R4 (R4B models) export of dispensings: one MedicationDispense per item handed over.

Each MedicationDispense holds its Medication as a contained resource coded
by GTIN (system ``https://www.gs1.org/gtin``, as GS1 recommends for FHIR)
and by the institute's code, with the pack's lot and expiry in
``Medication.batch`` and its GS1 serial as an identifier. fhir.resources
validates the structure of each resource.
"""

from __future__ import annotations

import uuid
from typing import Any

from fhir.resources.R4B.bundle import Bundle
from fhir.resources.R4B.medicationdispense import MedicationDispense

from hub.pharmacy.verify import DispensingCheck
from hub.storage.dispensing import Dispensing
from hub.vitals.fhir import CASE_ID_SYSTEM, EVENT_ID_SYSTEM, PATIENT_ID_SYSTEM

GTIN_SYSTEM = "https://www.gs1.org/gtin"
INSTITUTE_CODE_SYSTEM = "urn:puente:institute-product-code"
SERIAL_SYSTEM = "urn:puente:gs1-serial"  # GS1 AI (21), unique within its GTIN
PHARMACIST_SYSTEM = "urn:puente:pharmacist-id"
PRESCRIPTION_SYSTEM = "urn:puente:prescription-id"


def medication_dispenses(d: Dispensing, check: DispensingCheck) -> list[dict[str, Any]]:
    out = []
    for i, item in enumerate(d.items):
        med: dict[str, Any] = {
            "resourceType": "Medication",
            "id": "med",
            "code": {
                "coding": [
                    {"system": GTIN_SYSTEM, "code": item.gtin, "display": item.name},
                    {"system": INSTITUTE_CODE_SYSTEM, "code": item.institute_code},
                ],
                "text": item.name,
            },
        }
        batch: dict[str, Any] = {}
        if item.lot:
            batch["lotNumber"] = item.lot
        if item.expiry:
            batch["expirationDate"] = f"{item.expiry}T23:59:59-06:00"  # end of day, Guatemala
        if batch:
            med["batch"] = batch
        if item.serial:
            med["identifier"] = [{"system": f"{SERIAL_SYSTEM}:{item.gtin}", "value": item.serial}]
        resource: dict[str, Any] = {
            "resourceType": "MedicationDispense",
            "id": f"{d.event_id}-{i}",
            "identifier": [{"system": EVENT_ID_SYSTEM, "value": f"{d.event_id}#{i}"}],
            "contained": [med],
            "status": "completed",
            "medicationReference": {"reference": "#med"},
            "subject": {"identifier": {"system": PATIENT_ID_SYSTEM, "value": d.patient_id}},
            "context": {
                "identifier": {"system": CASE_ID_SYSTEM, "value": d.case_id},
                "type": "EpisodeOfCare",
            },
            "performer": [
                {"actor": {"identifier": {"system": PHARMACIST_SYSTEM, "value": d.pharmacist_id}}}
            ],
            "quantity": {"value": item.quantity, "unit": "unit"},
            "whenHandedOver": d.occurred_at,
            "supportingInformation": [
                {
                    "identifier": {"system": EVENT_ID_SYSTEM, "value": d.confirmation_event_id},
                    "display": "Patient fingerprint confirmation (step pharmacy) / "
                    f"confirmación por huella: {d.confirmation_decision}",
                }
            ],
        }
        if d.prescription_id:
            resource["authorizingPrescription"] = [
                {"identifier": {"system": PRESCRIPTION_SYSTEM, "value": d.prescription_id}}
            ]
        notes = [item.warning] if item.warning else []
        if not check.verified:  # never exported as if it had been confirmed
            notes.append(check.reason)
        if notes:
            resource["note"] = [{"text": n} for n in notes]
        out.append(MedicationDispense.model_validate(resource).model_dump(mode="json"))
    return out


def dispense_bundle(dispensings: list[tuple[Dispensing, DispensingCheck]]) -> dict[str, Any]:
    entries = [
        {
            "fullUrl": f"urn:uuid:{uuid.uuid5(uuid.NAMESPACE_URL, EVENT_ID_SYSTEM + r['id'])}",
            "resource": r,
        }
        for d, check in dispensings
        for r in medication_dispenses(d, check)
    ]
    bundle = {"resourceType": "Bundle", "type": "collection", "entry": entries}
    return Bundle.model_validate(bundle).model_dump(mode="json")
