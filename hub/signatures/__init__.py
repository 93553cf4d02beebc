"""Signed documents at the hub: validating every PAdES signature and the signing workflow."""
