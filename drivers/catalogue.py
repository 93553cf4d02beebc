"""The drivers' own declarations, collected: every entry point's class and its MANIFEST.

The contract package (``protos``) holds the same catalogue as data, generated
from these manifests by ``scripts/gen_catalogue.py``; a test fails when the two
differ or when an entry point has no manifest.
"""

from __future__ import annotations

import importlib
import inspect
import tomllib
from pathlib import Path
from typing import Any

from drivers.base import ENTRY_POINT_GROUP, DriverManifest

PYPROJECT = Path(__file__).resolve().parent.parent / "pyproject.toml"


def entry_points(pyproject: Path = PYPROJECT) -> dict[str, str]:
    """name → "module:Class" of the ``puente.drivers`` group as the project declares it."""
    data = tomllib.loads(pyproject.read_text())
    return dict(data["project"]["entry-points"][ENTRY_POINT_GROUP])


def load_class(target: str) -> Any:
    module, _, name = target.partition(":")
    return getattr(importlib.import_module(module), name)


def manifests(pyproject: Path = PYPROJECT) -> dict[str, DriverManifest]:
    """Each entry point's manifest (ValueError if a class has none or names itself otherwise)."""
    out: dict[str, DriverManifest] = {}
    for name, target in sorted(entry_points(pyproject).items()):
        manifest = getattr(load_class(target), "MANIFEST", None)
        if not isinstance(manifest, DriverManifest):
            raise ValueError(f"{target} declares no MANIFEST")
        if manifest.name != name:
            raise ValueError(f"{target}.MANIFEST names {manifest.name!r}, its entry point {name!r}")
        out[name] = manifest
    return out


def table(pyproject: Path = PYPROJECT) -> dict[str, dict[str, Any]]:
    """The catalogue as data (what ``protos/device_catalogue_table.py`` holds)."""
    return {name: m.as_dict() for name, m in manifests(pyproject).items()}


def constructor_problems(manifest: DriverManifest, factory: Any) -> list[str]:
    """Where a manifest and its class's constructor disagree (names, required settings)."""
    params = {
        n: p
        for n, p in inspect.signature(factory).parameters.items()
        if n != "self" and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    if not params:  # e.g. a subclass forwarding *args/**kwargs: look at its base
        for base in factory.__mro__[1:]:
            if "__init__" in vars(base):
                return constructor_problems(manifest, base)
    problems = []
    for setting in manifest.settings:
        if setting.name not in params:
            problems.append(f"{manifest.name}: setting {setting.name} is not a constructor keyword")
    declared = {s.name for s in manifest.settings}
    for n, p in params.items():
        if p.default is inspect.Parameter.empty and n not in declared:
            problems.append(f"{manifest.name}: required keyword {n} is not a declared setting")
        required = next((s.required for s in manifest.settings if s.name == n), True)
        if p.default is inspect.Parameter.empty and not required:
            problems.append(f"{manifest.name}: {n} has no default, so it must be required")
    return problems
