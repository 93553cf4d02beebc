from protos import events_pb2 as _events_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListScannersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ScannerCapabilities(_message.Message):
    __slots__ = ("sources", "modes", "resolutions", "max_width_mm", "max_height_mm")
    SOURCES_FIELD_NUMBER: _ClassVar[int]
    MODES_FIELD_NUMBER: _ClassVar[int]
    RESOLUTIONS_FIELD_NUMBER: _ClassVar[int]
    MAX_WIDTH_MM_FIELD_NUMBER: _ClassVar[int]
    MAX_HEIGHT_MM_FIELD_NUMBER: _ClassVar[int]
    sources: _containers.RepeatedScalarFieldContainer[str]
    modes: _containers.RepeatedScalarFieldContainer[str]
    resolutions: _containers.RepeatedScalarFieldContainer[int]
    max_width_mm: float
    max_height_mm: float
    def __init__(self, sources: _Optional[_Iterable[str]] = ..., modes: _Optional[_Iterable[str]] = ..., resolutions: _Optional[_Iterable[int]] = ..., max_width_mm: _Optional[float] = ..., max_height_mm: _Optional[float] = ...) -> None: ...

class ScannerInfo(_message.Message):
    __slots__ = ("device_id", "driver", "state", "identity", "error_code", "capabilities")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    CAPABILITIES_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    driver: str
    state: _events_pb2.DeviceState
    identity: _events_pb2.DeviceIdentity
    error_code: str
    capabilities: ScannerCapabilities
    def __init__(self, device_id: _Optional[str] = ..., driver: _Optional[str] = ..., state: _Optional[_Union[_events_pb2.DeviceState, str]] = ..., identity: _Optional[_Union[_events_pb2.DeviceIdentity, _Mapping]] = ..., error_code: _Optional[str] = ..., capabilities: _Optional[_Union[ScannerCapabilities, _Mapping]] = ...) -> None: ...

class ListScannersResponse(_message.Message):
    __slots__ = ("scanners",)
    SCANNERS_FIELD_NUMBER: _ClassVar[int]
    scanners: _containers.RepeatedCompositeFieldContainer[ScannerInfo]
    def __init__(self, scanners: _Optional[_Iterable[_Union[ScannerInfo, _Mapping]]] = ...) -> None: ...

class ScanRequest(_message.Message):
    __slots__ = ("device_id", "case_id", "patient_id", "document_type", "title", "source", "mode", "resolution_dpi", "drop_blank_pages", "max_pages", "expected_pages", "operator_id")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_DPI_FIELD_NUMBER: _ClassVar[int]
    DROP_BLANK_PAGES_FIELD_NUMBER: _ClassVar[int]
    MAX_PAGES_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_PAGES_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    case_id: str
    patient_id: str
    document_type: str
    title: str
    source: str
    mode: str
    resolution_dpi: int
    drop_blank_pages: bool
    max_pages: int
    expected_pages: int
    operator_id: str
    def __init__(self, device_id: _Optional[str] = ..., case_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., document_type: _Optional[str] = ..., title: _Optional[str] = ..., source: _Optional[str] = ..., mode: _Optional[str] = ..., resolution_dpi: _Optional[int] = ..., drop_blank_pages: _Optional[bool] = ..., max_pages: _Optional[int] = ..., expected_pages: _Optional[int] = ..., operator_id: _Optional[str] = ...) -> None: ...

class ScanResult(_message.Message):
    __slots__ = ("event_id", "station_seq", "document_id", "body", "pages", "blank_pages_dropped", "expected_pages", "page_count_note")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATION_SEQ_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    PAGES_FIELD_NUMBER: _ClassVar[int]
    BLANK_PAGES_DROPPED_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_PAGES_FIELD_NUMBER: _ClassVar[int]
    PAGE_COUNT_NOTE_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    station_seq: int
    document_id: str
    body: _events_pb2.BodyRef
    pages: int
    blank_pages_dropped: int
    expected_pages: int
    page_count_note: str
    def __init__(self, event_id: _Optional[str] = ..., station_seq: _Optional[int] = ..., document_id: _Optional[str] = ..., body: _Optional[_Union[_events_pb2.BodyRef, _Mapping]] = ..., pages: _Optional[int] = ..., blank_pages_dropped: _Optional[int] = ..., expected_pages: _Optional[int] = ..., page_count_note: _Optional[str] = ...) -> None: ...

class ScanProgress(_message.Message):
    __slots__ = ("job_id", "state", "pages_scanned", "pages_expected", "blank_pages_dropped", "result", "error_code", "error_reason")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PAGES_SCANNED_FIELD_NUMBER: _ClassVar[int]
    PAGES_EXPECTED_FIELD_NUMBER: _ClassVar[int]
    BLANK_PAGES_DROPPED_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_REASON_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    state: str
    pages_scanned: int
    pages_expected: int
    blank_pages_dropped: int
    result: ScanResult
    error_code: str
    error_reason: str
    def __init__(self, job_id: _Optional[str] = ..., state: _Optional[str] = ..., pages_scanned: _Optional[int] = ..., pages_expected: _Optional[int] = ..., blank_pages_dropped: _Optional[int] = ..., result: _Optional[_Union[ScanResult, _Mapping]] = ..., error_code: _Optional[str] = ..., error_reason: _Optional[str] = ...) -> None: ...

class CancelScanRequest(_message.Message):
    __slots__ = ("job_id",)
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    def __init__(self, job_id: _Optional[str] = ...) -> None: ...
