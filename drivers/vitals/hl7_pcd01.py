"""HL7 v2 ORU^R01 per IHE PCD-01 (DEC) from monitors and gateways, over MLLP/TCP or serial.

The agent listens (MLLP, python-hl7's ``hl7.mllp``) and answers each message
with an accept ACK (AA), or AE with an ERR segment when the message cannot be
read. From each OBX row with a value it takes OBX-3 (MDC code and reference
id), OBX-5 (value), OBX-6 (unit, MDC dimension or UCUM, passed on as sent —
mapping to canonical UCUM happens outside drivers), OBX-4 (containment),
OBX-14, else OBR-7, else MSH-7 (time; no offset = UTC), OBX-18 (equipment
EUI-64); device-level rows without a value (e.g. MDC_DEV_SPEC_PROFILE_*), rows
with result status X and rows whose value type (OBX-2) is not NM (CWE time-sync
protocol, DTM device clock) are skipped. Line endings are normalised first.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import queue
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime

import hl7
import hl7.mllp

from drivers.base import DeviceHealth, DeviceUnavailable, Health, Identity
from drivers.vitals.base import FrameError, NumericReading
from drivers.vitals.serialport import SerialMonitor

log = logging.getLogger(__name__)

SB, EB, CR = b"\x0b", b"\x1c", b"\x0d"
MAX_MESSAGE = 1 << 20


@dataclass(frozen=True)
class Oru:
    control_id: str
    sender: str  # MSH-3 namespace id
    sender_eui64: str  # MSH-3 universal id when it is an EUI-64
    readings: list[NumericReading]
    skipped: int  # OBX rows without a value (device-level, status X)


def normalise_line_endings(text: str) -> str:
    return text.replace("\r\n", "\r").replace("\n", "\r").strip("\r") + "\r"


def parse_dtm(text: str) -> datetime | None:
    if not text:
        return None
    try:
        at = hl7.parse_datetime(text)
    except (ValueError, TypeError):
        return None
    if at is None:
        return None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


def parse_oru(data: str | bytes) -> Oru:
    """Readings of one ORU^R01 (PCD-01); FrameError when it is not one."""
    text = data.decode("utf-8", "replace") if isinstance(data, bytes) else data
    text = normalise_line_endings(text)
    if not text.startswith("MSH"):
        raise FrameError("not an HL7 v2 message (no MSH) / no es un mensaje HL7 v2")
    try:
        msg = hl7.parse(text)
    except Exception as exc:  # python-hl7 raises several kinds on garbage
        raise FrameError(f"unreadable HL7 message ({exc}) / mensaje HL7 ilegible") from exc
    comp, rep = text[4], text[5]  # MSH-2 encoding characters
    msh = msg.segments("MSH")[0]
    kind = str(msh[9]).split(comp)
    if kind[:2] != ["ORU", "R01"]:
        raise FrameError(
            f"message type {'^'.join(kind)} is not ORU^R01 / el mensaje no es ORU^R01",
            code="unsupported_message",
        )
    control_id = str(msh[10])
    sender_parts = str(msh[3]).split(comp)
    sender = sender_parts[0]
    eui = sender_parts[1] if len(sender_parts) > 2 and sender_parts[2] == "EUI-64" else ""
    default_at = parse_dtm(str(msh[7]).split(comp)[0]) or datetime.now(UTC)
    readings: list[NumericReading] = []
    skipped = 0
    obr_at = default_at
    for seg in msg:
        name = str(seg[0])
        if name == "OBR":
            obr_at = parse_dtm(_field(seg, 7).split(comp)[0]) or default_at
            continue
        if name != "OBX":
            continue
        value = _field(seg, 5)
        status = _field(seg, 11)
        value_type = _field(seg, 2)
        # Numerics only: NM (or no type on a value-less device row); CWE/DTM/ST rows
        # (time-sync protocol, MDC_ATTR_TIME_ABS, ...) are device facts, not readings.
        if not value or status == "X" or value_type not in ("NM", ""):
            skipped += 1
            continue
        code_parts = _field(seg, 3).split(comp)
        try:
            code = int(code_parts[0])
            number = float(value.split(comp)[0])
        except ValueError:
            skipped += 1
            continue
        unit_parts = _field(seg, 6).split(comp)
        # MDC unit: pass the reference id (MDC_DIM_*); otherwise the UCUM/text code.
        unit = (
            unit_parts[1]
            if len(unit_parts) > 1 and unit_parts[1].startswith("MDC_")
            else (unit_parts[0])
        )
        at = parse_dtm(_field(seg, 14).split(comp)[0]) or obr_at
        flags = tuple(f for f in _field(seg, 8).split(rep) if f and f != "N")
        equipment = _field(seg, 18).split(comp)[0]
        readings.append(
            NumericReading(
                code,
                code_parts[1] if len(code_parts) > 1 else "",
                number,
                unit,
                at,
                flags,
                containment=_field(seg, 4),
                equipment=equipment or eui,
            )
        )
    return Oru(control_id, sender, eui, readings, skipped)


def _field(seg: hl7.Segment, i: int) -> str:
    return str(seg[i]) if len(seg) > i else ""


def ack(control_id: str, code: str = "AA", error: str = "", receiver: str = "PUENTE") -> str:
    """An ACK^R01 (original mode) for ``control_id``; AE/AR carry ``error`` in MSA-3 and ERR."""
    now = datetime.now(UTC).strftime("%Y%m%d%H%M%S+0000")
    text = error.replace("|", " ").replace("^", " ").replace("\r", " ")[:200]
    segments = [
        f"MSH|^~\\&|{receiver}||||{now}||ACK^R01^ACK|ACK{control_id}|P|2.6",
        f"MSA|{code}|{control_id}" + (f"|{text}" if text else ""),
    ]
    if code != "AA":
        segments.append(f"ERR|||207^Application internal error^HL70357|E||||{text}")
    return "\r".join(segments) + "\r"


def frame(message: str) -> bytes:
    return SB + message.encode("utf-8") + EB + CR


class _Receiver:
    """What a listener does with one message: parse, queue the readings, answer."""

    def __init__(self) -> None:
        self.readings: queue.Queue[NumericReading] = queue.Queue()
        self.last_sender_eui64 = ""
        self.last_sender = ""
        self.accepted = 0
        self.errors = 0

    def handle(self, block: bytes) -> str:
        try:
            oru = parse_oru(block)
        except FrameError as exc:
            self.errors += 1
            log.warning("HL7 message refused: %s", exc.code)
            control_id = _control_id(block)
            return ack(control_id, "AE" if exc.code == "bad_frame" else "AR", exc.reason)
        self.accepted += 1
        self.last_sender, self.last_sender_eui64 = oru.sender, oru.sender_eui64
        for reading in oru.readings:
            self.readings.put(reading)
        return ack(oru.control_id)


def _control_id(block: bytes) -> str:
    try:
        first = block.decode("utf-8", "replace").replace("\n", "\r").split("\r", 1)[0]
        return first.split("|")[9]
    except IndexError:
        return ""


class MllpMonitor:
    """Monitors and gateways push ORU^R01 to this MLLP listener (default port 2575)."""

    family = "vitals"

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
            self._server = loop.run_until_complete(
                hl7.mllp.start_hl7_server(
                    self._client, self.host, self.port, limit=MAX_MESSAGE, loop=None
                )
            )
            self.port = self._server.sockets[0].getsockname()[1]
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

    def __init__(self, *args: object, **kwargs: object) -> None:
        self.receiver = _Receiver()
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    def make_decoder(self) -> MllpDecoder:
        return MllpDecoder(self)

    def identify(self) -> Identity:
        return Identity(
            model=self.model,
            vendor=self.receiver.last_sender,
            serial=self.serial_number,
            eui64=self.receiver.last_sender_eui64,
        )


# -- simulator: an MLLP sender and PCD-01-shaped messages ---------------------------------
# These are the simulator's own messages. The public samples the tests parse (IHE PCD TF-2
# example, a Mindray VS-900 message) are kept byte for byte in tests/vitals/fixtures/.

SAMPLE_SPO2_ORU = (
    "MSH|^~\\&|AcmeInc^ACDE48234567ABCD^EUI-64||||20090713090030+0000||ORU^R01^ORU_R01|"
    "MSGID1234|P|2.6|||NE|AL||||||IHE PCD ORU-R01 2006^HL7^2.16.840.1.113883.9.n.m^HL7\r"
    "PID|||010-11-1111^^^Hospital^PI||Doe^John^Joseph^^^^L^A|||M\r"
    "PV1||I|ICU^2^23\r"
    "OBR|1|AB12345^AcmeAHDInc^ACDE48234567ABCD^EUI-64|CD12345^AcmeAHDInc^ACDE48234567ABCD^EUI-64|"
    "182777000^monitoring of patient^SNOMED-CT|||20090813095715+0000\r"
    "OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X|||||||"
    "0123456789ABCDEF^^0123456789ABCDEF^EUI-64\r"
    "OBX|2|NM|150456^MDC_PULS_OXIM_SAT_O2^MDC|1.1.1.150456|98|262688^MDC_DIM_PERCENT^MDC|"
    "94-100|N|||R|||20090813095715+0000||||0123456789ABCDEF^^0123456789ABCDEF^EUI-64\r"
    "OBX|3|NM|149530^MDC_PULS_OXIM_PULS_RATE^MDC|1.1.1.149530|72|264864^MDC_DIM_BEAT_PER_MIN^MDC|"
    "60-100|N|||R|||20090813095715+0000||||0123456789ABCDEF^^0123456789ABCDEF^EUI-64\r"
)

SAMPLE_BP_ORU = (
    "MSH|^~\\&|ACME Gateway^0123456789ABCDEF^EUI-64||||20070509082700-0500||ORU^R01^ORU_R01|"
    "ACME1234|P|2.6|||NE|AL||||||IHE PCD ORU-R01 2006^HL7^2.16.840.1.113883.9.n.m^HL7\r"
    "PID|||AB60001^^^A^PI||Brooks^Albert^^^^^L||19610101|M\r"
    "PV1||I|3 North^302^1\r"
    "OBR|1|ACME1234^ACME^0123456789ABCDEF^EUI-64||528391^MDC_DEV_SPEC_PROFILE_BPM^MDC|||"
    "20070509082700-0500\r"
    "OBX|1||528391^MDC_DEV_SPEC_PROFILE_BPM^MDC|1|||||||X|||||||"
    "1234567890ABCDEF^^1234567890ABCDEF^EUI-64\r"
    "OBX|2||150020^MDC_PRESS_BLD_NONINV^MDC|1.1.1|||||||X|||20070509082700-0500\r"
    "OBX|3|NM|150021^MDC_PRESS_BLD_NONINV_SYS^MDC|1.1.1.1|120|266016^MDC_DIM_MMHG^MDC|||||R|||"
    "20070509082700-0500||||1234567890ABCDEF^^1234567890ABCDEF^EUI-64\r"
    "OBX|4|NM|150022^MDC_PRESS_BLD_NONINV_DIA^MDC|1.1.1.2|80|266016^MDC_DIM_MMHG^MDC|||||R|||"
    "20070509082700-0500||||1234567890ABCDEF^^1234567890ABCDEF^EUI-64\r"
    "OBX|5|NM|150023^MDC_PRESS_BLD_NONINV_MEAN^MDC|1.1.1.3|93|266016^MDC_DIM_MMHG^MDC|||||R|||"
    "20070509082700-0500||||1234567890ABCDEF^^1234567890ABCDEF^EUI-64\r"
    "OBX|6|NM|149546^MDC_PULS_RATE_NON_INV^MDC|1.1.2.1|66|264864^MDC_DIM_BEAT_PER_MIN^MDC|||||R|||"
    "20070509082700-0500||||1234567890ABCDEF^^1234567890ABCDEF^EUI-64\r"
)


def make_oru(
    rows: list[tuple[int, str, float, str]],
    control_id: str,
    at: datetime | None = None,
    eui64: str = "0123456789ABCDEF",
) -> str:
    """An ORU^R01 carrying ``rows`` of (MDC code, refid, value, MDC unit refid or UCUM)."""
    ts = (at or datetime.now(UTC)).astimezone(UTC).strftime("%Y%m%d%H%M%S.%f")[:-3] + "+0000"
    segs = [
        f"MSH|^~\\&|PuenteSim^{eui64}^EUI-64||||{ts}||ORU^R01^ORU_R01|{control_id}|P|2.6|||NE|AL",
        f"OBR|1|{control_id}^PuenteSim^{eui64}^EUI-64||182777000^monitoring of patient^SNOMED-CT"
        f"|||{ts}",
        f"OBX|1||69965^MDC_DEV_MON_PHYSIO_MULTI_PARAM_MDS^MDC|1.0.0.0|||||||X|||||||{eui64}^^"
        f"{eui64}^EUI-64",
    ]
    for i, (code, refid, value, unit) in enumerate(rows, start=2):
        u = f"^{unit}^MDC" if unit.startswith("MDC_") else f"{unit}^{unit}^UCUM"
        segs.append(
            f"OBX|{i}|NM|{code}^{refid}^MDC|1.1.1.{code}|{value:g}|{u}|||||R|||{ts}||||"
            f"{eui64}^^{eui64}^EUI-64"
        )
    return "\r".join(segs) + "\r"


async def _send(host: str, port: int, messages: list[str], timeout_s: float) -> list[str]:
    reader, writer = await hl7.mllp.open_hl7_connection(host, port)
    answers = []
    try:
        for message in messages:
            writer.writemessage(hl7.parse(message))
            await writer.drain()
            answers.append(str(await asyncio.wait_for(reader.readmessage(), timeout_s)))
    finally:
        writer.close()
    return answers


def send_mllp(host: str, port: int, messages: list[str], timeout_s: float = 10.0) -> list[str]:
    """Send ORU messages over one MLLP connection; return the ACKs (as text)."""
    return asyncio.run(_send(host, port, messages, timeout_s))
