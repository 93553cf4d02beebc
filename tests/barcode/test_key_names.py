"""The keyboard-wedge decoder names every key code with one string, aliases included."""

from __future__ import annotations

import pytest

pytest.importorskip("evdev", reason="evdev (Linux) is not installed")


def test_every_key_code_has_one_name_even_when_evdev_lists_aliases() -> None:
    from evdev import ecodes

    from drivers.barcode.hid_wedge import _names

    names = _names()
    assert any(not isinstance(v, str) for v in ecodes.KEY.values()), "no alias to test with"
    assert all(isinstance(name, str) for name in names.values())
    assert names[ecodes.KEY_A] == "KEY_A"
    assert names[ecodes.KEY_MUTE] in ("KEY_MIN_INTERESTING", "KEY_MUTE")
