"""eSCL (AirScan) network scanners spoken to directly over HTTP, for stations without SANE.

The protocol: ``GET {base}/ScannerCapabilities`` and ``{base}/ScannerStatus``
(XML); ``POST {base}/ScanJobs`` with a ScanSettings document → 201 and a
``Location`` naming the job; ``GET {job}/NextDocument`` once per page until
404; ``DELETE {job}`` to cancel. When a job ends early (409/404/503 or no
page at all) the scanner's status (``AdfState``, the job's
``JobStateReason``) tells why: empty feeder, jam, open hatch, busy.

Options: ``url`` (the eSCL root, e.g. "http://192.0.2.10/eSCL"), ``timeout_s``
(per request; a page can take a while to scan), ``verify`` (TLS, for https
roots).
"""

from __future__ import annotations

import contextlib
import threading
import xml.etree.ElementTree as ET
from collections.abc import Iterator
from typing import Any
from urllib.parse import urljoin

import httpx

from drivers.base import DeviceHealth, DriverManifest, Health, Identity, Setting
from drivers.scanner.base import (
    CoverOpen,
    DeviceGone,
    DiscoveredScanner,
    FeederEmpty,
    PaperJam,
    ScanCancelled,
    ScanError,
    ScannedPage,
    ScannerBusy,
    ScannerCapabilities,
    ScannerStatus,
    ScanSettings,
    UnsupportedSetting,
    nearest_resolution,
)

NS = {
    "scan": "http://schemas.hp.com/imaging/escl/2011/05/03",
    "pwg": "http://www.pwg.org/schemas/2010/12/sm",
}
_MODES = {"color": "RGB24", "gray": "Grayscale8", "lineart": "BlackAndWhite1"}
_MODES_BACK = {v: k for k, v in _MODES.items()}
MM_PER_300TH = 25.4 / 300

# AdfState / JobStateReason values → the family's errors.
_CONDITIONS: dict[str, type[ScanError]] = {
    "ScannerAdfEmpty": FeederEmpty,
    "ScannerAdfJam": PaperJam,
    "ScannerAdfMispick": PaperJam,
    "ScannerAdfHatchOpen": CoverOpen,
    "ScannerAdfInputTrayFailed": PaperJam,
    "JobAbortedByJam": PaperJam,
}


def _text(root: ET.Element, path: str, default: str = "") -> str:
    el = root.find(path, NS)
    return el.text.strip() if el is not None and el.text else default


def parse_capabilities(xml: bytes) -> tuple[ScannerCapabilities, dict[str, str]]:
    """Capabilities and identity (make_model, serial, uuid, version) from ScannerCapabilities."""
    root = ET.fromstring(xml)
    sources: list[str] = []
    modes: list[str] = []
    resolutions: set[int] = set()
    formats: list[str] = []
    max_w = max_h = 0
    for path, source in (
        ("scan:Platen/scan:PlatenInputCaps", "flatbed"),
        ("scan:Adf/scan:AdfSimplexInputCaps", "feeder"),
        ("scan:Adf/scan:AdfDuplexInputCaps", "duplex"),
    ):
        caps = root.find(path, NS)
        if caps is None:
            continue
        sources.append(source)
        max_w = max(max_w, int(_text(caps, "scan:MaxWidth", "0")))
        max_h = max(max_h, int(_text(caps, "scan:MaxHeight", "0")))
        for el in caps.iterfind(".//scan:ColorMode", NS):
            mode = _MODES_BACK.get((el.text or "").strip())
            if mode and mode not in modes:
                modes.append(mode)
        for el in caps.iterfind(".//scan:DiscreteResolution/scan:XResolution", NS):
            resolutions.add(int((el.text or "0").strip()))
        for el in caps.iterfind(".//pwg:DocumentFormat", NS):
            if el.text and el.text.strip() not in formats:
                formats.append(el.text.strip())
    if "duplex" in sources and "feeder" not in sources:
        sources.insert(sources.index("duplex"), "feeder")
    identity = {
        "make_model": _text(root, "pwg:MakeAndModel"),
        "serial": _text(root, "pwg:SerialNumber"),
        "uuid": _text(root, "scan:UUID"),
        "version": _text(root, "pwg:Version"),
        "manufacturer": _text(root, "scan:Manufacturer"),
    }
    return (
        ScannerCapabilities(
            tuple(sources),
            tuple(modes),
            tuple(sorted(resolutions)),
            round(max_w * MM_PER_300TH, 1),
            round(max_h * MM_PER_300TH, 1),
            tuple(formats),
        ),
        identity,
    )


