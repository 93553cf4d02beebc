"""Scanning for a case: pages from a scanner → one PDF → body by hash → a ScannedDocument event.

A scan is a job: it runs on its own thread while the caller watches its
progress (page n of m) by polling, by a stream (SSE, gRPC), or waits for it.
Steps: hold the device (one scan at a time), scan page by page encoding each
as it arrives (scan_pdf), drop blank pages when asked, assemble the PDF, write
it with ``bodies.submit`` (durable at the station, queued for the hub), then
record the event naming it (durable in the outbox). When the request said how
many pages to expect (``expected_pages``) and the scanner yielded another number
(blank pages included), the event carries ``expected_pages`` and the job's
result says so in words (``page_count_note``, protos.scan_types), for the
caller, the station's page and the case. A device condition (jam,
empty feeder, cover open, busy, gone) fails the job with its own code, records
nothing clinical, and makes the device manager record a DeviceStatus.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

from drivers.base import DriverError
from drivers.scanner.base import (
    DeviceGone,
    ScanCancelled,
    ScanError,
    Scanner,
    ScannerBusy,
    ScannerCapabilities,
    ScanSettings,
    UnsupportedSetting,
)
from edge_agent.capabilities.scanning.errors import scan_error
from edge_agent.devices import DeviceManager, identity_pb
from edge_agent.errors import AgentError, DeviceFailed, InvalidInput
from edge_agent.jobs import JobTable, Progress
from edge_agent.record import RecordService
from protos import events_pb2
from protos.event_ids import new_event_id
from protos.scan_types import SCAN_DOCUMENT_TYPES, page_count_note

log = logging.getLogger(__name__)

MAX_JOBS_KEPT = 100
TERMINAL = frozenset({"done", "failed", "cancelled"})


@dataclass(frozen=True)
class ScanRequest:
    device_id: str
    case_id: str
    patient_id: str
    document_type: str
    title: str = ""
    source: str = "flatbed"  # "flatbed", "feeder", "duplex"
    mode: str = "gray"
    resolution_dpi: int = 300
    drop_blank_pages: bool = False
    max_pages: int = 0  # feeder: stop after this many (0: until empty)
    expected_pages: int = 0  # what the person said they put in (for "page n of m"); 0: unknown
    operator_id: str = ""


@dataclass(frozen=True)
class ScanResult:
    event_id: str
    station_seq: int
    document_id: str
    sha256: str
    size: int
    pages: int
    blank_pages_dropped: int
    document: events_pb2.ScannedDocument
    expected_pages: int = 0  # what the request said (0: not said)
    page_count_note: str = ""  # Spanish / English words when the scanner yielded another number


@dataclass(frozen=True)
class JobSnapshot:
    """What a watcher sees: ``version`` grows with every change."""

    job_id: str
    device_id: str
    case_id: str
    state: str  # "queued", "scanning", "assembling", "storing", "done", "failed", "cancelled"
    pages_scanned: int
    pages_expected: int
    blank_pages_dropped: int
    version: int
    started_at: float
    finished_at: float | None = None
    result: ScanResult | None = None
    error_code: str = ""
    error_reason: str = ""
    error: AgentError | None = field(default=None, repr=False, compare=False)
    # What the person said the scan would yield (the request's expected_pages; 0: not said),
    # kept apart from ``pages_expected``, the progress bar's moving "m" of "page n of m".
    expected_pages: int = 0

    @property
    def finished(self) -> bool:
        return self.state in TERMINAL


def _unknown_job(job_id: str) -> InvalidInput:
    return InvalidInput(
        f"no scan job {job_id!r} / no existe el trabajo de escaneo {job_id!r}",
        code="unknown_scan_job",
    )


class ScanJob:
    """A scan followed by id (:mod:`edge_agent.jobs`): immutable snapshots, one per change."""

    def __init__(self, job_id: str, request: ScanRequest, expected: int) -> None:
        self.request = request
        self.scanner: Scanner | None = None
        self.progress = Progress()
        self._lock = threading.Lock()
        self._snap = JobSnapshot(
            job_id,
            request.device_id,
            request.case_id,
            "queued",
            0,
            expected,
            0,
            0,
            time.time(),
            expected_pages=request.expected_pages,
        )

    @property
    def job_id(self) -> str:
        return self._snap.job_id

    @property
    def finished(self) -> bool:
        return self.snapshot().finished

    def started_at(self) -> float:
        return self._snap.started_at

    def snapshot(self) -> JobSnapshot:
        with self._lock:
            return self._snap

    def update(self, **changes: Any) -> None:
        with self._lock:
            if changes.get("state") in TERMINAL:
                changes["finished_at"] = time.time()
            self._snap = replace(self._snap, version=self._snap.version + 1, **changes)
            ended = self._snap.finished
        self.progress.changed(ended=ended)

    def wait_change(self, after_version: int, timeout_s: float) -> JobSnapshot:
        """The snapshot once its version passes ``after_version`` (or as is at the timeout)."""
        self.progress.wait_change(after_version, timeout_s)
        return self.snapshot()

    def watch(self, timeout_s: float = 3600.0) -> Iterator[JobSnapshot]:
        """Every change until the job ends (changes in between may be merged)."""
        seen = -1
        for _version in self.progress.watch(timeout_s):
            snap = self.snapshot()
            if snap.version != seen:
                seen = snap.version
                yield snap

    def wait(self, timeout_s: float = 3600.0) -> JobSnapshot:
        last = self.snapshot()
        for snap in self.watch(timeout_s):
            last = snap
        return last


@dataclass(frozen=True)
class ScannerInfo:
    device_id: str
    driver: str
    state: str
    model: str
    capabilities: ScannerCapabilities | None
    error_code: str = ""


class ScanService:
    def __init__(
        self,
        devices: DeviceManager,
        recorder: RecordService,
        submit_body: Callable[[bytes, str], Any],
    ) -> None:
        self.devices = devices
        self.recorder = recorder
        self.submit_body = submit_body
        self.jobs: JobTable[ScanJob] = JobTable(_unknown_job, keep=MAX_JOBS_KEPT)

    # -- queries -----------------------------------------------------------------------------

    def scanners(self) -> list[ScannerInfo]:
        out = []
        for info in self.devices.list():
            device = self.devices.device(info.device_id)
            if not isinstance(device, Scanner):
                continue
            caps = None
            slot = self.devices.get(info.device_id)
            if slot.lock.acquire(timeout=0.5):
                try:
                    caps = device.capabilities()
                except DriverError:
                    caps = None
                finally:
                    slot.lock.release()
            out.append(
                ScannerInfo(
                    info.device_id,
                    info.driver,
                    info.state_name,
                    info.identity.model,
                    caps,
                    info.error_code,
                )
            )
        return out

    def job(self, job_id: str) -> ScanJob:
        return self.jobs.get(job_id)

    # -- commands ----------------------------------------------------------------------------

    def start(self, request: ScanRequest) -> ScanJob:
        """Check the request, take the device, and scan on a thread; returns at once."""
        scanner, settings = self._check(request)
        slot = self.devices.get(request.device_id)
        if not slot.lock.acquire(blocking=False):
            raise scan_error(
                ScannerBusy(
                    f"{request.device_id} is scanning another document / "
                    f"{request.device_id} está escaneando otro documento"
                )
            )
        expected = request.expected_pages or request.max_pages
        if request.source == "flatbed":
            expected = 1
        job = ScanJob(new_event_id(), request, expected)
        job.scanner = scanner
        self.jobs.add(job)
        thread = threading.Thread(
            target=self._run, args=(job, scanner, settings, slot.lock), name="scan", daemon=True
        )
        thread.start()
        return job

    def scan(self, request: ScanRequest, timeout_s: float = 3600.0) -> ScanResult:
        """Scan and wait: the result once the event is durable, or the job's error raised."""
        snap = self.start(request).wait(timeout_s)
        if snap.result is not None:
            return snap.result
        if snap.error is not None:
            raise snap.error
        raise DeviceFailed(
            "the scan did not finish in time / el escaneo no terminó a tiempo",
            code="scan_timeout",
        )

    def cancel(self, job_id: str) -> JobSnapshot:
        job = self.job(job_id)
        if not job.snapshot().finished and job.scanner is not None:
            job.scanner.cancel()
        return job.snapshot()

    # -- internals ---------------------------------------------------------------------------

    def _check(self, r: ScanRequest) -> tuple[Scanner, ScanSettings]:
        if r.document_type not in SCAN_DOCUMENT_TYPES:
            raise InvalidInput(
                f"document_type {r.document_type!r} is not one of "
                f"{', '.join(SCAN_DOCUMENT_TYPES)} / tipo de documento desconocido",
                code="unknown_document_type",
            )
        if len(r.title) > 200:
            raise InvalidInput("title is longer than 200 characters / título demasiado largo")
        # The envelope (case, patient, device id) is checked before the device is touched.
        self.recorder.build(
            payload_name="scanned_document",
            payload=events_pb2.ScannedDocument(document_type=r.document_type),
            device_id=r.device_id,
            case_id=r.case_id,
            patient_id=r.patient_id,
        )
        device = self.devices.device(r.device_id)
        if not isinstance(device, Scanner):
            raise InvalidInput(
                f"device {r.device_id!r} is not a scanner / "
                f"el dispositivo {r.device_id!r} no es un escáner",
                code="not_a_scanner",
            )
        try:
            settings = ScanSettings(r.source, r.mode, r.resolution_dpi, max_pages=r.max_pages)
        except UnsupportedSetting as exc:
            raise InvalidInput(exc.reason, code=exc.code) from exc
        return device, settings

    def _run(
        self, job: ScanJob, scanner: Scanner, settings: ScanSettings, lock: threading.Lock
    ) -> None:
        r = job.request
        ctx = {"case_id": r.case_id, "device_id": r.device_id}
        failed: ScanError | None = None
        try:
            job.update(state="scanning")
            # Pillow and img2pdf load with the first scan, not with every agent (idle RSS).
            from edge_agent.capabilities.scanning import pdf as scan_pdf

            pages: list[scan_pdf.EncodedPage] = []
            dropped = 0
            try:
                for page in scanner.scan(settings):
                    encoded = scan_pdf.encode(page, detect_blank=r.drop_blank_pages)
                    if encoded.blank:
                        dropped += 1
                    else:
                        pages.append(encoded)
                    expected = job.snapshot().pages_expected
                    job.update(
                        pages_scanned=page.number,
                        pages_expected=max(expected, page.number) if expected else 0,
                        blank_pages_dropped=dropped,
                    )
                identity = scanner.identify()
            except ScanError as exc:
                failed = exc
                if not isinstance(exc, ScanCancelled | UnsupportedSetting):
                    self._report_device(r.device_id, force=True)  # a DeviceStatus per condition
                raise
            finally:
                lock.release()
            if not pages:
                raise InvalidInput(
                    f"all {dropped} scanned pages were blank; nothing was recorded / "
                    f"las {dropped} hojas escaneadas estaban en blanco; no se registró nada",
                    code="all_pages_blank",
                )
            job.update(state="assembling", pages_expected=job.snapshot().pages_scanned)
            title = r.title or SCAN_DOCUMENT_TYPES[r.document_type].split(" / ")[0]
            pdf = scan_pdf.assemble(pages, title)
            job.update(state="storing")
            body = self.submit_body(pdf, "application/pdf")
            document_id = new_event_id()
            driver = self.devices.get(r.device_id).driver
            document = events_pb2.ScannedDocument(
                document_type=r.document_type,
                body=events_pb2.BodyRef(
                    sha256=bytes.fromhex(body.sha256),
                    size=body.size,
                    media_type="application/pdf",
                    filename=f"{r.document_type}-{document_id[:8]}.pdf",
                ),
                pages=len(pages),
                resolution_dpi=pages[0].resolution_dpi,
                mode=settings.mode,
                source=settings.source,
                scanner=identity_pb(identity, driver),
                document_id=document_id,
                title=title,
                blank_pages_dropped=dropped,
                expected_pages=r.expected_pages,
            )
            event_id, seq = self.recorder.record(
                payload_name="scanned_document",
                payload=document,
                device_id=r.device_id,
                case_id=r.case_id,
                patient_id=r.patient_id,
            )
            note = page_count_note(len(pages) + dropped, r.expected_pages, dropped)
            result = ScanResult(
                event_id,
                seq,
                document_id,
                body.sha256,
                body.size,
                len(pages),
                dropped,
                document,
                r.expected_pages,
                note,
            )
            job.update(state="done", result=result)
            log.info(
                "scan recorded: %d pages (%d blank dropped, %d expected), %d bytes",
                len(pages),
                dropped,
                r.expected_pages,
                body.size,
                extra={**ctx, "event_id": event_id},
            )
            if note:
                log.warning(
                    "scan page count differs: %s", note, extra={**ctx, "event_id": event_id}
                )
        except ScanCancelled as exc:
            job.update(
                state="cancelled",
                error_code=exc.code,
                error_reason=exc.reason,
                error=scan_error(exc),
            )
        except ScanError as exc:
            log.warning("scan failed: %s", exc.code, extra=ctx)
            job.update(
                state="failed", error_code=exc.code, error_reason=exc.reason, error=scan_error(exc)
            )
        except AgentError as exc3:
            log.warning("scan not recorded: %s", exc3.code, extra=ctx)
            job.update(state="failed", error_code=exc3.code, error_reason=exc3.reason, error=exc3)
        except Exception as exc4:  # a driver or the PDF step failing any other way
            log.exception("scan failed unexpectedly", extra=ctx)
            err = DeviceFailed(f"{type(exc4).__name__}: {exc4}", code="scan_failed")
            job.update(state="failed", error_code=err.code, error_reason=err.reason, error=err)
        finally:
            if failed is None and job.snapshot().state == "done":
                self._report_device(r.device_id, force=False, held=False)  # e.g. jam cleared

    def _report_device(self, device_id: str, force: bool, held: bool = True) -> None:
        try:
            self.devices.refresh(device_id, force=force, held=held)
        except Exception:
            log.exception("device status after scan not recorded", extra={"device_id": device_id})


__all__ = ["DeviceGone", "JobSnapshot", "ScanJob", "ScanRequest", "ScanResult", "ScanService"]
