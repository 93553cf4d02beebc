"""A simulated eSCL (AirScan) scanner on loopback: real eSCL XML, real JPEG pages, real faults.

It answers what a networked multifunction device answers:
``GET /eSCL/ScannerCapabilities``, ``GET /eSCL/ScannerStatus``,
``POST /eSCL/ScanJobs`` (ScanSettings XML → 201 + Location),
``GET /eSCL/ScanJobs/{id}/NextDocument`` (one JPEG per page, 404 when the job
has no more) and ``DELETE /eSCL/ScanJobs/{id}``. Faults a person meets are
states of the simulator: an empty feeder, a jam after N pages, an open cover,
busy with another job. ``POST /sim/state`` (JSON) changes them from outside,
for the demo; tests set the attributes.

Run: ``python -m drivers.scanner.escl_sim --port 8090 --pages 5``.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import socket
import threading
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from PIL import Image, ImageDraw

NS = {
    "scan": "http://schemas.hp.com/imaging/escl/2011/05/03",
    "pwg": "http://www.pwg.org/schemas/2010/12/sm",
}
RESOLUTIONS = (75, 100, 150, 200, 300, 600)
MAX_WIDTH_300 = 2550  # 8.5 in, in 1/300 in
MAX_HEIGHT_300 = 3508  # A4 height, in 1/300 in

_SOURCE_CAPS = """
      <scan:SettingProfiles>
        <scan:SettingProfile>
          <scan:ColorModes>
            <scan:ColorMode>BlackAndWhite1</scan:ColorMode>
            <scan:ColorMode>Grayscale8</scan:ColorMode>
            <scan:ColorMode>RGB24</scan:ColorMode>
          </scan:ColorModes>
          <scan:DocumentFormats>
            <pwg:DocumentFormat>image/jpeg</pwg:DocumentFormat>
            <pwg:DocumentFormat>application/pdf</pwg:DocumentFormat>
            <scan:DocumentFormatExt>image/jpeg</scan:DocumentFormatExt>
            <scan:DocumentFormatExt>application/pdf</scan:DocumentFormatExt>
          </scan:DocumentFormats>
          <scan:SupportedResolutions>
            <scan:DiscreteResolutions>{resolutions}
            </scan:DiscreteResolutions>
          </scan:SupportedResolutions>
        </scan:SettingProfile>
      </scan:SettingProfiles>"""

_INPUT_CAPS = """<scan:MinWidth>16</scan:MinWidth>
      <scan:MaxWidth>{w}</scan:MaxWidth>
      <scan:MinHeight>16</scan:MinHeight>
      <scan:MaxHeight>{h}</scan:MaxHeight>
      <scan:MaxScanRegions>1</scan:MaxScanRegions>{profiles}
      <scan:SupportedIntents>
        <scan:Intent>Document</scan:Intent>
        <scan:Intent>TextAndGraphic</scan:Intent>
        <scan:Intent>Photo</scan:Intent>
      </scan:SupportedIntents>"""


def capabilities_xml(model: str, serial: str, uuid_: str) -> bytes:
    resolutions = "".join(
        f"\n              <scan:DiscreteResolution><scan:XResolution>{r}</scan:XResolution>"
        f"<scan:YResolution>{r}</scan:YResolution></scan:DiscreteResolution>"
        for r in RESOLUTIONS
    )
    caps = _INPUT_CAPS.format(
        w=MAX_WIDTH_300, h=MAX_HEIGHT_300, profiles=_SOURCE_CAPS.format(resolutions=resolutions)
    )
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<scan:ScannerCapabilities xmlns:scan="{NS["scan"]}" xmlns:pwg="{NS["pwg"]}">
  <pwg:Version>2.63</pwg:Version>
  <pwg:MakeAndModel>{model}</pwg:MakeAndModel>
  <pwg:SerialNumber>{serial}</pwg:SerialNumber>
  <scan:UUID>{uuid_}</scan:UUID>
  <scan:Manufacturer>Puente</scan:Manufacturer>
  <scan:Platen>
    <scan:PlatenInputCaps>
      {caps}
    </scan:PlatenInputCaps>
  </scan:Platen>
  <scan:Adf>
    <scan:AdfSimplexInputCaps>
      {caps}
    </scan:AdfSimplexInputCaps>
    <scan:AdfDuplexInputCaps>
      {caps}
    </scan:AdfDuplexInputCaps>
    <scan:FeederCapacity>50</scan:FeederCapacity>
    <scan:AdfOptions>
      <scan:AdfOption>DetectPaperLoaded</scan:AdfOption>
      <scan:AdfOption>Duplex</scan:AdfOption>
    </scan:AdfOptions>
  </scan:Adf>
</scan:ScannerCapabilities>
""".encode()


@dataclass
class Job:
    job_id: str
    source: str  # "Platen" | "Feeder"
    duplex: bool
    color_mode: str
    resolution: int
    width_300: int
    height_300: int
    pages_to_send: int
    sent: int = 0
    state: str = "Processing"  # Processing | Completed | Aborted | Canceled
    reason: str = ""


