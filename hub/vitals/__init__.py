"""Vital signs at the hub: readings per case, the live feed, FHIR R4B and HL7 v2 exports."""