def parse_status(xml: bytes, job_id: str = "") -> ScannerStatus:
    root = ET.fromstring(xml)
    state = _text(root, "pwg:State", "Idle").lower()
    adf = _text(root, "scan:AdfState")
    condition = ""
    if adf in _CONDITIONS and adf != "ScannerAdfEmpty":
        condition = _CONDITIONS[adf].code
    jobs = []
    for info in root.iterfind("scan:Jobs/scan:JobInfo", NS):
        uuid_ = _text(info, "pwg:JobUuid")
        jobs.append(uuid_)
        if job_id and uuid_ == job_id:
            reason = _text(info, "pwg:JobStateReasons/pwg:JobStateReason")
            if reason in _CONDITIONS:
                condition = _CONDITIONS[reason].code
    if not condition and adf == "ScannerAdfEmpty":
        condition = FeederEmpty.code
    return ScannerStatus(
        {"idle": "idle", "processing": "processing"}.get(state, "stopped"),
        condition,
        adf,
        tuple(jobs),
    )


def scan_settings_xml(settings: ScanSettings, caps: ScannerCapabilities) -> bytes:
    """The ScanSettings document for a job (full width/height of the device unless given)."""
    dpi = nearest_resolution(settings.resolution_dpi, caps.resolutions)
    width_mm = settings.width_mm or caps.max_width_mm or 215.9
    height_mm = settings.height_mm or caps.max_height_mm or 297.0
    source = "Platen" if settings.source == "flatbed" else "Feeder"
    duplex = "\n  <scan:Duplex>true</scan:Duplex>" if settings.source == "duplex" else ""
    fmt = "image/jpeg" if "image/jpeg" in caps.formats or not caps.formats else caps.formats[0]
    return f"""<?xml version="1.0" encoding="UTF-8"?>
<scan:ScanSettings xmlns:scan="{NS["scan"]}" xmlns:pwg="{NS["pwg"]}">
  <pwg:Version>2.63</pwg:Version>
  <scan:Intent>Document</scan:Intent>
  <pwg:ScanRegions>
    <pwg:ScanRegion>
      <pwg:ContentRegionUnits>escl:ThreeHundredthsOfInches</pwg:ContentRegionUnits>
      <pwg:XOffset>0</pwg:XOffset>
      <pwg:YOffset>0</pwg:YOffset>
      <pwg:Width>{round(width_mm / MM_PER_300TH)}</pwg:Width>
      <pwg:Height>{round(height_mm / MM_PER_300TH)}</pwg:Height>
    </pwg:ScanRegion>
  </pwg:ScanRegions>
  <pwg:InputSource>{source}</pwg:InputSource>{duplex}
  <scan:ColorMode>{_MODES[settings.mode]}</scan:ColorMode>
  <scan:XResolution>{dpi}</scan:XResolution>
  <scan:YResolution>{dpi}</scan:YResolution>
  <pwg:DocumentFormat>{fmt}</pwg:DocumentFormat>
  <scan:DocumentFormatExt>{fmt}</scan:DocumentFormatExt>
</scan:ScanSettings>
""".encode()


def discover(url: str, timeout_s: float = 5.0) -> list[DiscoveredScanner]:
    """The one eSCL scanner at ``url`` (discovery by mDNS is sane-airscan's job)."""
    scanner = EsclScanner(url, timeout_s)
    try:
        scanner.open()
    finally:
        scanner.close()
    ident = scanner.identify()
    return [
        DiscoveredScanner(url, ident.vendor, ident.model, "eSCL scanner", scanner.capabilities())
    ]