@dataclass
class SimState:
    """What the simulated device holds and suffers; tests change it between and during jobs."""

    sheets_in_feeder: int = 3
    jam_after_pages: int | None = None  # pages delivered before the feeder jams
    cover_open: bool = False
    busy: bool = False  # another user's job is running
    blank_back_sides: bool = True  # duplex: back sides are blank (as on most printed letters)
    page_delay_s: float = 0.0
    jobs: dict[str, Job] = field(default_factory=dict)


def render_page(job: Job, number: int, blank: bool) -> bytes:
    """A JPEG page at the job's resolution and colour mode, with some text-like lines."""
    w = max(16, job.width_300 * job.resolution // 300)
    h = max(16, job.height_300 * job.resolution // 300)
    mode = {"RGB24": "RGB", "Grayscale8": "L", "BlackAndWhite1": "L"}[job.color_mode]
    image = Image.new(mode, (w, h), "white")
    if not blank:
        draw = ImageDraw.Draw(image)
        margin = w // 10
        line = max(2, job.resolution // 30)
        y = margin
        k = 0
        while y < h - margin:
            length = (w - 2 * margin) * (60 + (k * 37 + number * 11) % 40) // 100
            draw.rectangle((margin, y, margin + length, y + line), fill="black")
            y += line * 3
            k += 1
        draw.text((margin, margin // 2), f"Page {number} / Hoja {number}", fill="black")
    out = io.BytesIO()
    image.save(out, "JPEG", quality=80, dpi=(job.resolution, job.resolution))
    return out.getvalue()


def _text(root: ET.Element, path: str, default: str = "") -> str:
    el = root.find(path, NS)
    return el.text.strip() if el is not None and el.text else default


class EsclSimulator:
    """The server; ``start()`` binds 127.0.0.1 on a free port (or ``port``)."""

    def __init__(
        self, port: int = 0, model: str = "Puente eSCL Simulator", serial: str = "SIM-ESCL-1"
    ) -> None:
        self.model = model
        self.serial = serial
        self.uuid = str(uuid.uuid5(uuid.NAMESPACE_URL, serial))
        self.state = SimState()
        self.lock = threading.Lock()
        self.requests: list[str] = []  # "METHOD path", for tests to check the protocol
        self._connections: set[socket.socket] = set()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/eSCL"

    def start(self) -> EsclSimulator:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """The device goes away: open connections drop, every later request is refused."""
        self._server.shutdown()
        self._server.server_close()
        for conn in list(self._connections):
            with contextlib.suppress(OSError):
                conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> EsclSimulator:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- protocol ----------------------------------------------------------------------------

    def status_xml(self) -> bytes:
        s = self.state
        running = [j for j in s.jobs.values() if j.state == "Processing"]
        state = "Processing" if running or s.busy else "Idle"
        if s.cover_open:
            state, adf = "Stopped", "ScannerAdfHatchOpen"
        elif any(j.reason == "JobAbortedByJam" for j in s.jobs.values()):
            state, adf = "Stopped", "ScannerAdfJam"
        elif s.sheets_in_feeder <= 0:
            adf = "ScannerAdfEmpty"
        else:
            adf = "ScannerAdfLoaded"
        jobs = "".join(
            f"""
    <scan:JobInfo>
      <pwg:JobUri>/eSCL/ScanJobs/{j.job_id}</pwg:JobUri>
      <pwg:JobUuid>{j.job_id}</pwg:JobUuid>
      <scan:Age>1</scan:Age>
      <pwg:ImagesCompleted>{j.sent}</pwg:ImagesCompleted>
      <pwg:ImagesToTransfer>{max(0, j.pages_to_send - j.sent)}</pwg:ImagesToTransfer>
      <pwg:JobState>{j.state}</pwg:JobState>
      <pwg:JobStateReasons>
        <pwg:JobStateReason>{j.reason or "JobScanning"}</pwg:JobStateReason>
      </pwg:JobStateReasons>
    </scan:JobInfo>"""
            for j in s.jobs.values()
        )
        return f"""<?xml version="1.0" encoding="UTF-8"?>
<scan:ScannerStatus xmlns:scan="{NS["scan"]}" xmlns:pwg="{NS["pwg"]}">
  <pwg:Version>2.63</pwg:Version>
  <pwg:State>{state}</pwg:State>
  <scan:AdfState>{adf}</scan:AdfState>
  <scan:Jobs>{jobs}
  </scan:Jobs>
</scan:ScannerStatus>
""".encode()

    def create_job(self, body: bytes) -> tuple[int, dict[str, str], bytes]:
        try:
            root = ET.fromstring(body)
        except ET.ParseError:
            return 400, {}, b"bad ScanSettings"
        s = self.state
        if s.busy or any(j.state == "Processing" for j in s.jobs.values()):
            return 503, {"Retry-After": "5"}, b"busy"
        if s.cover_open:
            return 409, {}, b"cover open"
        source = _text(root, "pwg:InputSource", "Platen")
        duplex = _text(root, "scan:Duplex", "false").lower() == "true"
        color = _text(root, "scan:ColorMode", "Grayscale8")
        if color not in ("RGB24", "Grayscale8", "BlackAndWhite1"):
            return 409, {}, b"unsupported ColorMode"
        resolution = int(_text(root, "scan:XResolution", "300"))
        if resolution not in RESOLUTIONS:
            return 409, {}, b"unsupported resolution"
        width = int(_text(root, "pwg:ScanRegions/pwg:ScanRegion/pwg:Width", str(MAX_WIDTH_300)))
        height = int(_text(root, "pwg:ScanRegions/pwg:ScanRegion/pwg:Height", str(MAX_HEIGHT_300)))
        if source == "Feeder":
            if s.sheets_in_feeder <= 0:
                return 409, {}, b"ADF empty"
            pages = s.sheets_in_feeder * (2 if duplex else 1)
        else:
            pages = 1
        job = Job(uuid.uuid4().hex, source, duplex, color, resolution, width, height, pages)
        s.jobs = {k: v for k, v in s.jobs.items() if v.state == "Processing"}
        s.jobs[job.job_id] = job
        return 201, {"Location": f"{self.url}/ScanJobs/{job.job_id}"}, b""

    def next_document(self, job_id: str) -> tuple[int, dict[str, str], bytes]:
        s = self.state
        job = s.jobs.get(job_id)
        if job is None:
            return 404, {}, b"no such job"
        if job.state != "Processing":
            return 404, {}, b"job ended"
        if job.sent >= job.pages_to_send:
            job.state, job.reason = "Completed", "JobCompletedSuccessfully"
            return 404, {}, b"no more pages"
        if s.jam_after_pages is not None and job.sent >= s.jam_after_pages:
            job.state, job.reason = "Aborted", "JobAbortedByJam"
            return 409, {}, b"jam"
        if s.cover_open:
            job.state, job.reason = "Aborted", "JobAbortedBySystem"
            return 409, {}, b"cover open"
        number = job.sent + 1
        blank = job.duplex and number % 2 == 0 and s.blank_back_sides
        data = render_page(job, number, blank)
        job.sent += 1
        if job.source == "Feeder" and (not job.duplex or number % 2 == 0):
            s.sheets_in_feeder -= 1
        return 200, {"Content-Type": "image/jpeg"}, data

    def delete_job(self, job_id: str) -> tuple[int, dict[str, str], bytes]:
        job = self.state.jobs.get(job_id)
        if job is None:
            return 404, {}, b""
        if job.state == "Processing":
            job.state, job.reason = "Canceled", "JobCanceledByUser"
        return 200, {}, b""

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        sim = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args: object) -> None:
                pass

            def setup(self) -> None:
                super().setup()
                sim._connections.add(self.connection)

            def finish(self) -> None:
                sim._connections.discard(self.connection)
                with contextlib.suppress(OSError):
                    super().finish()

            def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
                self.send_response(status)
                headers.setdefault("Content-Type", "text/xml")
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def _route(self, method: str) -> None:
                path = self.path.split("?")[0].rstrip("/")
                sim.requests.append(f"{method} {path}")
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                parts = path.split("/")
                if method == "GET" and path.endswith("/NextDocument") and sim.state.page_delay_s:
                    threading.Event().wait(sim.state.page_delay_s)
                out: tuple[int, dict[str, str], bytes]
                with sim.lock:
                    if method == "GET" and path == "/eSCL/ScannerCapabilities":
                        out = (200, {}, capabilities_xml(sim.model, sim.serial, sim.uuid))
                    elif method == "GET" and path == "/eSCL/ScannerStatus":
                        out = (200, {}, sim.status_xml())
                    elif method == "POST" and path == "/eSCL/ScanJobs":
                        out = sim.create_job(body)
                    elif method == "GET" and len(parts) == 5 and parts[4] == "NextDocument":
                        out = sim.next_document(parts[3])
                    elif method == "DELETE" and len(parts) == 4 and parts[2] == "ScanJobs":
                        out = sim.delete_job(parts[3])
                    elif method == "POST" and path == "/sim/state":
                        for k, v in json.loads(body or b"{}").items():
                            if k != "jobs" and hasattr(sim.state, k):
                                setattr(sim.state, k, v)
                        out = (200, {"Content-Type": "application/json"}, b"{}")
                    else:
                        out = (404, {}, b"not found")
                self._send(*out)

            def do_GET(self) -> None:
                self._route("GET")

            def do_POST(self) -> None:
                self._route("POST")

            def do_DELETE(self) -> None:
                self._route("DELETE")

        return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Simulated eSCL scanner / escáner eSCL simulado")
    parser.add_argument("--port", type=int, default=8090)
    parser.add_argument("--pages", type=int, default=3, help="sheets in the feeder")
    args = parser.parse_args()
    sim = EsclSimulator(args.port)
    sim.state.sheets_in_feeder = args.pages
    sim.start()
    print(f"eSCL simulator at {sim.url}", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        sim.stop()


if __name__ == "__main__":
    main()
