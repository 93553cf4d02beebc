"""FastAPI's pydantic.v1 checks, answered without importing pydantic.v1 while nobody has.

FastAPI asks, for each route field it declares and each response it encodes, whether a
type or an object is a ``pydantic.v1`` model, and imports ``pydantic.v1`` (≈ 25 modules,
0.7 MB resident) to ask. Nothing can be a ``pydantic.v1`` model unless ``pydantic.v1`` has
been imported, so while it is not in ``sys.modules`` the answer is "no" without importing
it; once anything imports it, FastAPI's own check answers. Installed when the agent's app
module is imported (before any route is declared); a FastAPI without these functions is
left as it is.
"""

from __future__ import annotations

import sys
from typing import Any


def install() -> None:
    try:
        from fastapi import encoders
        from fastapi._compat import shared
    except ImportError:  # pragma: no cover - another FastAPI layout: nothing to do
        return
    is_class = getattr(shared, "is_pydantic_v1_model_class", None)
    is_instance = getattr(shared, "is_pydantic_v1_model_instance", None)
    if is_class is None or is_instance is None or getattr(is_class, "_puente", False):
        return

    def model_class(cls: Any) -> bool:
        return "pydantic.v1" in sys.modules and bool(is_class(cls))

    def model_instance(obj: Any) -> bool:
        return "pydantic.v1" in sys.modules and bool(is_instance(obj))

    model_class._puente = True  # type: ignore[attr-defined]
    # annotation_is_pydantic_v1 looks is_pydantic_v1_model_class up in shared's globals.
    shared.is_pydantic_v1_model_class = model_class
    shared.is_pydantic_v1_model_instance = model_instance
    if getattr(encoders, "is_pydantic_v1_model_instance", None) is is_instance:
        encoders.is_pydantic_v1_model_instance = model_instance


install()
