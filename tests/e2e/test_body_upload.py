"""A document body survives a hub crash mid-upload: the station resumes, nothing is sent twice."""

from __future__ import annotations

import hashlib
import os
import time
from pathlib import Path

import httpx
import pytest

from edge_agent.bodies import BodyUploader, LocalBodies
from edge_agent.settings import AgentSettings
from tests.e2e.processes import Hub, wait_until

pytestmark = pytest.mark.e2e


def _station_token(hub: Hub, station_id: str) -> str:
    with hub.api() as api:
        response = api.post("/v1/tokens", json={"name": station_id, "role": "station"})
        assert response.status_code == 201, response.text
        return str(response.json()["token"])


def test_upload_cut_by_a_hub_crash_resumes_where_it_stopped(hub: Hub, tmp_path: Path) -> None:
    hub.register_station("station-u", "unit-e2e")
    settings = AgentSettings(
        station_id="station-u",
        unit_id="unit-e2e",
        data_dir=tmp_path / "agent",
        hub_url=hub.url,
        hub_token=_station_token(hub, "station-u"),
        body_chunk_bytes=64 * 1024,
    )
    uploader = BodyUploader(settings, LocalBodies(settings.data_dir / "bodies"))
    data = os.urandom(6 * 1024 * 1024)
    body = uploader.submit(data, "application/pdf")
    partial = hub.workdir / "data" / "bodies" / "partial" / f"{body.sha256}.part"

    uploader.start()
    try:
        wait_until(
            lambda: partial.exists() and partial.stat().st_size >= 1024 * 1024, 60, "upload started"
        )
        hub.kill()
        held = partial.stat().st_size
        assert 0 < held < len(data), "the cut must fall in the middle of the upload"
        time.sleep(1.0)
        hub.start()
        uploader.wake()
        wait_until(lambda: not uploader.bodies.pending(), 90, "upload finished")
    finally:
        uploader.stop()

    stored = httpx.get(
        f"{hub.url}/v1/bodies/{body.sha256}",
        headers={"Authorization": f"Bearer {hub.token}"},
        timeout=30,
    )
    assert stored.status_code == 200
    assert hashlib.sha256(stored.content).hexdigest() == body.sha256
    # Resumed, not restarted: at most the chunks in flight at the crash went twice.
    assert uploader.bytes_sent <= len(data) + 4 * settings.body_chunk_bytes
    assert uploader.uploaded == 1


def test_uploader_keeps_bodies_while_the_hub_is_unreachable(tmp_path: Path) -> None:
    settings = AgentSettings(
        station_id="station-v",
        unit_id="unit-e2e",
        data_dir=tmp_path / "agent",
        hub_url="http://127.0.0.1:9",  # nothing listens: the link is down
        hub_token="t",
    )
    uploader = BodyUploader(settings, LocalBodies(settings.data_dir / "bodies"))
    body = uploader.submit(b"%PDF-1.7 scanned referral", "application/pdf")
    uploader.start()
    try:
        time.sleep(1.5)
        assert [b.sha256 for b in uploader.bodies.pending()] == [body.sha256]
    finally:
        uploader.stop()
    assert uploader.bodies.read(body.sha256) == b"%PDF-1.7 scanned referral"
