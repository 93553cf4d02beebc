"""Signing tokens (PKCS#11 USB tokens and smart cards): listing, certificates, raw signatures."""
