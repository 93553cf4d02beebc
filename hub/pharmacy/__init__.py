"""Pharmacy at the hub: dispensed medicines, their FHIR export, lot recall, the catalogue."""
