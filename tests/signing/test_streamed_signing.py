"""Multi-megabyte PDFs through the streamed path: uploaded to a private file, signed in place,
answered from the body file or by reference; oversized bodies refused with nothing left behind.

Real SoftHSM2 token, real agent, real hub process, pyHanko validation of the result.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from hub.signatures.validation import validate_pdf
from tests.brokers import Mosquitto
from tests.e2e.processes import ORIGIN, Hub, wait_until
from tests.e2e.test_body_limits import RawRequest
from tests.signing.conftest import Station, make_station
from tests.signing.pdfs import make_pdf
from tests.signing.pki import PIN
from tests.signing.test_signing import _cert_id, _submit

pytestmark = pytest.mark.e2e

MiB = 1024 * 1024


def _inputs(station: Station) -> Path:
    return station.agent.settings.data_dir / "signing" / "inputs"


def _leftovers(station: Station) -> list[str]:
    """Files of signing inputs (uploads, inputs, work files) still on disk."""
    return sorted(p.name for p in _inputs(station).iterdir())


@pytest.mark.parametrize("json_form", [False, True], ids=["raw", "json"])
def test_a_multi_megabyte_pdf_is_streamed_signed_in_place_and_validates(
    station: Station, json_form: bool
) -> None:
    pdf = make_pdf(padding_bytes=7 * MiB)
    cert_id = _cert_id(station, "doctor", "doctor-rsa")
    job = _submit(station, pdf, cert_id, "doctor", json_form=json_form)
    assert job.status_code == 202, job.text
    job_id = job.json()["job_id"]
    assert job.json()["input_sha256"] == hashlib.sha256(pdf).hexdigest()
    # Kept as one private file named by its hash: no upload part left beside it.
    assert _leftovers(station) == [hashlib.sha256(pdf).hexdigest()]
    assert (_inputs(station) / job.json()["input_sha256"]).stat().st_mode & 0o777 == 0o600
    with station.consent_client() as page:
        done = page.post(f"/v1/signing/jobs/{job_id}/consent", json={"pin": PIN})
    assert done.status_code == 200, done.text
    with station.client() as app:
        # The caller allows a reference: no PDF in the answer, even when it also accepts one.
        ref = app.get(
            f"/v1/signing/jobs/{job_id}",
            headers={"Accept": "application/pdf, application/json", "Prefer": "return=minimal"},
        )
        assert ref.headers["content-type"] == "application/json", ref.headers
        reference = ref.json()
        signed = app.get(reference["signed_pdf_url"])
    assert signed.status_code == 200 and signed.headers["content-type"] == "application/pdf"
    data = signed.content
    assert len(data) == reference["signed_size"] and data.startswith(pdf)
    assert hashlib.sha256(data).hexdigest() == reference["signed_sha256"]
    verdict = validate_pdf(data, [station.pki.certs["root"]])
    assert verdict.valid, verdict.reason
    assert len(verdict.signatures) == 1
    # The signed file IS the body (renamed, not copied); the input is gone from the job store.
    body = station.agent.settings.data_dir / "bodies" / reference["signed_sha256"]
    assert body.read_bytes() == data
    assert _leftovers(station) == []


def test_a_wrong_pin_puts_the_input_back_byte_for_byte_and_the_retry_signs(
    station: Station,
) -> None:
    pdf = make_pdf(padding_bytes=3 * MiB)
    job = _submit(station, pdf, _cert_id(station, "doctor", "doctor-ec"), "doctor").json()
    sha256 = job["input_sha256"]
    with station.consent_client() as page:
        wrong = page.post(f"/v1/signing/jobs/{job['job_id']}/consent", json={"pin": "000000"})
        assert wrong.status_code == 403, wrong.text
        # pyHanko had appended its revision before the token refused: it is cut off again.
        assert _leftovers(station) == [sha256]
        assert (_inputs(station) / sha256).read_bytes() == pdf
        done = page.post(
            f"/v1/signing/jobs/{job['job_id']}/consent",
            json={"pin": PIN},
            headers={"Accept": "application/pdf"},
        )
    assert done.status_code == 200, done.text
    assert done.content.startswith(pdf)
    assert validate_pdf(done.content, [station.pki.certs["root"]]).valid


def test_two_jobs_of_the_same_pdf_each_sign_their_own_copy(station: Station) -> None:
    pdf = make_pdf(padding_bytes=2 * MiB)
    cert_id = _cert_id(station, "doctor", "doctor-rsa")
    first = _submit(station, pdf, cert_id, "doctor").json()
    second = _submit(station, pdf, cert_id, "doctor").json()
    assert _leftovers(station) == [first["input_sha256"]]
    with station.consent_client() as page:
        for job in (first, second):
            r = page.post(
                f"/v1/signing/jobs/{job['job_id']}/consent",
                json={"pin": PIN},
                headers={"Accept": "application/pdf"},
            )
            assert r.status_code == 200, r.text
            assert r.content.startswith(pdf)
            assert validate_pdf(r.content, [station.pki.certs["root"]]).valid
    assert _leftovers(station) == []


@pytest.fixture
def small_limit_station(
    tmp_path: Path, mosquitto: Mosquitto, sign_hub: Hub, hsm: Any, pki: Any
) -> Iterator[Station]:
    agent = make_station(tmp_path, mosquitto, sign_hub, hsm, pki, max_pdf_bytes=2 * MiB)
    try:
        yield Station(agent, sign_hub, hsm, pki)
    finally:
        agent.stop()


def test_a_pdf_over_the_signing_limit_is_refused_413_with_no_file_left(
    small_limit_station: Station,
) -> None:
    station = small_limit_station
    cert_id = _cert_id(station, "doctor", "doctor-rsa")
    pdf = make_pdf(padding_bytes=int(2.4 * MiB))  # under the body limit, over max_pdf_bytes
    for json_form in (False, True):
        r = _submit(station, pdf, cert_id, "doctor", json_form=json_form)
        assert r.status_code == 413, r.text
        assert r.json()["code"] in ("pdf_too_large", "body_too_large"), r.text
        assert _leftovers(station) == []
    # The agent goes on signing a PDF within the limit.
    ok = _submit(station, make_pdf(), cert_id, "doctor")
    assert ok.status_code == 202, ok.text


def test_a_chunked_upload_cut_off_at_the_body_limit_leaves_no_partial_file(
    small_limit_station: Station,
) -> None:
    station = small_limit_station
    limit = 2 * MiB * 4 // 3 + 65536  # the route's body limit for a 2 MiB PDF
    request = RawRequest(
        station.agent.http_port,
        "POST",
        "/v1/signing/jobs?document_type=SPS-53&case_id=C1&patient_id=P1&role=doctor",
        {"Origin": ORIGIN, "Content-Type": "application/pdf", "Transfer-Encoding": "chunked"},
    )
    try:
        assert request.send_chunk(b"%PDF-1.7\n" + b"0" * (64 * 1024))
        while request.sent <= limit and request.send_chunk(b"0" * (64 * 1024)):
            pass
        status, _headers, problem = request.response()
    finally:
        request.close()
    assert status == 413, problem
    assert problem["code"] in ("body_too_large", "pdf_too_large")
    wait_until(lambda: _leftovers(station) == [], 10, "the partial upload removed")
    with httpx.Client(base_url=station.agent.http_url, headers={"Origin": ORIGIN}) as app:
        assert app.get("/v1/signing/document-types").status_code == 200
