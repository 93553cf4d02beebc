"""Signing documents at the station: PAdES with the user's token, consent and PIN, simple signatures."""  # noqa: E501
