from protos import events_pb2 as _events_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class EnrollRequest(_message.Message):
    __slots__ = ("device_id", "case_id", "patient_id", "finger", "operator_id", "impressions", "timeout_s")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    FINGER_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    IMPRESSIONS_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    case_id: str
    patient_id: str
    finger: _events_pb2.Finger
    operator_id: str
    impressions: int
    timeout_s: float
    def __init__(self, device_id: _Optional[str] = ..., case_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., finger: _Optional[_Union[_events_pb2.Finger, str]] = ..., operator_id: _Optional[str] = ..., impressions: _Optional[int] = ..., timeout_s: _Optional[float] = ...) -> None: ...

class EnrollResponse(_message.Message):
    __slots__ = ("event_id", "station_seq", "template_sha256", "impression_quality")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATION_SEQ_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_SHA256_FIELD_NUMBER: _ClassVar[int]
    IMPRESSION_QUALITY_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    station_seq: int
    template_sha256: bytes
    impression_quality: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, event_id: _Optional[str] = ..., station_seq: _Optional[int] = ..., template_sha256: _Optional[bytes] = ..., impression_quality: _Optional[_Iterable[int]] = ...) -> None: ...

class VerifyRequest(_message.Message):
    __slots__ = ("device_id", "case_id", "patient_id", "step", "operator_id", "timeout_s")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    STEP_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    case_id: str
    patient_id: str
    step: str
    operator_id: str
    timeout_s: float
    def __init__(self, device_id: _Optional[str] = ..., case_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., step: _Optional[str] = ..., operator_id: _Optional[str] = ..., timeout_s: _Optional[float] = ...) -> None: ...

class VerifyResponse(_message.Message):
    __slots__ = ("event_id", "station_seq", "decision", "score", "threshold", "quality", "finger", "templates_source", "reason")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATION_SEQ_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    FINGER_FIELD_NUMBER: _ClassVar[int]
    TEMPLATES_SOURCE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    station_seq: int
    decision: _events_pb2.ConfirmationDecision
    score: float
    threshold: float
    quality: int
    finger: _events_pb2.Finger
    templates_source: str
    reason: str
    def __init__(self, event_id: _Optional[str] = ..., station_seq: _Optional[int] = ..., decision: _Optional[_Union[_events_pb2.ConfirmationDecision, str]] = ..., score: _Optional[float] = ..., threshold: _Optional[float] = ..., quality: _Optional[int] = ..., finger: _Optional[_Union[_events_pb2.Finger, str]] = ..., templates_source: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ListReadersRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class Reader(_message.Message):
    __slots__ = ("usb_id", "vendor", "model", "driver", "supported")
    USB_ID_FIELD_NUMBER: _ClassVar[int]
    VENDOR_FIELD_NUMBER: _ClassVar[int]
    MODEL_FIELD_NUMBER: _ClassVar[int]
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    SUPPORTED_FIELD_NUMBER: _ClassVar[int]
    usb_id: str
    vendor: str
    model: str
    driver: str
    supported: bool
    def __init__(self, usb_id: _Optional[str] = ..., vendor: _Optional[str] = ..., model: _Optional[str] = ..., driver: _Optional[str] = ..., supported: _Optional[bool] = ...) -> None: ...

class ListReadersResponse(_message.Message):
    __slots__ = ("readers",)
    READERS_FIELD_NUMBER: _ClassVar[int]
    readers: _containers.RepeatedCompositeFieldContainer[Reader]
    def __init__(self, readers: _Optional[_Iterable[_Union[Reader, _Mapping]]] = ...) -> None: ...
