"""Fingerprint readers (libfprint, simulated), USB discovery, templates and matching."""
