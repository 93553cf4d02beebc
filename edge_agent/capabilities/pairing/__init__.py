"""Pairing web origins and local applications with the station (code, operator approval, token)."""
