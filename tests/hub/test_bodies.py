"""Document bodies: resumable upload by stations, verified against their hash, downloadable."""

from __future__ import annotations

import hashlib
import os

from fastapi.testclient import TestClient

from hub.tokens import Role

STREAM = {"Content-Type": "application/offset+octet-stream", "Body-Media-Type": "application/pdf"}


def _patch(
    client: TestClient, auth: dict[str, str], sha: str, offset: int, total: int, chunk: bytes
):
    headers = {**auth, **STREAM, "Upload-Offset": str(offset), "Upload-Length": str(total)}
    return client.patch(f"/v1/bodies/{sha}", content=chunk, headers=headers)


def test_a_body_uploaded_in_chunks_resumes_from_the_hubs_offset(
    client: TestClient, tokens: dict[Role, dict[str, str]]
) -> None:
    station = tokens[Role.STATION]
    data = os.urandom(300_000)
    sha = hashlib.sha256(data).hexdigest()
    assert client.head(f"/v1/bodies/{sha}", headers=station).headers["Upload-Offset"] == "0"

    first = _patch(client, station, sha, 0, len(data), data[:100_000])
    assert first.status_code == 204 and first.headers["Upload-Complete"] == "?0"
    # The link dropped; the station asks where to resume.
    head = client.head(f"/v1/bodies/{sha}", headers=station)
    assert head.headers["Upload-Offset"] == "100000"
    # A chunk at the wrong offset is refused and told the right one.
    wrong = _patch(client, station, sha, 50_000, len(data), data[50_000:60_000])
    assert wrong.status_code == 409 and wrong.headers["Upload-Offset"] == "100000"
    last = _patch(client, station, sha, 100_000, len(data), data[100_000:])
    assert last.status_code == 204 and last.headers["Upload-Complete"] == "?1"

    got = client.get(f"/v1/bodies/{sha}", headers=tokens[Role.CLINICAL])
    assert got.status_code == 200
    assert got.content == data and got.headers["content-type"] == "application/pdf"
    again = client.head(f"/v1/bodies/{sha}", headers=station)
    assert again.headers["Upload-Complete"] == "?1"


def test_bytes_that_do_not_hash_to_the_name_are_discarded(
    client: TestClient, tokens: dict[Role, dict[str, str]]
) -> None:
    station = tokens[Role.STATION]
    data = b"%PDF-1.7 real document"
    sha = hashlib.sha256(data).hexdigest()
    flipped = b"%PDF-1.7 real documenT"
    refused = _patch(client, station, sha, 0, len(flipped), flipped)
    assert refused.status_code == 422 and refused.json()["code"] == "hash_mismatch"
    assert client.get(f"/v1/bodies/{sha}", headers=tokens[Role.OPS]).status_code == 404
    assert client.head(f"/v1/bodies/{sha}", headers=station).headers["Upload-Offset"] == "0"


def test_only_stations_upload_and_bad_requests_are_named(
    client: TestClient, tokens: dict[Role, dict[str, str]]
) -> None:
    data = b"x" * 10
    sha = hashlib.sha256(data).hexdigest()
    assert _patch(client, tokens[Role.CLINICAL], sha, 0, 10, data).status_code == 403
    assert _patch(client, {}, sha, 0, 10, data).status_code == 401
    bad = _patch(client, tokens[Role.STATION], "not-a-hash", 0, 10, data)
    assert bad.status_code == 422 and bad.json()["code"] == "bad_digest"
    plain = client.patch(
        f"/v1/bodies/{sha}",
        content=data,
        headers={**tokens[Role.STATION], "Upload-Offset": "0", "Upload-Length": "10"},
    )
    assert plain.status_code == 415
    huge = _patch(client, tokens[Role.STATION], sha, 0, 10**12, data)
    assert huge.status_code == 413
