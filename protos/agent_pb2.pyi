import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from protos import events_pb2 as _events_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetStatusRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class DeviceInfo(_message.Message):
    __slots__ = ("device_id", "family", "driver", "state", "identity", "detail")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    family: str
    driver: str
    state: _events_pb2.DeviceState
    identity: _events_pb2.DeviceIdentity
    detail: str
    def __init__(self, device_id: _Optional[str] = ..., family: _Optional[str] = ..., driver: _Optional[str] = ..., state: _Optional[_Union[_events_pb2.DeviceState, str]] = ..., identity: _Optional[_Union[_events_pb2.DeviceIdentity, _Mapping]] = ..., detail: _Optional[str] = ...) -> None: ...

class OutboxInfo(_message.Message):
    __slots__ = ("depth", "bytes", "limit_bytes", "hard_limit_bytes", "oldest_age_ms")
    DEPTH_FIELD_NUMBER: _ClassVar[int]
    BYTES_FIELD_NUMBER: _ClassVar[int]
    LIMIT_BYTES_FIELD_NUMBER: _ClassVar[int]
    HARD_LIMIT_BYTES_FIELD_NUMBER: _ClassVar[int]
    OLDEST_AGE_MS_FIELD_NUMBER: _ClassVar[int]
    depth: int
    bytes: int
    limit_bytes: int
    hard_limit_bytes: int
    oldest_age_ms: int
    def __init__(self, depth: _Optional[int] = ..., bytes: _Optional[int] = ..., limit_bytes: _Optional[int] = ..., hard_limit_bytes: _Optional[int] = ..., oldest_age_ms: _Optional[int] = ...) -> None: ...

class LinkInfo(_message.Message):
    __slots__ = ("connected", "broker", "in_flight", "last_receipt_at", "reconnects")
    CONNECTED_FIELD_NUMBER: _ClassVar[int]
    BROKER_FIELD_NUMBER: _ClassVar[int]
    IN_FLIGHT_FIELD_NUMBER: _ClassVar[int]
    LAST_RECEIPT_AT_FIELD_NUMBER: _ClassVar[int]
    RECONNECTS_FIELD_NUMBER: _ClassVar[int]
    connected: bool
    broker: str
    in_flight: int
    last_receipt_at: _timestamp_pb2.Timestamp
    reconnects: int
    def __init__(self, connected: _Optional[bool] = ..., broker: _Optional[str] = ..., in_flight: _Optional[int] = ..., last_receipt_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., reconnects: _Optional[int] = ...) -> None: ...

class AgentStatus(_message.Message):
    __slots__ = ("station_id", "unit_id", "version", "devices", "outbox", "link")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    UNIT_ID_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_FIELD_NUMBER: _ClassVar[int]
    LINK_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    unit_id: str
    version: str
    devices: _containers.RepeatedCompositeFieldContainer[DeviceInfo]
    outbox: OutboxInfo
    link: LinkInfo
    def __init__(self, station_id: _Optional[str] = ..., unit_id: _Optional[str] = ..., version: _Optional[str] = ..., devices: _Optional[_Iterable[_Union[DeviceInfo, _Mapping]]] = ..., outbox: _Optional[_Union[OutboxInfo, _Mapping]] = ..., link: _Optional[_Union[LinkInfo, _Mapping]] = ...) -> None: ...

class RecordEventRequest(_message.Message):
    __slots__ = ("event",)
    EVENT_FIELD_NUMBER: _ClassVar[int]
    event: _events_pb2.Event
    def __init__(self, event: _Optional[_Union[_events_pb2.Event, _Mapping]] = ...) -> None: ...

class RecordEventResponse(_message.Message):
    __slots__ = ("event_id", "station_seq")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATION_SEQ_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    station_seq: int
    def __init__(self, event_id: _Optional[str] = ..., station_seq: _Optional[int] = ...) -> None: ...
