import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from protos import events_pb2 as _events_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class TakeVitalsRequest(_message.Message):
    __slots__ = ("device_id", "case_id", "patient_id", "timeout_s", "patient_name")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_S_FIELD_NUMBER: _ClassVar[int]
    PATIENT_NAME_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    case_id: str
    patient_id: str
    timeout_s: float
    patient_name: str
    def __init__(self, device_id: _Optional[str] = ..., case_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., timeout_s: _Optional[float] = ..., patient_name: _Optional[str] = ...) -> None: ...

class TakeVitalsResponse(_message.Message):
    __slots__ = ("event_id", "station_seq", "observation")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATION_SEQ_FIELD_NUMBER: _ClassVar[int]
    OBSERVATION_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    station_seq: int
    observation: _events_pb2.VitalSignsObservation
    def __init__(self, event_id: _Optional[str] = ..., station_seq: _Optional[int] = ..., observation: _Optional[_Union[_events_pb2.VitalSignsObservation, _Mapping]] = ...) -> None: ...

class StartSessionRequest(_message.Message):
    __slots__ = ("device_id", "case_id", "patient_id", "operator_id", "patient_name")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_NAME_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    case_id: str
    patient_id: str
    operator_id: str
    patient_name: str
    def __init__(self, device_id: _Optional[str] = ..., case_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., operator_id: _Optional[str] = ..., patient_name: _Optional[str] = ...) -> None: ...

class SessionRef(_message.Message):
    __slots__ = ("session_id",)
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    def __init__(self, session_id: _Optional[str] = ...) -> None: ...

class VitalsSession(_message.Message):
    __slots__ = ("session_id", "device_id", "case_id", "patient_id", "started_at", "stopped_at", "active", "batches", "readings", "rejected", "monitor")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    STARTED_AT_FIELD_NUMBER: _ClassVar[int]
    STOPPED_AT_FIELD_NUMBER: _ClassVar[int]
    ACTIVE_FIELD_NUMBER: _ClassVar[int]
    BATCHES_FIELD_NUMBER: _ClassVar[int]
    READINGS_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    MONITOR_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    device_id: str
    case_id: str
    patient_id: str
    started_at: _timestamp_pb2.Timestamp
    stopped_at: _timestamp_pb2.Timestamp
    active: bool
    batches: int
    readings: int
    rejected: int
    monitor: _events_pb2.DeviceIdentity
    def __init__(self, session_id: _Optional[str] = ..., device_id: _Optional[str] = ..., case_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., started_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., stopped_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., active: _Optional[bool] = ..., batches: _Optional[int] = ..., readings: _Optional[int] = ..., rejected: _Optional[int] = ..., monitor: _Optional[_Union[_events_pb2.DeviceIdentity, _Mapping]] = ...) -> None: ...

class LiveReading(_message.Message):
    __slots__ = ("session_id", "case_id", "reading", "loinc", "reject_code", "reject_reason")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    READING_FIELD_NUMBER: _ClassVar[int]
    LOINC_FIELD_NUMBER: _ClassVar[int]
    REJECT_CODE_FIELD_NUMBER: _ClassVar[int]
    REJECT_REASON_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    case_id: str
    reading: _events_pb2.Reading
    loinc: str
    reject_code: str
    reject_reason: str
    def __init__(self, session_id: _Optional[str] = ..., case_id: _Optional[str] = ..., reading: _Optional[_Union[_events_pb2.Reading, _Mapping]] = ..., loinc: _Optional[str] = ..., reject_code: _Optional[str] = ..., reject_reason: _Optional[str] = ...) -> None: ...

class ListUnassignedRequest(_message.Message):
    __slots__ = ("device_id", "state", "limit")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    state: str
    limit: int
    def __init__(self, device_id: _Optional[str] = ..., state: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class UnassignedEntry(_message.Message):
    __slots__ = ("entry_id", "device_id", "state", "reason_code", "reason", "received_at", "message_id", "patient_ids", "patient_name", "readings", "decided_by", "case_id")
    ENTRY_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RECEIVED_AT_FIELD_NUMBER: _ClassVar[int]
    MESSAGE_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_IDS_FIELD_NUMBER: _ClassVar[int]
    PATIENT_NAME_FIELD_NUMBER: _ClassVar[int]
    READINGS_FIELD_NUMBER: _ClassVar[int]
    DECIDED_BY_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    entry_id: int
    device_id: str
    state: str
    reason_code: str
    reason: str
    received_at: _timestamp_pb2.Timestamp
    message_id: str
    patient_ids: _containers.RepeatedScalarFieldContainer[str]
    patient_name: str
    readings: _containers.RepeatedCompositeFieldContainer[_events_pb2.Reading]
    decided_by: str
    case_id: str
    def __init__(self, entry_id: _Optional[int] = ..., device_id: _Optional[str] = ..., state: _Optional[str] = ..., reason_code: _Optional[str] = ..., reason: _Optional[str] = ..., received_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., message_id: _Optional[str] = ..., patient_ids: _Optional[_Iterable[str]] = ..., patient_name: _Optional[str] = ..., readings: _Optional[_Iterable[_Union[_events_pb2.Reading, _Mapping]]] = ..., decided_by: _Optional[str] = ..., case_id: _Optional[str] = ...) -> None: ...

class UnassignedReadings(_message.Message):
    __slots__ = ("entries",)
    ENTRIES_FIELD_NUMBER: _ClassVar[int]
    entries: _containers.RepeatedCompositeFieldContainer[UnassignedEntry]
    def __init__(self, entries: _Optional[_Iterable[_Union[UnassignedEntry, _Mapping]]] = ...) -> None: ...
