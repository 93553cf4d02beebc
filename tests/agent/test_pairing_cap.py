"""Pairing requests are capped across origins, not only per origin: made-up origins can't flood."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.capabilities.pairing.service import PairingBusy, PairingStore


def test_many_origins_cannot_flood_the_users_page(tmp_path: Path) -> None:
    store = PairingStore(
        tmp_path / "p.sqlite3", code_ttl_s=60, max_pending_total=3, requests_per_min=60
    )
    for n in range(3):
        store.request(f"https://s{n}.example", now=0)
    with pytest.raises(PairingBusy) as full:
        store.request("https://s3.example", now=10)
    assert full.value.status == 429 and full.value.retry_after_s == 50  # first code expires
    # Once those codes expired, a new origin may ask again.
    assert store.request("https://s3.example", now=61).origin == "https://s3.example"


def test_the_rate_across_origins_refills_and_says_when(tmp_path: Path) -> None:
    store = PairingStore(
        tmp_path / "p.sqlite3", code_ttl_s=1, max_pending_total=2, requests_per_min=6
    )
    store.request("https://a.example", now=0)
    store.request("https://b.example", now=0)
    with pytest.raises(PairingBusy) as spent:
        store.request("https://c.example", now=2)  # nothing pending now, but the budget is spent
    assert spent.value.retry_after_s == 8  # one request per 10 s; 2 s have passed
    assert store.request("https://c.example", now=10).origin == "https://c.example"
