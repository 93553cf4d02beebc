"""HL7 v2 ORU^R01 per IHE PCD-01 (DEC) from monitors and gateways, over MLLP/TCP or serial.

The agent listens (MLLP, python-hl7's ``hl7.mllp``) and answers each message
(``hl7_ack``): AA when every row was read, AE with one ERR segment per row it
could not read, AR when the whole message is unusable (not HL7, not ORU^R01).
From each OBX row with a value it takes OBX-3 (MDC code and reference id),
OBX-5 (value), OBX-6 (unit, MDC dimension or UCUM, passed on as sent — mapping
to canonical UCUM happens outside drivers), OBX-4 (containment), OBX-14, else
OBR-7, else MSH-7 (time; no offset = UTC), OBX-18 (equipment EUI-64), and the
patient the message names (PID-3 identifiers, PID-5 name). Device-level rows
without a value (e.g. MDC_DEV_SPEC_PROFILE_*), rows with result status X and
rows of a known non-numeric type (HL7 table 0125: CWE time-sync protocol, DTM
device clock, ...) are skipped. A row that cannot be read (value not a number
in an NM row, value type missing or not in table 0125, code not numeric) is
passed on with its ``problem`` so the take records the rejection, and answered
with an ERR. The agent adds its own checks (code table, units, blood-pressure
completeness) through :attr:`_Receiver.review`. Line endings are normalised
first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import hl7
import hl7.mllp

from drivers.base import DeviceHealth, DeviceUnavailable, DriverManifest, Health, Identity, Setting
from drivers.vitals.base import FrameError, NumericReading
from drivers.vitals.hl7_ack import Problem, build_ack
from drivers.vitals.serialport import SerialMonitor, serial_settings

log = logging.getLogger(__name__)

SB, EB, CR = b"\x0b", b"\x1c", b"\x0d"
MAX_MESSAGE = 1 << 20


# HL7 table 0125 (value types). NM is a reading; the others are device facts (CWE time-sync
# protocol, DTM device clock, ST text, NA waveforms, ...) and are skipped. A type not in the
# table is reported (ERR 103).
VALUE_TYPES = frozenset(
    [
        "AD",
        "CE",
        "CF",
        "CK",
        "CN",
        "CNE",
        "CP",
        "CWE",
        "CX",
        "DR",
        "DT",
        "DTM",
        "ED",
        "FT",
        "ID",
        "IS",
        "MA",
        "MO",
        "NA",
        "NDL",
        "NM",
        "PN",
        "RP",
        "SN",
        "ST",
        "TM",
        "TN",
        "TS",
        "TX",
        "XAD",
        "XCN",
        "XON",
        "XPN",
        "XTN",
    ]
)


@dataclass(frozen=True)
class Oru:
    control_id: str
    sender: str  # MSH-3 namespace id
    sender_eui64: str  # MSH-3 universal id when it is an EUI-64
    readings: list[NumericReading]
    skipped: int  # OBX rows without a value (device-level, status X), non-numeric types
    # What could not be read, located (one ERR each in the ACK).
    problems: list[Problem] = field(default_factory=list)
    # OBX occurrence (1-based) of each reading, to locate problems found later.
    locations: list[int] = field(default_factory=list)
    message: hl7.Message | None = None
    patient_ids: tuple[str, ...] = ()
    patient_name: str = ""


class MessageRefused(FrameError):
    """The whole message is unusable: answered AR, with the problem located."""

    def __init__(self, reason: str, problem: Problem, message: hl7.Message | None) -> None:
        super().__init__(reason, code="unsupported_message" if problem.code == 200 else "bad_frame")
        self.problem = problem
        self.message = message


def normalise_line_endings(text: str) -> str:
    return text.replace("\r\n", "\r").replace("\n", "\r").strip("\r") + "\r"


def parse_dtm(text: str) -> datetime | None:
    if not text:
        return None
    try:
        at: datetime | None = hl7.parse_datetime(text)
    except (ValueError, TypeError, OverflowError):
        return None
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def get(seg: hl7.Segment, field_num: int, rep: int = 1, comp: int = 1) -> str:
    """One component of a segment (python-hl7's accessor), "" when it is not there."""
    try:
        value = seg.extract_field(1, field_num, rep, comp)
    except (IndexError, AttributeError, TypeError):
        return ""
    return str(value).strip()


def repetitions(seg: hl7.Segment, field_num: int) -> int:
    if field_num >= len(seg):
        return 0
    value = seg(field_num)
    return (
        len(value)
        if isinstance(value, hl7.Field) and value and isinstance(value[0], hl7.Repetition)
        else 1
    )


def patient_of(msg: hl7.Message) -> tuple[tuple[str, ...], str]:
    """PID-3 identifiers (each repetition's id) and PID-5 as "family^given" ("" when absent)."""
    try:
        pid = msg.segment("PID")
    except KeyError:
        return (), ""
    ids = tuple(i for i in (get(pid, 3, n, 1) for n in range(1, repetitions(pid, 3) + 1)) if i)
    family, given = get(pid, 5, 1, 1), get(pid, 5, 1, 2)
    return ids, (f"{family}^{given}" if family or given else "")


def _refused(
    reason: str, code: int, why: str, msg: hl7.Message | None, seg: str = "MSH", field_num: int = 0
) -> MessageRefused:
    return MessageRefused(reason, Problem(seg, 1 if seg else 0, field_num, code, why, reason), msg)


def parse_oru(data: str | bytes) -> Oru:
    """Readings of one ORU^R01 (PCD-01) and what could not be read; MessageRefused if unusable."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = normalise_line_endings(text)
    if not text.startswith("MSH") or len(text) < 8:
        raise _refused(
            "not an HL7 v2 message (no MSH) / no es un mensaje HL7 v2", 100, "no_msh", None, "", 0
        )
    try:
        msg = hl7.parse(text)
        msh = msg.segment("MSH")
        kind = (get(msh, 9, 1, 1), get(msh, 9, 1, 2))
    except Exception as exc:  # python-hl7 raises several kinds on garbage
        raise _refused(
            f"unreadable HL7 message ({type(exc).__name__}) / mensaje HL7 ilegible",
            102,
            "unreadable",
            None,
        ) from exc
    if kind != ("ORU", "R01"):
        raise _refused(
            f"message type {'^'.join(kind)} is not ORU^R01 / el mensaje no es ORU^R01",
            200,
            "unsupported_message",
            msg,
            "MSH",
            9,
        )
    control_id = get(msh, 10)
    sender = get(msh, 3, 1, 1)
    eui = get(msh, 3, 1, 2) if get(msh, 3, 1, 3) == "EUI-64" else ""
    default_at = parse_dtm(get(msh, 7)) or datetime.now(UTC)
    received = datetime.now(UTC)
    patient_ids, patient_name = patient_of(msg)
    readings: list[NumericReading] = []
    locations: list[int] = []
    problems: list[Problem] = []
    skipped = 0
    obr_at = default_at
    obx_n = 0
    for seg in msg:
        name = str(seg[0])
        if name == "OBR":
            obr_at = parse_dtm(get(seg, 7)) or default_at
            continue
        if name != "OBX":
            continue
        obx_n += 1
        value = get(seg, 5)
        status = get(seg, 11)
        value_type = get(seg, 2)
        if not value or status == "X" or (value_type != "NM" and value_type in VALUE_TYPES):
            skipped += 1
            continue
        problem = ""
        raw_code = get(seg, 3, 1, 1)
        refid = get(seg, 3, 1, 2)
        try:
            code = int(raw_code)
            if not 0 < code < 1 << 32:
                raise ValueError(raw_code)
        except ValueError:
            code = 0
            problem = "bad_code"
            problems.append(
                Problem(
                    "OBX",
                    obx_n,
                    3,
                    101 if not raw_code else 102,
                    problem,
                    f"OBX-3 {raw_code!r} is not an MDC numeric code / "
                    f"OBX-3 {raw_code!r} no es un código MDC numérico",
                )
            )
        if not value_type:
            problem = problem or "missing_value_type"
            problems.append(
                Problem(
                    "OBX",
                    obx_n,
                    2,
                    101,
                    "missing_value_type",
                    "OBX-2 value type missing for a value / falta el tipo de valor OBX-2",
                )
            )
        elif value_type != "NM":
            problem = problem or "unknown_value_type"
            problems.append(
                Problem(
                    "OBX",
                    obx_n,
                    2,
                    103,
                    "unknown_value_type",
                    f"OBX-2 value type {value_type!r} is not in HL7 table 0125 / "
                    f"el tipo de valor {value_type!r} no está en la tabla 0125",
                )
            )
        try:
            number = float(get(seg, 5, 1, 1))
            if math.isnan(number) or math.isinf(number):
                raise ValueError(value)
        except ValueError:
            number = math.nan
            if value_type in ("NM", ""):
                problem = problem or "not_a_number"
                problems.append(
                    Problem(
                        "OBX",
                        obx_n,
                        5,
                        102,
                        "not_a_number",
                        f"OBX-5 {value[:40]!r} is not a number (NM) / "
                        f"OBX-5 {value[:40]!r} no es un número",
                    )
                )
        # MDC unit: pass the reference id (MDC_DIM_*); otherwise the UCUM/text code.
        unit_id, unit_text = get(seg, 6, 1, 1), get(seg, 6, 1, 2)
        unit = unit_text if unit_text.startswith("MDC_") else unit_id
        at = parse_dtm(get(seg, 14)) or obr_at
        flags = tuple(
            f
            for f in (get(seg, 8, n, 1) for n in range(1, repetitions(seg, 8) + 1))
            if f and f != "N"
        )
        readings.append(
            NumericReading(
                code,
                refid,
                number,
                unit,
                at,
                flags,
                containment=get(seg, 4),
                equipment=get(seg, 18, 1, 1) or eui,
                received_at=received,
                patient_ids=patient_ids,
                patient_name=patient_name,
                message_id=control_id,
                source=f"OBX {obx_n}",
                problem=problem,
                raw_value=value[:64] if problem else "",
            )
        )
        locations.append(obx_n)
    return Oru(
        control_id,
        sender,
        eui,
        readings,
        skipped,
        problems,
        locations,
        msg,
        patient_ids,
        patient_name,
    )


def frame(message: str) -> bytes:
    return SB + message.encode("utf-8") + EB + CR


# What the agent adds to the driver's own checks: given a message's readings, the readings to
# pass on (possibly flagged) and problems as (reading index, field, table 0357 code, reason,
# text, severity). The code table (MDC codes, units, limits) lives outside drivers.
Review = Callable[
    [list[NumericReading]],
    tuple[list[NumericReading], list[tuple[int, int, int, str, str, str]]],
]


class _Receiver:
    """What a listener does with one message: parse, queue the readings, answer."""

    def __init__(self) -> None:
        self.readings: queue.Queue[NumericReading] = queue.Queue()
        self.last_sender_eui64 = ""
        self.last_sender = ""
        self.accepted = 0
        self.errors = 0
        self.review: Review | None = None
        self.application = "PUENTE"  # MSH-3 of our ACKs
        self.facility = ""  # MSH-4 of our ACKs (the station)

    def handle(self, block: bytes) -> str:
        try:
            oru = parse_oru(block)
        except MessageRefused as exc:
            self.errors += 1
            log.warning("HL7 message refused: %s", exc.problem.reason)
            return self._ack(exc.message, "AR", [exc.problem], _control_id(block))
        problems = list(oru.problems)
        readings = oru.readings
        if self.review is not None and readings:
            try:
                readings, found = self.review(readings)
            except Exception:  # the agent's check must not stop the listener
                log.exception("reviewing HL7 readings failed")
                found = []
                problems.append(
                    Problem(
                        "MSH",
                        1,
                        0,
                        207,
                        "review_failed",
                        "readings could not be checked / no se pudieron revisar las lecturas",
                    )
                )
            for index, field_num, code, reason, text, severity in found:
                seq = oru.locations[index] if 0 <= index < len(oru.locations) else 0
                problems.append(Problem("OBX", seq, field_num, code, reason, text, severity))
        problems.sort(key=lambda p: (p.sequence, p.field))
        if problems:
            self.errors += 1
            log.warning("HL7 message %s: %d problem(s)", oru.control_id, len(problems))
        else:
            self.accepted += 1
        self.last_sender, self.last_sender_eui64 = oru.sender, oru.sender_eui64
        for reading in readings:
            self.readings.put(reading)
        return self._ack(oru.message, "AE" if problems else "AA", problems, oru.control_id)

    def _ack(
        self, message: hl7.Message | None, code: str, problems: list[Problem], control_id: str
    ) -> str:
        try:
            return build_ack(
                message,
                code,
                problems,
                control_id=control_id,
                application=self.application,
                facility=self.facility,
            )
        except Exception:  # a header python-hl7 cannot answer (e.g. MSH-9 without a trigger)
            return build_ack(
                None,
                code,
                problems,
                control_id=control_id,
                application=self.application,
                facility=self.facility,
            )

    def pending(self) -> list[NumericReading]:
        """What arrived and nobody read yet, without waiting."""
        out = []
        while True:
            try:
                out.append(self.readings.get_nowait())
            except queue.Empty:
                return out


def _control_id(block: bytes) -> str:
    try:
        first = block.decode("utf-8", "replace").replace("\n", "\r").split("\r", 1)[0]
        return first.split("|")[9][:64]
    except IndexError:
        return ""


class MllpMonitor:
    """Monitors and gateways push ORU^R01 to this MLLP listener (default port 2575)."""

    family = "vitals"
    MANIFEST = DriverManifest(
        name="hl7.pcd01.mllp",
        family="vitals",
        protocol="IHE PCD-01 ORU^R01 over MLLP (TCP listener)",
        attach="network",
        title="HL7 PCD-01 monitor or gateway (MLLP)",
        reports=("vital_signs", "any IEEE 11073 MDC numeric"),
        settings=(
            Setting(
                "host",
                "str",
                "127.0.0.1",
                en="address to listen on",
                es="dirección donde escuchar",
            ),
            Setting(
                "port",
                "int",
                2575,
                minimum=1,
                maximum=65535,
                en="TCP port to listen on",
                es="puerto TCP donde escuchar",
            ),
            Setting("serial_number", "str", "", en="device serial number", es="número de serie"),
            Setting("model", "str", "", en="device model", es="modelo del equipo"),
        ),
        serial_setting="serial_number",
    )

    def __init__(
        self, host: str = "127.0.0.1", port: int = 2575, serial_number: str = "", model: str = ""
    ) -> None:
        self.host = host
        self.port = port
        self.serial_number = serial_number
        self.model = model or "HL7 PCD-01 device (MLLP)"
        self.receiver = _Receiver()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._error: Exception | None = None

    def open(self) -> None:
        if self._thread is not None and self._thread.is_alive():
            return
        self._ready.clear()
        self._error = None
        self._thread = threading.Thread(target=self._run, name="mllp-listener", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            self._thread = None
            raise DeviceUnavailable(
                f"cannot listen for HL7 on {self.host}:{self.port} ({self._error}) / "
                f"no se puede escuchar HL7 en {self.host}:{self.port}",
                code="listen_failed",
            )

    def _run(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            server: asyncio.Server = loop.run_until_complete(
                hl7.mllp.start_hl7_server(
                    self._client, self.host, self.port, limit=MAX_MESSAGE, loop=None
                )
            )
            self._server = server
            self.port = server.sockets[0].getsockname()[1]
        except Exception as exc:
            self._error = exc
            self._ready.set()
            loop.close()
            return
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            self._server.close()
            with contextlib.suppress(Exception):
                loop.run_until_complete(self._server.wait_closed())
            loop.close()

    async def _client(
        self, reader: hl7.mllp.HL7StreamReader, writer: hl7.mllp.HL7StreamWriter
    ) -> None:
        peer = writer.get_extra_info("peername")
        try:
            while not reader.at_eof():
                try:
                    block = await reader.readblock()
                except asyncio.IncompleteReadError as exc:
                    if exc.partial:
                        self.receiver.errors += 1
                        log.warning(
                            "truncated MLLP frame from %s (%d bytes)", peer, len(exc.partial)
                        )
                    return
                except (hl7.mllp.InvalidBlockError, ValueError) as exc:
                    self.receiver.errors += 1
                    log.warning("bad MLLP block from %s: %s", peer, exc)
                    return
                writer.writeblock(self.receiver.handle(block).encode("utf-8"))
                await writer.drain()
        finally:
            writer.close()

    def close(self) -> None:
        loop = self._loop
        if loop is not None and self._thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            self._thread.join(5)
        self._thread = None
        self._loop = None

    def identify(self) -> Identity:
        return Identity(
            model=self.model,
            vendor=self.receiver.last_sender,
            serial=self.serial_number,
            eui64=self.receiver.last_sender_eui64,
        )

    def health(self) -> DeviceHealth:
        if self._thread is None or not self._thread.is_alive():
            try:
                self.open()
            except DeviceUnavailable as exc:
                return DeviceHealth(Health.ERROR, exc.code, exc.reason)
        return DeviceHealth(Health.CONNECTED)

    def set_review(
        self, review: Review | None, application: str = "PUENTE", facility: str = ""
    ) -> None:
        """The agent's own checks of each message's readings; its names in ACKs (MSH-3/4)."""
        self.receiver.review = review
        self.receiver.application = application
        self.receiver.facility = facility

    def pending(self) -> list[NumericReading]:
        """Readings that arrived and were not read yet (without waiting)."""
        return self.receiver.pending()

    def numerics(self, timeout_s: float) -> Iterator[NumericReading]:
        self.open()
        deadline = time.monotonic() + timeout_s
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return
            try:
                yield self.receiver.readings.get(timeout=min(remaining, 0.5))
            except queue.Empty:
                continue


class MllpDecoder:
    """MLLP frames out of a byte stream (serial): <VT> message <FS><CR>."""

    def __init__(self, monitor: SerialHl7Monitor) -> None:
        self._buf = bytearray()
        self._monitor = monitor

    def feed(self, data: bytes) -> list[NumericReading]:
        self._buf.extend(data)
        out: list[NumericReading] = []
        while True:
            start = self._buf.find(SB)
            if start < 0:
                self._buf.clear()
                return out
            end = self._buf.find(EB + CR, start)
            if end < 0:
                if start:
                    del self._buf[:start]
                if len(self._buf) > MAX_MESSAGE:
                    self._buf.clear()
                return out
            nxt = self._buf.find(SB, start + 1, end)
            if nxt >= 0:  # a frame cut short by the start of the next one
                self._monitor.receiver.errors += 1
                del self._buf[:nxt]
                continue
            block = bytes(self._buf[start + 1 : end])
            del self._buf[: end + 2]
            before = self._monitor.receiver.readings.qsize()
            self._monitor.write(frame(self._monitor.receiver.handle(block)))
            q = self._monitor.receiver.readings
            for _ in range(q.qsize() - before):
                out.append(q.get_nowait())


class SerialHl7Monitor(SerialMonitor):
    """PCD-01 ORU^R01 in MLLP framing over a serial line; the ACK goes back on the line."""

    model = "HL7 PCD-01 device (serial)"
    default_baudrate = 9600
    MANIFEST = DriverManifest(
        name="hl7.pcd01.serial",
        family="vitals",
        protocol="IHE PCD-01 ORU^R01 in MLLP framing over a serial line",
        attach="serial",
        title="HL7 PCD-01 monitor (serial)",
        reports=("vital_signs", "any IEEE 11073 MDC numeric"),
        settings=serial_settings(9600),
        serial_setting="serial_number",
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self.receiver = _Receiver()
        super().__init__(*args, **kwargs)

    def make_decoder(self) -> MllpDecoder:
        return MllpDecoder(self)

    def set_review(
        self, review: Review | None, application: str = "PUENTE", facility: str = ""
    ) -> None:
        """The agent's own checks of each message's readings; its names in ACKs (MSH-3/4)."""
        self.receiver.review = review
        self.receiver.application = application
        self.receiver.facility = facility

    def identify(self) -> Identity:
        return Identity(
            model=self.model,
            vendor=self.receiver.last_sender,
            serial=self.serial_number,
            eui64=self.receiver.last_sender_eui64,
        )