class EsclScanner:
    family = "scanner"
    MANIFEST = DriverManifest(
        name="escl",
        family="scanner",
        protocol="eSCL / AirScan (HTTP)",
        attach="network",
        title="Network scanner or MFP (eSCL / AirScan)",
        reports=("scanned_document",),
        settings=(
            Setting(
                "url",
                "str",
                required=True,
                pattern=r"^https?://[^\s]+$",
                en="eSCL base URL, e.g. http://192.168.1.20/eSCL",
                es="URL base eSCL, p. ej. http://192.168.1.20/eSCL",
            ),
            Setting(
                "timeout_s",
                "float",
                60.0,
                minimum=1,
                maximum=600,
                en="HTTP timeout (s)",
                es="tiempo de espera HTTP (s)",
            ),
            Setting(
                "verify",
                "bool",
                True,
                en="verify the scanner's TLS certificate",
                es="verificar el certificado TLS del escáner",
            ),
        ),
    )

    def __init__(self, url: str, timeout_s: float = 60.0, verify: bool = True) -> None:
        self.url = url.rstrip("/")
        self.timeout_s = timeout_s
        self._client = httpx.Client(timeout=timeout_s, verify=verify)
        self._caps: ScannerCapabilities | None = None
        self._identity: dict[str, str] = {}
        self._job_url = ""
        self._cancel = threading.Event()
        self._scanning = False
        self._condition = ""
        self._detail = ""

    # -- Device ------------------------------------------------------------------------------

    def open(self) -> None:
        response = self._get("/ScannerCapabilities")
        self._caps, self._identity = parse_capabilities(response.content)

    def close(self) -> None:
        self.cancel()
        self._client.close()

    def identify(self) -> Identity:
        return Identity(
            model=self._identity.get("make_model", "") or self.url,
            vendor=self._identity.get("manufacturer", ""),
            serial=self._identity.get("serial", ""),
            firmware=f"eSCL {self._identity.get('version', '')}".strip(),
        )

    def health(self) -> DeviceHealth:
        if self._scanning:
            return DeviceHealth(Health.BUSY)
        try:
            if self._caps is None:
                self.open()
            status = self.status()
        except DeviceGone as exc:
            return DeviceHealth(Health.DISCONNECTED, exc.code, exc.reason)
        if status.condition and status.condition != FeederEmpty.code:
            return DeviceHealth(Health.ERROR, status.condition, status.detail)
        if self._condition and self._condition != DeviceGone.code:
            return DeviceHealth(Health.ERROR, self._condition, self._detail)
        if status.state == "processing":
            return DeviceHealth(Health.BUSY)
        return DeviceHealth(Health.CONNECTED)

    # -- Scanner -----------------------------------------------------------------------------

    def capabilities(self) -> ScannerCapabilities:
        if self._caps is None:
            self.open()
        assert self._caps is not None
        return self._caps

    def status(self, job_id: str = "") -> ScannerStatus:
        return parse_status(self._get("/ScannerStatus").content, job_id)

    def cancel(self) -> None:
        self._cancel.set()
        job = self._job_url
        if job:
            with contextlib.suppress(httpx.HTTPError):
                httpx.delete(job, timeout=5)

    def scan(self, settings: ScanSettings) -> Iterator[ScannedPage]:
        caps = self.capabilities()
        if settings.source not in caps.sources:
            raise UnsupportedSetting(
                f"this scanner has no {settings.source} (it has {', '.join(caps.sources)}) / "
                f"el escáner no tiene {settings.source}"
            )
        if settings.mode not in caps.modes:
            raise UnsupportedSetting(
                f"this scanner cannot scan in {settings.mode} / "
                f"el escáner no escanea en modo {settings.mode}"
            )
        dpi = nearest_resolution(settings.resolution_dpi, caps.resolutions)
        self._cancel.clear()
        self._scanning = True
        pages = 0
        try:
            job_url = self._create_job(settings, caps)
            self._job_url = job_url
            try:
                while not self._cancel.is_set():
                    if settings.max_pages and pages >= settings.max_pages:
                        break
                    response = self._request("GET", f"{job_url}/NextDocument", pages)
                    if response.status_code == 200:
                        pages += 1
                        yield ScannedPage(
                            number=pages,
                            resolution_dpi=dpi,
                            mode=settings.mode,
                            data=response.content,
                            media_type=response.headers.get("content-type", "image/jpeg")
                            .split(";")[0]
                            .strip(),
                        )
                        continue
                    if self._cancel.is_set():
                        break
                    # 404: the job has no more pages. Anything else: it stopped; ask why.
                    err = self._why(job_url, pages)
                    if err is None and response.status_code == 404 and pages:
                        break
                    if err is None and response.status_code == 503:
                        err = ScannerBusy(pages_done=pages)
                    if err is None:
                        err = (
                            FeederEmpty(pages_done=pages)
                            if settings.multi_page and not pages
                            else ScanError(
                                f"the scanner ended the job with HTTP {response.status_code} / "
                                f"el escáner terminó el trabajo con HTTP {response.status_code}",
                                pages_done=pages,
                            )
                        )
                    raise err
                if self._cancel.is_set():
                    raise ScanCancelled(pages_done=pages)
            finally:
                self._job_url = ""
                if self._cancel.is_set() or pages == 0 or settings.max_pages:
                    with contextlib.suppress(httpx.HTTPError):
                        self._client.delete(job_url)
            self._condition, self._detail = "", ""
        except ScanError as exc:
            if not isinstance(exc, ScanCancelled):
                self._condition, self._detail = exc.code, exc.reason
            raise
        finally:
            self._scanning = False

    # -- internals ---------------------------------------------------------------------------

    def _request(self, method: str, url: str, pages_done: int = 0, **kw: Any) -> httpx.Response:
        try:
            return self._client.request(method, url, **kw)
        except httpx.HTTPError as exc:
            raise DeviceGone(
                f"scanner at {self.url} stopped answering ({type(exc).__name__}) / "
                f"el escáner en {self.url} dejó de responder",
                pages_done=pages_done,
            ) from exc

    def _get(self, path: str) -> httpx.Response:
        response = self._request("GET", self.url + path)
        if response.status_code != 200:
            raise DeviceGone(
                f"{self.url}{path} answered HTTP {response.status_code}; is it an eSCL scanner? / "
                f"respuesta HTTP {response.status_code}"
            )
        return response

    def _create_job(self, settings: ScanSettings, caps: ScannerCapabilities) -> str:
        response = self._request(
            "POST",
            self.url + "/ScanJobs",
            content=scan_settings_xml(settings, caps),
            headers={"Content-Type": "text/xml"},
        )
        if response.status_code == 201 and "location" in response.headers:
            return urljoin(self.url + "/", response.headers["location"]).rstrip("/")
        if response.status_code == 503:
            raise ScannerBusy()
        err = self._why("", 0)
        if err is not None:
            raise err
        if response.status_code == 409 and settings.multi_page:
            raise FeederEmpty()
        raise UnsupportedSetting(
            f"the scanner refused the job (HTTP {response.status_code}: "
            f"{response.text[:200]}) / el escáner rechazó el trabajo"
        )

    def _why(self, job_url: str, pages_done: int) -> ScanError | None:
        """Ask the status why a job stopped; None if it names no condition."""
        job_id = job_url.rsplit("/", 1)[-1] if job_url else ""
        status = self.status(job_id)
        if status.condition == FeederEmpty.code and pages_done:
            return None  # the feeder running out after some pages is the normal end
        cls = {c.code: c for c in (FeederEmpty, PaperJam, CoverOpen)}.get(status.condition)
        if cls is not None:
            return cls(pages_done=pages_done)
        if status.state == "processing" and job_id and job_id not in status.jobs:
            return ScannerBusy(pages_done=pages_done)
        return None
