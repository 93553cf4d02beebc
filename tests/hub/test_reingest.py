"""Ops review the quarantine and re-ingest an entry under today's rules: it reaches its case."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from fastapi.testclient import TestClient

from hub.storage.base import QuarantineRow
from hub.storage.sqlite import SQLiteStore
from hub.tokens import Role
from protos import topics
from tests.hub.events import STATION, UNIT, vitals_event

TOPIC = topics.events(UNIT, STATION)


def _quarantine(store: SQLiteStore, raw: bytes, event_id: str, code: str) -> int:
    """As an older hub did: a station clock two hours fast was 'bad_timestamp'."""
    store.commit_ingest(
        [],
        [QuarantineRow("2026-11-30T10:00:00.000000Z", TOPIC, STATION, event_id, code, "old", raw)],
        [],
    )
    return store.list_quarantine(10, None).items[0].id


def test_an_event_quarantined_for_its_clock_is_reingested_onto_its_case_flagged(
    store: SQLiteStore, client: TestClient, tokens: dict[Role, dict[str, str]]
) -> None:
    event = vitals_event(occurred_at=time.time() + 7200, case_id="case-q")
    qid = _quarantine(store, event.SerializeToString(), event.event_id, "bad_timestamp")
    assert (
        client.post(f"/v1/quarantine/{qid}/reingest", headers=tokens[Role.CLINICAL]).status_code
        == 403
    )

    done = client.post(f"/v1/quarantine/{qid}/reingest", headers=tokens[Role.OPS])
    assert done.status_code == 200, done.text
    assert done.json() == {
        "quarantine_id": qid,
        "event_id": event.event_id,
        "outcome": "accepted",
        "reason": "",
    }
    stored = store.get_event(event.event_id)
    assert stored is not None and stored.case_id == "case-q"
    assert stored.time_flag == "time_unverified"  # two hours in the future, no clock estimate
    entry = client.get("/v1/quarantine", headers=tokens[Role.OPS]).json()["items"][0]
    assert entry["reingest_outcome"] == "accepted" and entry["reingested_at"]

    again = client.post(f"/v1/quarantine/{qid}/reingest", headers=tokens[Role.OPS]).json()
    assert again["outcome"] == "duplicate"
    missing = client.post("/v1/quarantine/999999/reingest", headers=tokens[Role.OPS])
    assert missing.status_code == 404


def test_an_entry_still_refused_says_why_and_is_not_quarantined_twice(
    store: SQLiteStore, client: TestClient, tokens: dict[Role, dict[str, str]]
) -> None:
    event = vitals_event(station_id="st-unknown")
    qid = _quarantine(store, event.SerializeToString(), event.event_id, "station_mismatch")
    done = client.post(f"/v1/quarantine/{qid}/reingest", headers=tokens[Role.OPS]).json()
    assert done["outcome"] == "rejected" and done["reason"]
    assert len(store.list_quarantine(10, None).items) == 1
    assert store.get_event(event.event_id) is None


def test_cli_lists_and_reingests(store: SQLiteStore, tmp_path: Path) -> None:
    event = vitals_event(occurred_at=time.time() + 7200)
    qid = _quarantine(store, event.SerializeToString(), event.event_id, "bad_timestamp")
    config = tmp_path / "hub.toml"
    config.write_text(f'data_dir = "{store.path.parent}"\n')
    run = [sys.executable, "-m", "hub.cli", "--config", str(config), "quarantine"]
    listed = subprocess.run([*run, "list"], capture_output=True, text=True, timeout=60)
    assert listed.returncode == 0, listed.stderr
    assert event.event_id in listed.stdout and "bad_timestamp" in listed.stdout
    done = subprocess.run([*run, "reingest", str(qid)], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "accepted" in done.stdout
    assert store.get_event(event.event_id) is not None
