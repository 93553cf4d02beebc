"""Enroll and verify: capture, extract, compare, and record the events (confirmations signed)."""

from __future__ import annotations

import hashlib
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

from drivers.base import DriverError
from drivers.fingerprint.base import CaptureUnreadable, FingerImage, FingerprintReader
from drivers.fingerprint.engine import EngineError, Extracted, MatchingEngine
from drivers.fingerprint.usb_discovery import FoundReader, scan
from edge_agent.capabilities.fingerprint.errors import (
    EngineUnavailable,
    ImpressionsInconsistent,
    NotEnrolled,
    PoorQualityError,
    from_reader_error,
)
from edge_agent.capabilities.fingerprint.settings import FingerprintSettings
from edge_agent.capabilities.fingerprint.templates import EnrolledTemplate, TemplateSource
from edge_agent.devices import DeviceManager, DeviceSlot, identity_pb
from edge_agent.errors import AgentError, InvalidInput
from edge_agent.identity import StationIdentity
from edge_agent.private_files import open_private, private_dir
from edge_agent.record import RecordService
from protos import events_pb2
from protos.biometric_signing import SIGNATURE_ALGORITHM, canonical_bytes

log = logging.getLogger(__name__)

_STEP = re.compile(r"^[a-z][a-z0-9_]{0,63}$")
MAX_TIMEOUT_S = 120.0


@dataclass(frozen=True)
class EnrollResult:
    event_id: str
    station_seq: int
    template_sha256: bytes
    impression_quality: list[int]


@dataclass(frozen=True)
class VerifyResult:
    event_id: str
    station_seq: int
    confirmation: events_pb2.BiometricConfirmation
    templates_source: str
    timings_ms: dict[str, float] = field(default_factory=dict)


def make_engine(name: str) -> MatchingEngine:
    if name != "nbis":
        raise EngineUnavailable(f"unknown engine {name!r} / motor desconocido")
    from drivers.fingerprint.nbis import NbisEngine

    try:
        return NbisEngine()
    except EngineError as exc:
        raise EngineUnavailable(exc.reason) from exc


