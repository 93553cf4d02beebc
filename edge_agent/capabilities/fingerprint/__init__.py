"""Fingerprint enrollment and verification on the station: settings, template source, use cases."""
