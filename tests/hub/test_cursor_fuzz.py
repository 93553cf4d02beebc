"""Pagination cursors of any shape against the real app: a page or a 400 problem, never 500."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from hypothesis import given
from hypothesis import strategies as st

from hub.ingest.timefmt import now_iso
from hub.storage import cursors
from hub.storage.base import Case
from hub.storage.sqlite import SQLiteStore
from hub.tokens import Role
from tests.hub.proto_strategies import FUZZ

CASE = "case-1"
PAGED = [
    "/v1/cases",
    f"/v1/cases/{CASE}",
    "/v1/events/unmatched",
    "/v1/quarantine",
    "/v1/documents",
    f"/v1/cases/{CASE}/documents",
    "/v1/scans",
]

_json = st.recursive(
    st.none()
    | st.booleans()
    | st.sampled_from([2**63, -(2**63) - 1, 2**64, 10**400, 1e308, 0, -1])
    | st.integers()
    | st.floats()
    | st.text(max_size=8)
    | st.sampled_from(["\ud800", "\x00", "é" * 300]),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner),
    max_leaves=6,
)


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def _dump(value: Any) -> bytes:
    return json.dumps(value, allow_nan=True).encode("utf-8", "surrogatepass")


cursor_strings = st.one_of(
    st.text(max_size=40),
    st.binary(max_size=40).map(_b64),
    _json.map(lambda v: _b64(_dump(v))),
    st.lists(_json, min_size=1, max_size=2).map(lambda v: _b64(_dump(v))),
    st.sampled_from(
        [
            _b64(b"[1e999]"),
            _b64(b"[NaN]"),
            _b64(b'["\\ud800", "x"]'),
            _b64(b"[" * 5000),
            _b64(b'["a", {"b": 1}]'),
            _b64(json.dumps([2**63]).encode()),
            "A" * 5000,
            "====",
            "%00",
        ]
    ),
)


@pytest.fixture
def app(
    store: SQLiteStore, client: TestClient, tokens: dict[Role, dict[str, str]]
) -> tuple[TestClient, dict[str, str]]:
    store.open_case(Case(CASE, "1234567890", "u-01", now_iso(), None, "test"))
    return client, tokens[Role.OPS]


@FUZZ
@given(cursor=cursor_strings)
def test_any_cursor_gets_a_page_or_a_400_problem(
    app: tuple[TestClient, dict[str, str]], cursor: str
) -> None:
    client, headers = app
    for path in PAGED:
        response = client.get(path, params={"before": cursor}, headers=headers)
        assert response.status_code in (200, 400), (path, cursor, response.text[:200])
        if response.status_code == 400:
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["code"] == "bad_cursor"


@pytest.mark.parametrize(
    ("key", "kinds"),
    [
        ([1, "x"], (str, str)),
        (["a", {"b": 1}], (str, str)),
        ([2**63], (int,)),
        ([True], (int,)),
        ([1.5], (int,)),
        (["\ud800", "a"], (str, str)),
    ],
)
def test_a_cursor_of_the_wrong_types_is_refused(key: list[Any], kinds: tuple[type, ...]) -> None:
    with pytest.raises(cursors.BadCursor):
        cursors.decode(_b64(_dump(key)), *kinds)


def test_a_cursor_the_hub_made_reads_back() -> None:
    assert cursors.decode(cursors.encode(["2025-01-01T00:00:00Z", "e1"]), str, str) == [
        "2025-01-01T00:00:00Z",
        "e1",
    ]
    assert cursors.decode(cursors.encode([42]), int) == [42]


def test_the_older_arity_form_still_reads_and_checks() -> None:
    assert cursors.decode(cursors.encode(["a", 3]), 2) == ["a", 3]
    with pytest.raises(cursors.BadCursor):
        cursors.decode(_b64(_dump(["a", {"b": 1}])), 2)
