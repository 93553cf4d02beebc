"""Pharmacy dispensing: GS1 scans against a prescription, confirmed by the patient's fingerprint."""
