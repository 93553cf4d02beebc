from protos import events_pb2 as _events_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PrescriptionLine(_message.Message):
    __slots__ = ("product_code", "quantity", "duration_days")
    PRODUCT_CODE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    DURATION_DAYS_FIELD_NUMBER: _ClassVar[int]
    product_code: str
    quantity: int
    duration_days: int
    def __init__(self, product_code: _Optional[str] = ..., quantity: _Optional[int] = ..., duration_days: _Optional[int] = ...) -> None: ...

class OpenDispensingRequest(_message.Message):
    __slots__ = ("case_id", "patient_id", "prescription_id", "lines", "pharmacist_id", "scanner_device_id")
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PRESCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    PHARMACIST_ID_FIELD_NUMBER: _ClassVar[int]
    SCANNER_DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    case_id: str
    patient_id: str
    prescription_id: str
    lines: _containers.RepeatedCompositeFieldContainer[PrescriptionLine]
    pharmacist_id: str
    scanner_device_id: str
    def __init__(self, case_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., prescription_id: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[PrescriptionLine, _Mapping]]] = ..., pharmacist_id: _Optional[str] = ..., scanner_device_id: _Optional[str] = ...) -> None: ...

class DispensingRef(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class ScanItemRequest(_message.Message):
    __slots__ = ("session_id", "raw")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    raw: str
    def __init__(self, session_id: _Optional[str] = ..., raw: _Optional[str] = ...) -> None: ...

class SessionUpdate(_message.Message):
    __slots__ = ("session_id", "kind", "item", "code", "warning", "lines", "differences")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    ITEM_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    WARNING_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCES_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    kind: str
    item: _events_pb2.DispensedItem
    code: str
    warning: str
    lines: _containers.RepeatedCompositeFieldContainer[_events_pb2.PrescriptionLineDispensed]
    differences: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, session_id: _Optional[str] = ..., kind: _Optional[str] = ..., item: _Optional[_Union[_events_pb2.DispensedItem, _Mapping]] = ..., code: _Optional[str] = ..., warning: _Optional[str] = ..., lines: _Optional[_Iterable[_Union[_events_pb2.PrescriptionLineDispensed, _Mapping]]] = ..., differences: _Optional[_Iterable[str]] = ...) -> None: ...

class DispensingSession(_message.Message):
    __slots__ = ("session_id", "case_id", "patient_id", "prescription_id", "state", "items", "lines", "differences", "refusals")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    PRESCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCES_FIELD_NUMBER: _ClassVar[int]
    REFUSALS_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    case_id: str
    patient_id: str
    prescription_id: str
    state: str
    items: _containers.RepeatedCompositeFieldContainer[_events_pb2.DispensedItem]
    lines: _containers.RepeatedCompositeFieldContainer[_events_pb2.PrescriptionLineDispensed]
    differences: _containers.RepeatedScalarFieldContainer[str]
    refusals: _containers.RepeatedCompositeFieldContainer[SessionUpdate]
    def __init__(self, session_id: _Optional[str] = ..., case_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., prescription_id: _Optional[str] = ..., state: _Optional[str] = ..., items: _Optional[_Iterable[_Union[_events_pb2.DispensedItem, _Mapping]]] = ..., lines: _Optional[_Iterable[_Union[_events_pb2.PrescriptionLineDispensed, _Mapping]]] = ..., differences: _Optional[_Iterable[str]] = ..., refusals: _Optional[_Iterable[_Union[SessionUpdate, _Mapping]]] = ...) -> None: ...

class FinishDispensingRequest(_message.Message):
    __slots__ = ("session_id", "fingerprint_device_id")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    FINGERPRINT_DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    fingerprint_device_id: str
    def __init__(self, session_id: _Optional[str] = ..., fingerprint_device_id: _Optional[str] = ...) -> None: ...

class DispensingResult(_message.Message):
    __slots__ = ("event_id", "station_seq", "confirmation_event_id", "session")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATION_SEQ_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    SESSION_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    station_seq: int
    confirmation_event_id: str
    session: DispensingSession
    def __init__(self, event_id: _Optional[str] = ..., station_seq: _Optional[int] = ..., confirmation_event_id: _Optional[str] = ..., session: _Optional[_Union[DispensingSession, _Mapping]] = ...) -> None: ...
