"""Regenerate the Python modules of `protos/` from its `.proto` files.

Usage: python scripts/gen_protos.py [OUT_DIR]   (default: the repository root)

The generated modules are committed; tests/test_contract_generated.py fails
when they are stale against the `.proto` files.
"""

from __future__ import annotations

import sys
from pathlib import Path

from grpc_tools import protoc  # type: ignore[import-untyped]

ROOT = Path(__file__).resolve().parent.parent
PROTO_FILES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "protos").glob("*.proto"))
# Files with no service get an empty *_pb2_grpc.py; it is not kept.
EMPTY_GRPC = ("protos/events_pb2_grpc.py",)


def generate(out_dir: Path) -> None:
    out_dir.mkdir(parents=True, exist_ok=True)
    include = Path(protoc.__file__).parent / "_proto"
    args = [
        "grpc_tools.protoc",
        f"-I{ROOT}",
        f"-I{include}",
        f"--python_out={out_dir}",
        f"--pyi_out={out_dir}",
        f"--grpc_python_out={out_dir}",
        *PROTO_FILES,
    ]
    if protoc.main(args) != 0:
        raise SystemExit("protoc failed / protoc falló")
    for name in EMPTY_GRPC:
        (out_dir / name).unlink(missing_ok=True)


if __name__ == "__main__":
    generate(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT)
