"""The install is reproducible and lean: the locks that scripts/demo and scripts/test install
from satisfy pyproject.toml, pin every package with its hashes, agree with each other, and
every package Puente asks for is imported by Puente (or is listed below with why it is not).
"""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

ROOT = Path(__file__).resolve().parents[2]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LOCK = ROOT / "requirements" / "lock.txt"
TEST_LOCK = ROOT / "requirements" / "test-lock.txt"
# The locks are for CPython 3.11 on Linux x86-64.
TARGET = {
    **default_environment(),
    "python_version": "3.11",
    "python_full_version": "3.11.2",
    "sys_platform": "linux",
    "platform_system": "Linux",
    "platform_machine": "x86_64",
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
}
# Direct dependencies that no module imports by name, and why they are needed.
NOT_IMPORTED = {
    "httptools": 'uvicorn\'s HTTP/1.1 parser, which uvicorn picks when installed (http="auto")',
    "jinja2": "the consoles' templates, through fastapi.templating",
    "python-multipart": "form posts of the consoles, through fastapi.Form",
    "pytest-timeout": "a pytest plugin (timeout in pyproject.toml)",
    "pytest-xdist": "a pytest plugin (scripts/test runs the suite on two workers, -n 2)",
    "grpcio-tools": "scripts/gen_protos.py and the freshness test of protos/",
    "import-linter": "the lint-imports command of scripts/test",
    "ruff": "the ruff command of scripts/test",
    "mypy": "the mypy command of scripts/test",
    "types-grpcio": "stubs read by mypy",
    "types-grpcio-health-checking": "stubs read by mypy",
    "types-grpcio-reflection": "stubs read by mypy",
    "types-protobuf": "stubs read by mypy",
    "types-pyserial": "stubs read by mypy",
}
SOURCES = ["protos", "drivers", "edge_agent", "hub", "provisioning", "puente_cli", "puente_http"]


def _pins(lock: Path) -> dict[str, tuple[Version, int]]:
    """name -> (version, number of hashes) of every `name==version` entry of a lock."""
    pins: dict[str, tuple[Version, int]] = {}
    for entry in re.split(r"\n(?=\S)", lock.read_text()):
        head = entry.split(" ", 1)[0].strip()
        if not head or head.startswith("#"):
            continue
        assert "==" in head, f"{lock.name}: {head!r} is not pinned with =="
        name, version = head.split("==")
        pins[canonicalize_name(name)] = (Version(version), entry.count("--hash=sha256:"))
    return pins


def _requirements(extras: list[str]) -> list[Requirement]:
    reqs = [Requirement(r) for r in PYPROJECT["dependencies"]]
    for extra in extras:
        reqs += [Requirement(r) for r in PYPROJECT["optional-dependencies"][extra]]
    return [r for r in reqs if canonicalize_name(r.name) != "puente"]


@pytest.mark.parametrize(
    ("lock", "extras"), [(LOCK, ["demo"]), (TEST_LOCK, ["demo", "fprint", "test"])]
)
def test_lock_satisfies_pyproject_with_hashes(lock: Path, extras: list[str]) -> None:
    pins = _pins(lock)
    for req in _requirements(extras):
        if req.marker is not None and not req.marker.evaluate(TARGET):
            continue
        name = canonicalize_name(req.name)
        assert name in pins, f"{lock.name} lacks {req.name}: run scripts/lock"
        version, _ = pins[name]
        assert req.specifier.contains(version, prereleases=True), (
            f"{lock.name} pins {req.name}=={version}, pyproject.toml asks {req}: run scripts/lock"
        )
    unhashed = [name for name, (_, hashes) in pins.items() if hashes == 0]
    assert not unhashed, f"{lock.name}: entries without a hash: {unhashed}"


def test_demo_lock_takes_the_test_locks_versions() -> None:
    demo, test = _pins(LOCK), _pins(TEST_LOCK)
    differ = {n: (v, test.get(n, (None,))[0]) for n, (v, _) in demo.items() if n not in test}
    differ |= {n: (v, test[n][0]) for n, (v, _) in demo.items() if n in test and test[n][0] != v}
    assert not differ, f"lock.txt and test-lock.txt disagree (demo, test): {differ}"


def test_demo_lock_has_no_test_tools() -> None:
    demo = _pins(LOCK)
    for name in ("pytest", "playwright", "mypy", "ruff", "pygobject"):
        assert name not in demo, f"{name} belongs to the test (or no) extra, not the demo's lock"


def _imported_top_levels() -> set[str]:
    found: set[str] = set()
    pattern = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_][A-Za-z0-9_]*)", re.M)
    for folder in [*SOURCES, "tests", "bench", "scripts"]:
        for path in (ROOT / folder).rglob("*.py"):
            found.update(pattern.findall(path.read_text(encoding="utf-8")))
    found.update(re.findall(r"importorskip\(\s*\"([A-Za-z_]+)", _all_text("tests")))
    return found


def _all_text(folder: str) -> str:
    return "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / folder).rglob("*.py"))


def test_every_direct_dependency_is_used() -> None:
    imported = _imported_top_levels()
    providers: dict[str, set[str]] = {}
    for module, dists in packages_distributions().items():
        for dist in dists:
            providers.setdefault(canonicalize_name(dist), set()).add(module)
    unused = []
    for req in _requirements(["demo", "fprint", "test"]):
        name = canonicalize_name(req.name)
        if name in NOT_IMPORTED:
            continue
        modules = providers.get(name)
        assert modules, f"{req.name} is not installed: run scripts/test"
        if not modules & imported:
            unused.append(f"{req.name} (provides {sorted(modules)})")
    assert not unused, f"listed in pyproject.toml but imported nowhere: {unused}"
