"""The token family's errors carry the code the driver gives them (the agent answers with it)."""

from __future__ import annotations

from drivers.token.base import TokenError, WrongPin


def test_wrong_pin_keeps_a_more_precise_code_and_stays_a_wrong_pin() -> None:
    # drivers/token/pkcs11.py raises this for PinInvalid/PinExpired/PinLenRange; it used to
    # be a TypeError (WrongPin took no code), so the caller saw a crash instead of a 403.
    err = WrongPin("the PIN is not valid for this token / el PIN no es válido", code="pin_invalid")
    assert isinstance(err, TokenError)
    assert err.code == "pin_invalid"
    assert err.reason.startswith("the PIN is not valid")
    assert WrongPin().code == "wrong_pin"
    assert WrongPin(final_try=True).final_try