class FingerprintService:
    def __init__(
        self,
        settings: FingerprintSettings,
        devices: DeviceManager,
        recorder: RecordService,
        identity: StationIdentity,
        templates: TemplateSource,
        image_dir: Path,
    ) -> None:
        self.settings = settings
        self.devices = devices
        self.recorder = recorder
        self.identity = identity
        self.templates = templates
        self.image_dir = image_dir
        self._engine: MatchingEngine | None = None

    @property
    def engine(self) -> MatchingEngine:
        if self._engine is None:
            self._engine = make_engine(self.settings.engine)
        return self._engine

    def _reader(self, device_id: str) -> tuple[DeviceSlot, FingerprintReader]:
        slot = self.devices.get(device_id)
        reader = slot.device
        if not isinstance(reader, FingerprintReader):
            raise InvalidInput(
                f"device {device_id!r} is not a fingerprint reader / "
                f"el dispositivo {device_id!r} no es un lector de huellas",
                code="not_a_reader",
            )
        return slot, reader

    def readers(self) -> list[FoundReader]:
        """The fingerprint readers on the USB bus, known models marked supported."""
        try:
            return scan()
        except DriverError as exc:
            raise from_reader_error(exc) from exc
        except Exception as exc:  # no USB access (permissions, no libusb): say so
            raise AgentError(str(exc), code="usb_unreadable") from exc

    def cancel(self, device_id: str) -> None:
        """Stop a capture under way on the reader (the caller gets CaptureCancelled)."""
        self._reader(device_id)[1].cancel()

    def _capture(self, reader: FingerprintReader, timeout_s: float, what: str = "") -> FingerImage:
        if not 0 < timeout_s <= MAX_TIMEOUT_S:
            raise InvalidInput(f"timeout_s must be in (0, {MAX_TIMEOUT_S:g}] / timeout_s no válido")
        try:
            return reader.capture(timeout_s)
        except CaptureUnreadable as exc:
            if what:  # enrollment: the same refusal as a poor impression
                raise PoorQualityError(self._refusal(what, exc.reason)) from exc
            raise PoorQualityError(
                f"{exc.reason}: clean the reader and the finger, press flat and still / "
                "limpie el lector y el dedo, presione plano y sin moverse"
            ) from exc
        except DriverError as exc:
            raise from_reader_error(exc) from exc

    def _refusal(self, what: str, found: str) -> str:
        """The bilingual enrollment refusal: what was found, and to try again or another finger."""
        es = what.replace("impression", "impresión").replace(" of ", " de ")
        t = self.settings.threshold
        return (
            f"{what}: {found.split(' / ')[0]}: this finger cannot be matched reliably at the "
            f"station's threshold ({t:g}). Clean the reader and the finger and press flat; if it "
            "is refused again, enroll a different finger (the other index, a middle finger or a "
            f"thumb) / {es}: {found.split(' / ')[-1]}: este dedo no puede compararse de forma "
            f"confiable con el umbral de la estación ({t:g}). Limpie el lector y el dedo y "
            "presione plano; si se rechaza de nuevo, registre otro dedo (el otro índice, un dedo "
            "medio o un pulgar)"
        )

    def _keep(self, image: FingerImage, name: str) -> None:
        """WSQ-compress and keep an image, only when the deployment says images must be kept."""
        if not self.settings.keep_images:
            return
        import wsq  # noqa: F401  (registers the WSQ codec with Pillow)
        from PIL import Image

        private_dir(self.image_dir)
        img = Image.frombytes("L", (image.width, image.height), image.pixels)
        with os.fdopen(open_private(self.image_dir / f"{name}.wsq"), "wb") as f:
            img.save(f, "WSQ")

    def _check_quality(self, got: Extracted, what: str, verification: bool = False) -> None:
        s = self.settings
        if verification:
            if got.quality < s.verify_min_quality or got.minutiae < s.min_minutiae:
                raise PoorQualityError(
                    f"{what}: quality {got.quality} (least {s.verify_min_quality}, fast "
                    f"quality), {got.minutiae} minutiae (least {s.min_minutiae}); clean the "
                    f"reader and the finger, press flat and still / {what}: calidad "
                    f"{got.quality} (mínimo {s.verify_min_quality}), {got.minutiae} minucias "
                    f"(mínimo {s.min_minutiae}); limpie el lector y el dedo, presione plano y "
                    "sin moverse"
                )
            return
        if got.quality < s.min_quality or got.minutiae < s.enroll_min_minutiae:
            raise PoorQualityError(
                self._refusal(
                    what,
                    f"NFIQ 2 quality {got.quality} (least {s.min_quality}), {got.minutiae} "
                    f"minutiae (least {s.enroll_min_minutiae}) / calidad NFIQ 2 {got.quality} "
                    f"(mínimo {s.min_quality}), {got.minutiae} minucias (mínimo "
                    f"{s.enroll_min_minutiae})",
                )
            )

    # -- enrollment ----------------------------------------------------------------------
    def enroll(
        self,
        device_id: str,
        case_id: str,
        patient_id: str,
        finger: int,
        operator_id: str = "",
        impressions: int = 0,
        timeout_s: float = 20.0,
    ) -> EnrollResult:
        if finger not in range(1, 11):
            raise InvalidInput("finger must be 1..10 (ISO finger position) / dedo no válido")
        n = impressions or self.settings.enroll_impressions
        if not 1 <= n <= 10:
            raise InvalidInput("impressions must be 1..10 / impresiones: 1 a 10")
        self.recorder.build(  # validate the envelope before touching the reader
            payload_name="biometric_enrollment",
            payload=events_pb2.BiometricEnrollment(finger=finger),  # type: ignore[arg-type]  # an int the protobuf enum field accepts
            device_id=device_id,
            case_id=case_id,
            patient_id=patient_id,
        )
        engine = self.engine
        slot, reader = self._reader(device_id)
        extracted: list[Extracted] = []
        with slot.lock:
            for k in range(n):
                image = self._capture(reader, timeout_s, f"impression {k + 1} of {n}")
                got = engine.extract(image, finger)
                self._check_quality(got, f"impression {k + 1} of {n}")
                if extracted:
                    score = engine.compare(got.template, extracted[0].template)
                    if score < self.settings.threshold:
                        raise ImpressionsInconsistent(
                            f"impression {k + 1} does not match impression 1 (score {score:g} < "
                            f"{self.settings.threshold:g}): use the same finger each time, "
                            "pressed flat at the same place; if it fails again, enroll a "
                            f"different finger / la impresión {k + 1} no coincide con la 1 "
                            f"(puntaje {score:g} < {self.settings.threshold:g}): use el mismo "
                            "dedo cada vez, plano y en el mismo lugar; si falla de nuevo, "
                            "registre otro dedo"
                        )
                extracted.append(got)
                self._keep(image, f"enroll-{patient_id.replace('/', '_')}-{finger}-{k}")
            reader_id = identity_pb(reader.identify(), slot.driver)
        template = engine.merge([e.template for e in extracted])
        digest = hashlib.sha256(template).digest()
        payload = events_pb2.BiometricEnrollment(
            finger=finger,  # type: ignore[arg-type]  # an int the protobuf enum field accepts
            template_format=engine.template_format,
            template=template,
            template_sha256=digest,
            impression_quality=[e.quality for e in extracted],
            reader=reader_id,
            operator_id=operator_id,
        )
        event_id, seq = self.recorder.record(
            payload_name="biometric_enrollment",
            payload=payload,
            device_id=device_id,
            case_id=case_id,
            patient_id=patient_id,
        )
        self.templates.remember(patient_id, EnrolledTemplate(finger, template, digest, event_id))
        log.info(
            "fingerprint enrolled (finger %d, qualities %s)",
            finger,
            [e.quality for e in extracted],
            extra={"event_id": event_id, "case_id": case_id},
        )
        return EnrollResult(event_id, seq, digest, [e.quality for e in extracted])

    # -- verification --------------------------------------------------------------------
    def verify(
        self,
        device_id: str,
        case_id: str,
        patient_id: str,
        step: str,
        operator_id: str = "",
        timeout_s: float = 20.0,
        image: FingerImage | None = None,
    ) -> VerifyResult:
        """Capture (unless ``image`` is given: the bench), compare, record a signed confirmation."""
        import time

        if not _STEP.match(step):
            raise InvalidInput(
                f"step {step!r} must be lower-case letters, digits, '_' (e.g. admission) / "
                "paso no válido",
                code="invalid_step",
            )
        self.recorder.build(
            payload_name="biometric_confirmation",
            payload=events_pb2.BiometricConfirmation(step=step),
            device_id=device_id,
            case_id=case_id,
            patient_id=patient_id,
        )
        engine = self.engine
        enrolled, source = self.templates.get(patient_id)
        if not enrolled:
            raise NotEnrolled(
                f"patient {patient_id} has no enrolled fingerprint / "
                f"el paciente {patient_id} no tiene huella registrada"
            )
        slot, reader = self._reader(device_id)
        with slot.lock:
            if image is None:
                image = self._capture(reader, timeout_s)
            reader_id = identity_pb(reader.identify(), slot.driver)
        t0 = time.perf_counter()
        probe = engine.extract(image, quality="fast")  # NFIQ 2 stays for enrollment
        t1 = time.perf_counter()
        self._check_quality(probe, "capture", verification=True)
        threshold = self.settings.threshold
        best_score, best_finger = -1.0, 0
        for ref in enrolled:  # a match is a match: stop at the first view reaching it
            score = engine.compare(probe.template, ref.template, stop_at=threshold)
            if score > best_score:
                best_score, best_finger = score, ref.finger
            if best_score >= threshold:
                break
        t2 = time.perf_counter()
        confirmation = events_pb2.BiometricConfirmation(
            step=step,
            finger=best_finger,  # type: ignore[arg-type]  # an int the protobuf enum field accepts
            reader=reader_id,
            quality=probe.quality,
            score=best_score,
            threshold=threshold,
            decision=events_pb2.MATCH if best_score >= threshold else events_pb2.NO_MATCH,
            probe_template_sha256=hashlib.sha256(probe.template).digest(),
            operator_id=operator_id,
            signature_algorithm=SIGNATURE_ALGORITHM,
            station_cert_sha256=self.identity.fingerprint_sha256,
        )
        event = self.recorder.build(
            payload_name="biometric_confirmation",
            payload=confirmation,
            device_id=device_id,
            case_id=case_id,
            patient_id=patient_id,
        )
        event.biometric_confirmation.station_signature = self.identity.sign(canonical_bytes(event))
        event_id, seq = self.recorder.outbox.append(event)
        t3 = time.perf_counter()
        self._keep(image, f"verify-{event_id}")
        log.info(
            "fingerprint %s at %s (score %g, threshold %g, quality %d, templates from %s)",
            events_pb2.ConfirmationDecision.Name(confirmation.decision),
            step,
            best_score,
            threshold,
            probe.quality,
            source,
            extra={"event_id": event_id, "case_id": case_id},
        )
        timings = {
            "extract": (t1 - t0) * 1e3,
            "compare": (t2 - t1) * 1e3,
            "record": (t3 - t2) * 1e3,
        }
        return VerifyResult(event_id, seq, event.biometric_confirmation, source, timings)
