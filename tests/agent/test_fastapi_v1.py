"""FastAPI's pydantic.v1 checks answer "no" without importing pydantic.v1, and still refuse
a pydantic.v1 model once pydantic.v1 is imported (edge_agent/api/fastapi_v1.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_SCRIPT = """
import sys
import edge_agent.api  # installs the checks, declares the status routes
from fastapi import APIRouter, FastAPI
from fastapi.testclient import TestClient
from pydantic import BaseModel

class Item(BaseModel):
    name: str

app = FastAPI()

@app.post("/items")
def item(body: Item) -> Item:
    return body

assert TestClient(app).post("/items", json={"name": "a"}).json() == {"name": "a"}
app.openapi()
assert "pydantic.v1" not in sys.modules, "pydantic.v1 imported"

from pydantic import v1

class Old(v1.BaseModel):
    name: str

try:
    router = APIRouter()

    @router.post("/old")
    def old(body: Old) -> None: ...
except Exception as exc:
    print("refused:", type(exc).__name__)
else:
    print("accepted")
"""


def test_no_pydantic_v1_import_and_v1_models_still_refused() -> None:
    r = subprocess.run(
        [sys.executable, "-c", _SCRIPT], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert r.returncode == 0, r.stderr
    assert "refused:" in r.stdout, r.stdout + r.stderr
