import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class Finger(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FINGER_UNSPECIFIED: _ClassVar[Finger]
    RIGHT_THUMB: _ClassVar[Finger]
    RIGHT_INDEX: _ClassVar[Finger]
    RIGHT_MIDDLE: _ClassVar[Finger]
    RIGHT_RING: _ClassVar[Finger]
    RIGHT_LITTLE: _ClassVar[Finger]
    LEFT_THUMB: _ClassVar[Finger]
    LEFT_INDEX: _ClassVar[Finger]
    LEFT_MIDDLE: _ClassVar[Finger]
    LEFT_RING: _ClassVar[Finger]
    LEFT_LITTLE: _ClassVar[Finger]

class ConfirmationDecision(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DECISION_UNSPECIFIED: _ClassVar[ConfirmationDecision]
    MATCH: _ClassVar[ConfirmationDecision]
    NO_MATCH: _ClassVar[ConfirmationDecision]
    NOT_CAPTURED: _ClassVar[ConfirmationDecision]

class SignatureLevel(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    SIGNATURE_LEVEL_UNSPECIFIED: _ClassVar[SignatureLevel]
    PADES_B_B: _ClassVar[SignatureLevel]
    PADES_B_T: _ClassVar[SignatureLevel]
    PADES_B_LT: _ClassVar[SignatureLevel]
    PADES_B_LTA: _ClassVar[SignatureLevel]
    SIMPLE: _ClassVar[SignatureLevel]

class RevocationAtSigning(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    REVOCATION_AT_SIGNING_UNSPECIFIED: _ClassVar[RevocationAtSigning]
    REVOCATION_GOOD: _ClassVar[RevocationAtSigning]
    REVOCATION_PENDING: _ClassVar[RevocationAtSigning]

class DeviceState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DEVICE_STATE_UNSPECIFIED: _ClassVar[DeviceState]
    CONNECTED: _ClassVar[DeviceState]
    DISCONNECTED: _ClassVar[DeviceState]
    ERROR: _ClassVar[DeviceState]
    BUSY: _ClassVar[DeviceState]
    UNSUPPORTED: _ClassVar[DeviceState]

class ReceiptStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    RECEIPT_STATUS_UNSPECIFIED: _ClassVar[ReceiptStatus]
    ACCEPTED: _ClassVar[ReceiptStatus]
    DUPLICATE: _ClassVar[ReceiptStatus]
    REJECTED: _ClassVar[ReceiptStatus]
FINGER_UNSPECIFIED: Finger
RIGHT_THUMB: Finger
RIGHT_INDEX: Finger
RIGHT_MIDDLE: Finger
RIGHT_RING: Finger
RIGHT_LITTLE: Finger
LEFT_THUMB: Finger
LEFT_INDEX: Finger
LEFT_MIDDLE: Finger
LEFT_RING: Finger
LEFT_LITTLE: Finger
DECISION_UNSPECIFIED: ConfirmationDecision
MATCH: ConfirmationDecision
NO_MATCH: ConfirmationDecision
NOT_CAPTURED: ConfirmationDecision
SIGNATURE_LEVEL_UNSPECIFIED: SignatureLevel
PADES_B_B: SignatureLevel
PADES_B_T: SignatureLevel
PADES_B_LT: SignatureLevel
PADES_B_LTA: SignatureLevel
SIMPLE: SignatureLevel
REVOCATION_AT_SIGNING_UNSPECIFIED: RevocationAtSigning
REVOCATION_GOOD: RevocationAtSigning
REVOCATION_PENDING: RevocationAtSigning
DEVICE_STATE_UNSPECIFIED: DeviceState
CONNECTED: DeviceState
DISCONNECTED: DeviceState
ERROR: DeviceState
BUSY: DeviceState
UNSUPPORTED: DeviceState
RECEIPT_STATUS_UNSPECIFIED: ReceiptStatus
ACCEPTED: ReceiptStatus
DUPLICATE: ReceiptStatus
REJECTED: ReceiptStatus

class Event(_message.Message):
    __slots__ = ("event_id", "station_id", "unit_id", "device_id", "occurred_at", "case_id", "patient_id", "station_seq", "schema_version", "biometric_enrollment", "biometric_confirmation", "vital_signs", "signed_document", "scanned_document", "device_status", "medication_dispensed")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    UNIT_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    OCCURRED_AT_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATION_SEQ_FIELD_NUMBER: _ClassVar[int]
    SCHEMA_VERSION_FIELD_NUMBER: _ClassVar[int]
    BIOMETRIC_ENROLLMENT_FIELD_NUMBER: _ClassVar[int]
    BIOMETRIC_CONFIRMATION_FIELD_NUMBER: _ClassVar[int]
    VITAL_SIGNS_FIELD_NUMBER: _ClassVar[int]
    SIGNED_DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    SCANNED_DOCUMENT_FIELD_NUMBER: _ClassVar[int]
    DEVICE_STATUS_FIELD_NUMBER: _ClassVar[int]
    MEDICATION_DISPENSED_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    station_id: str
    unit_id: str
    device_id: str
    occurred_at: _timestamp_pb2.Timestamp
    case_id: str
    patient_id: str
    station_seq: int
    schema_version: int
    biometric_enrollment: BiometricEnrollment
    biometric_confirmation: BiometricConfirmation
    vital_signs: VitalSignsObservation
    signed_document: SignedDocument
    scanned_document: ScannedDocument
    device_status: DeviceStatus
    medication_dispensed: MedicationDispensed
    def __init__(self, event_id: _Optional[str] = ..., station_id: _Optional[str] = ..., unit_id: _Optional[str] = ..., device_id: _Optional[str] = ..., occurred_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., case_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., station_seq: _Optional[int] = ..., schema_version: _Optional[int] = ..., biometric_enrollment: _Optional[_Union[BiometricEnrollment, _Mapping]] = ..., biometric_confirmation: _Optional[_Union[BiometricConfirmation, _Mapping]] = ..., vital_signs: _Optional[_Union[VitalSignsObservation, _Mapping]] = ..., signed_document: _Optional[_Union[SignedDocument, _Mapping]] = ..., scanned_document: _Optional[_Union[ScannedDocument, _Mapping]] = ..., device_status: _Optional[_Union[DeviceStatus, _Mapping]] = ..., medication_dispensed: _Optional[_Union[MedicationDispensed, _Mapping]] = ...) -> None: ...

class EventBatch(_message.Message):
    __slots__ = ("events", "sent_at", "oldest_pending_seq", "clock_offset_ms", "clock_offset_error_ms", "clock_offset_known")
    EVENTS_FIELD_NUMBER: _ClassVar[int]
    SENT_AT_FIELD_NUMBER: _ClassVar[int]
    OLDEST_PENDING_SEQ_FIELD_NUMBER: _ClassVar[int]
    CLOCK_OFFSET_MS_FIELD_NUMBER: _ClassVar[int]
    CLOCK_OFFSET_ERROR_MS_FIELD_NUMBER: _ClassVar[int]
    CLOCK_OFFSET_KNOWN_FIELD_NUMBER: _ClassVar[int]
    events: _containers.RepeatedScalarFieldContainer[bytes]
    sent_at: _timestamp_pb2.Timestamp
    oldest_pending_seq: int
    clock_offset_ms: int
    clock_offset_error_ms: int
    clock_offset_known: bool
    def __init__(self, events: _Optional[_Iterable[bytes]] = ..., sent_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., oldest_pending_seq: _Optional[int] = ..., clock_offset_ms: _Optional[int] = ..., clock_offset_error_ms: _Optional[int] = ..., clock_offset_known: _Optional[bool] = ...) -> None: ...

class DeviceIdentity(_message.Message):
    __slots__ = ("model", "serial", "vendor", "driver", "firmware", "usb_id", "eui64")
    MODEL_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    VENDOR_FIELD_NUMBER: _ClassVar[int]
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    FIRMWARE_FIELD_NUMBER: _ClassVar[int]
    USB_ID_FIELD_NUMBER: _ClassVar[int]
    EUI64_FIELD_NUMBER: _ClassVar[int]
    model: str
    serial: str
    vendor: str
    driver: str
    firmware: str
    usb_id: str
    eui64: str
    def __init__(self, model: _Optional[str] = ..., serial: _Optional[str] = ..., vendor: _Optional[str] = ..., driver: _Optional[str] = ..., firmware: _Optional[str] = ..., usb_id: _Optional[str] = ..., eui64: _Optional[str] = ...) -> None: ...

class BiometricEnrollment(_message.Message):
    __slots__ = ("finger", "template_format", "template", "template_sha256", "impression_quality", "reader", "operator_id")
    FINGER_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FORMAT_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_FIELD_NUMBER: _ClassVar[int]
    TEMPLATE_SHA256_FIELD_NUMBER: _ClassVar[int]
    IMPRESSION_QUALITY_FIELD_NUMBER: _ClassVar[int]
    READER_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    finger: Finger
    template_format: str
    template: bytes
    template_sha256: bytes
    impression_quality: _containers.RepeatedScalarFieldContainer[int]
    reader: DeviceIdentity
    operator_id: str
    def __init__(self, finger: _Optional[_Union[Finger, str]] = ..., template_format: _Optional[str] = ..., template: _Optional[bytes] = ..., template_sha256: _Optional[bytes] = ..., impression_quality: _Optional[_Iterable[int]] = ..., reader: _Optional[_Union[DeviceIdentity, _Mapping]] = ..., operator_id: _Optional[str] = ...) -> None: ...

class BiometricConfirmation(_message.Message):
    __slots__ = ("step", "finger", "reader", "quality", "score", "threshold", "decision", "probe_template_sha256", "reason", "operator_id", "station_signature", "signature_algorithm", "station_cert_sha256")
    STEP_FIELD_NUMBER: _ClassVar[int]
    FINGER_FIELD_NUMBER: _ClassVar[int]
    READER_FIELD_NUMBER: _ClassVar[int]
    QUALITY_FIELD_NUMBER: _ClassVar[int]
    SCORE_FIELD_NUMBER: _ClassVar[int]
    THRESHOLD_FIELD_NUMBER: _ClassVar[int]
    DECISION_FIELD_NUMBER: _ClassVar[int]
    PROBE_TEMPLATE_SHA256_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    STATION_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    STATION_CERT_SHA256_FIELD_NUMBER: _ClassVar[int]
    step: str
    finger: Finger
    reader: DeviceIdentity
    quality: int
    score: float
    threshold: float
    decision: ConfirmationDecision
    probe_template_sha256: bytes
    reason: str
    operator_id: str
    station_signature: bytes
    signature_algorithm: str
    station_cert_sha256: bytes
    def __init__(self, step: _Optional[str] = ..., finger: _Optional[_Union[Finger, str]] = ..., reader: _Optional[_Union[DeviceIdentity, _Mapping]] = ..., quality: _Optional[int] = ..., score: _Optional[float] = ..., threshold: _Optional[float] = ..., decision: _Optional[_Union[ConfirmationDecision, str]] = ..., probe_template_sha256: _Optional[bytes] = ..., reason: _Optional[str] = ..., operator_id: _Optional[str] = ..., station_signature: _Optional[bytes] = ..., signature_algorithm: _Optional[str] = ..., station_cert_sha256: _Optional[bytes] = ...) -> None: ...

class Reading(_message.Message):
    __slots__ = ("mdc_code", "mdc_refid", "value", "unit", "measured_at", "containment", "flags", "equipment")
    MDC_CODE_FIELD_NUMBER: _ClassVar[int]
    MDC_REFID_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    MEASURED_AT_FIELD_NUMBER: _ClassVar[int]
    CONTAINMENT_FIELD_NUMBER: _ClassVar[int]
    FLAGS_FIELD_NUMBER: _ClassVar[int]
    EQUIPMENT_FIELD_NUMBER: _ClassVar[int]
    mdc_code: int
    mdc_refid: str
    value: float
    unit: str
    measured_at: _timestamp_pb2.Timestamp
    containment: str
    flags: _containers.RepeatedScalarFieldContainer[str]
    equipment: str
    def __init__(self, mdc_code: _Optional[int] = ..., mdc_refid: _Optional[str] = ..., value: _Optional[float] = ..., unit: _Optional[str] = ..., measured_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., containment: _Optional[str] = ..., flags: _Optional[_Iterable[str]] = ..., equipment: _Optional[str] = ...) -> None: ...

class VitalSignsObservation(_message.Message):
    __slots__ = ("readings", "monitor", "mode", "session_id", "rejected", "operator_id", "assigned_by", "inbox_reason")
    READINGS_FIELD_NUMBER: _ClassVar[int]
    MONITOR_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    REJECTED_FIELD_NUMBER: _ClassVar[int]
    OPERATOR_ID_FIELD_NUMBER: _ClassVar[int]
    ASSIGNED_BY_FIELD_NUMBER: _ClassVar[int]
    INBOX_REASON_FIELD_NUMBER: _ClassVar[int]
    readings: _containers.RepeatedCompositeFieldContainer[Reading]
    monitor: DeviceIdentity
    mode: str
    session_id: str
    rejected: _containers.RepeatedCompositeFieldContainer[RejectedReading]
    operator_id: str
    assigned_by: str
    inbox_reason: str
    def __init__(self, readings: _Optional[_Iterable[_Union[Reading, _Mapping]]] = ..., monitor: _Optional[_Union[DeviceIdentity, _Mapping]] = ..., mode: _Optional[str] = ..., session_id: _Optional[str] = ..., rejected: _Optional[_Iterable[_Union[RejectedReading, _Mapping]]] = ..., operator_id: _Optional[str] = ..., assigned_by: _Optional[str] = ..., inbox_reason: _Optional[str] = ...) -> None: ...

class RejectedReading(_message.Message):
    __slots__ = ("reading", "reason_code", "reason", "raw_value")
    READING_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    RAW_VALUE_FIELD_NUMBER: _ClassVar[int]
    reading: Reading
    reason_code: str
    reason: str
    raw_value: str
    def __init__(self, reading: _Optional[_Union[Reading, _Mapping]] = ..., reason_code: _Optional[str] = ..., reason: _Optional[str] = ..., raw_value: _Optional[str] = ...) -> None: ...

class BodyRef(_message.Message):
    __slots__ = ("sha256", "size", "media_type", "filename")
    SHA256_FIELD_NUMBER: _ClassVar[int]
    SIZE_FIELD_NUMBER: _ClassVar[int]
    MEDIA_TYPE_FIELD_NUMBER: _ClassVar[int]
    FILENAME_FIELD_NUMBER: _ClassVar[int]
    sha256: bytes
    size: int
    media_type: str
    filename: str
    def __init__(self, sha256: _Optional[bytes] = ..., size: _Optional[int] = ..., media_type: _Optional[str] = ..., filename: _Optional[str] = ...) -> None: ...

class SignerInfo(_message.Message):
    __slots__ = ("subject", "issuer", "serial", "cert_sha256", "role", "signed_at", "level", "revocation", "revocation_detail")
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    CERT_SHA256_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    SIGNED_AT_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    REVOCATION_FIELD_NUMBER: _ClassVar[int]
    REVOCATION_DETAIL_FIELD_NUMBER: _ClassVar[int]
    subject: str
    issuer: str
    serial: str
    cert_sha256: bytes
    role: str
    signed_at: _timestamp_pb2.Timestamp
    level: SignatureLevel
    revocation: RevocationAtSigning
    revocation_detail: str
    def __init__(self, subject: _Optional[str] = ..., issuer: _Optional[str] = ..., serial: _Optional[str] = ..., cert_sha256: _Optional[bytes] = ..., role: _Optional[str] = ..., signed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., level: _Optional[_Union[SignatureLevel, str]] = ..., revocation: _Optional[_Union[RevocationAtSigning, str]] = ..., revocation_detail: _Optional[str] = ...) -> None: ...

class SignedDocument(_message.Message):
    __slots__ = ("document_type", "body", "signer", "previous_sha256", "document_id", "requested_by_origin", "simple_signature")
    DOCUMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    SIGNER_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_SHA256_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    REQUESTED_BY_ORIGIN_FIELD_NUMBER: _ClassVar[int]
    SIMPLE_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    document_type: str
    body: BodyRef
    signer: SignerInfo
    previous_sha256: bytes
    document_id: str
    requested_by_origin: str
    simple_signature: SimpleSignature
    def __init__(self, document_type: _Optional[str] = ..., body: _Optional[_Union[BodyRef, _Mapping]] = ..., signer: _Optional[_Union[SignerInfo, _Mapping]] = ..., previous_sha256: _Optional[bytes] = ..., document_id: _Optional[str] = ..., requested_by_origin: _Optional[str] = ..., simple_signature: _Optional[_Union[SimpleSignature, _Mapping]] = ...) -> None: ...

class SimpleSignature(_message.Message):
    __slots__ = ("statement", "station_signature", "signature_algorithm", "station_key_sha256")
    STATEMENT_FIELD_NUMBER: _ClassVar[int]
    STATION_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    STATION_KEY_SHA256_FIELD_NUMBER: _ClassVar[int]
    statement: bytes
    station_signature: bytes
    signature_algorithm: str
    station_key_sha256: bytes
    def __init__(self, statement: _Optional[bytes] = ..., station_signature: _Optional[bytes] = ..., signature_algorithm: _Optional[str] = ..., station_key_sha256: _Optional[bytes] = ...) -> None: ...

class ScannedDocument(_message.Message):
    __slots__ = ("document_type", "body", "pages", "resolution_dpi", "mode", "source", "scanner", "document_id", "title", "blank_pages_dropped", "expected_pages")
    DOCUMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    BODY_FIELD_NUMBER: _ClassVar[int]
    PAGES_FIELD_NUMBER: _ClassVar[int]
    RESOLUTION_DPI_FIELD_NUMBER: _ClassVar[int]
    MODE_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    SCANNER_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    TITLE_FIELD_NUMBER: _ClassVar[int]
    BLANK_PAGES_DROPPED_FIELD_NUMBER: _ClassVar[int]
    EXPECTED_PAGES_FIELD_NUMBER: _ClassVar[int]
    document_type: str
    body: BodyRef
    pages: int
    resolution_dpi: int
    mode: str
    source: str
    scanner: DeviceIdentity
    document_id: str
    title: str
    blank_pages_dropped: int
    expected_pages: int
    def __init__(self, document_type: _Optional[str] = ..., body: _Optional[_Union[BodyRef, _Mapping]] = ..., pages: _Optional[int] = ..., resolution_dpi: _Optional[int] = ..., mode: _Optional[str] = ..., source: _Optional[str] = ..., scanner: _Optional[_Union[DeviceIdentity, _Mapping]] = ..., document_id: _Optional[str] = ..., title: _Optional[str] = ..., blank_pages_dropped: _Optional[int] = ..., expected_pages: _Optional[int] = ...) -> None: ...

class DeviceStatus(_message.Message):
    __slots__ = ("family", "state", "previous_state", "identity", "error_code", "detail")
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    PREVIOUS_STATE_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    DETAIL_FIELD_NUMBER: _ClassVar[int]
    family: str
    state: DeviceState
    previous_state: DeviceState
    identity: DeviceIdentity
    error_code: str
    detail: str
    def __init__(self, family: _Optional[str] = ..., state: _Optional[_Union[DeviceState, str]] = ..., previous_state: _Optional[_Union[DeviceState, str]] = ..., identity: _Optional[_Union[DeviceIdentity, _Mapping]] = ..., error_code: _Optional[str] = ..., detail: _Optional[str] = ...) -> None: ...

class Receipt(_message.Message):
    __slots__ = ("event_id", "status", "reason_code", "reason")
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    REASON_CODE_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    event_id: str
    status: ReceiptStatus
    reason_code: str
    reason: str
    def __init__(self, event_id: _Optional[str] = ..., status: _Optional[_Union[ReceiptStatus, str]] = ..., reason_code: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class ReceiptBatch(_message.Message):
    __slots__ = ("receipts", "committed_at", "resend_unreceipted")
    RECEIPTS_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    RESEND_UNRECEIPTED_FIELD_NUMBER: _ClassVar[int]
    receipts: _containers.RepeatedCompositeFieldContainer[Receipt]
    committed_at: _timestamp_pb2.Timestamp
    resend_unreceipted: bool
    def __init__(self, receipts: _Optional[_Iterable[_Union[Receipt, _Mapping]]] = ..., committed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., resend_unreceipted: _Optional[bool] = ...) -> None: ...

class StationState(_message.Message):
    __slots__ = ("station_id", "unit_id", "online", "at", "agent_version", "outbox_depth", "config_version", "config_error", "clock_offset_ms", "clock_offset_known", "warnings", "devices", "devices_known")
    STATION_ID_FIELD_NUMBER: _ClassVar[int]
    UNIT_ID_FIELD_NUMBER: _ClassVar[int]
    ONLINE_FIELD_NUMBER: _ClassVar[int]
    AT_FIELD_NUMBER: _ClassVar[int]
    AGENT_VERSION_FIELD_NUMBER: _ClassVar[int]
    OUTBOX_DEPTH_FIELD_NUMBER: _ClassVar[int]
    CONFIG_VERSION_FIELD_NUMBER: _ClassVar[int]
    CONFIG_ERROR_FIELD_NUMBER: _ClassVar[int]
    CLOCK_OFFSET_MS_FIELD_NUMBER: _ClassVar[int]
    CLOCK_OFFSET_KNOWN_FIELD_NUMBER: _ClassVar[int]
    WARNINGS_FIELD_NUMBER: _ClassVar[int]
    DEVICES_FIELD_NUMBER: _ClassVar[int]
    DEVICES_KNOWN_FIELD_NUMBER: _ClassVar[int]
    station_id: str
    unit_id: str
    online: bool
    at: _timestamp_pb2.Timestamp
    agent_version: str
    outbox_depth: int
    config_version: int
    config_error: str
    clock_offset_ms: int
    clock_offset_known: bool
    warnings: _containers.RepeatedScalarFieldContainer[str]
    devices: _containers.RepeatedCompositeFieldContainer[ReportedDevice]
    devices_known: bool
    def __init__(self, station_id: _Optional[str] = ..., unit_id: _Optional[str] = ..., online: _Optional[bool] = ..., at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., agent_version: _Optional[str] = ..., outbox_depth: _Optional[int] = ..., config_version: _Optional[int] = ..., config_error: _Optional[str] = ..., clock_offset_ms: _Optional[int] = ..., clock_offset_known: _Optional[bool] = ..., warnings: _Optional[_Iterable[str]] = ..., devices: _Optional[_Iterable[_Union[ReportedDevice, _Mapping]]] = ..., devices_known: _Optional[bool] = ...) -> None: ...

class ReportedDevice(_message.Message):
    __slots__ = ("device_id", "driver", "family", "state", "since", "error_code", "identity")
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    DRIVER_FIELD_NUMBER: _ClassVar[int]
    FAMILY_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    SINCE_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    IDENTITY_FIELD_NUMBER: _ClassVar[int]
    device_id: str
    driver: str
    family: str
    state: DeviceState
    since: _timestamp_pb2.Timestamp
    error_code: str
    identity: DeviceIdentity
    def __init__(self, device_id: _Optional[str] = ..., driver: _Optional[str] = ..., family: _Optional[str] = ..., state: _Optional[_Union[DeviceState, str]] = ..., since: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., error_code: _Optional[str] = ..., identity: _Optional[_Union[DeviceIdentity, _Mapping]] = ...) -> None: ...

class DispensedItem(_message.Message):
    __slots__ = ("gtin", "institute_code", "name", "lot", "expiry", "serial", "quantity", "raw", "scanned_at", "measure", "measure_unit", "warning")
    GTIN_FIELD_NUMBER: _ClassVar[int]
    INSTITUTE_CODE_FIELD_NUMBER: _ClassVar[int]
    NAME_FIELD_NUMBER: _ClassVar[int]
    LOT_FIELD_NUMBER: _ClassVar[int]
    EXPIRY_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_FIELD_NUMBER: _ClassVar[int]
    RAW_FIELD_NUMBER: _ClassVar[int]
    SCANNED_AT_FIELD_NUMBER: _ClassVar[int]
    MEASURE_FIELD_NUMBER: _ClassVar[int]
    MEASURE_UNIT_FIELD_NUMBER: _ClassVar[int]
    WARNING_FIELD_NUMBER: _ClassVar[int]
    gtin: str
    institute_code: str
    name: str
    lot: str
    expiry: str
    serial: str
    quantity: int
    raw: str
    scanned_at: _timestamp_pb2.Timestamp
    measure: float
    measure_unit: str
    warning: str
    def __init__(self, gtin: _Optional[str] = ..., institute_code: _Optional[str] = ..., name: _Optional[str] = ..., lot: _Optional[str] = ..., expiry: _Optional[str] = ..., serial: _Optional[str] = ..., quantity: _Optional[int] = ..., raw: _Optional[str] = ..., scanned_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., measure: _Optional[float] = ..., measure_unit: _Optional[str] = ..., warning: _Optional[str] = ...) -> None: ...

class PrescriptionLineDispensed(_message.Message):
    __slots__ = ("product_code", "quantity_prescribed", "duration_days", "quantity_dispensed", "status")
    PRODUCT_CODE_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_PRESCRIBED_FIELD_NUMBER: _ClassVar[int]
    DURATION_DAYS_FIELD_NUMBER: _ClassVar[int]
    QUANTITY_DISPENSED_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    product_code: str
    quantity_prescribed: int
    duration_days: int
    quantity_dispensed: int
    status: str
    def __init__(self, product_code: _Optional[str] = ..., quantity_prescribed: _Optional[int] = ..., duration_days: _Optional[int] = ..., quantity_dispensed: _Optional[int] = ..., status: _Optional[str] = ...) -> None: ...

class MedicationDispensed(_message.Message):
    __slots__ = ("session_id", "prescription_id", "items", "lines", "differences", "pharmacist_id", "confirmation_event_id", "confirmation_decision", "confirmation_score", "catalogue_version", "scanner", "station_signature", "signature_algorithm", "station_cert_sha256")
    SESSION_ID_FIELD_NUMBER: _ClassVar[int]
    PRESCRIPTION_ID_FIELD_NUMBER: _ClassVar[int]
    ITEMS_FIELD_NUMBER: _ClassVar[int]
    LINES_FIELD_NUMBER: _ClassVar[int]
    DIFFERENCES_FIELD_NUMBER: _ClassVar[int]
    PHARMACIST_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_DECISION_FIELD_NUMBER: _ClassVar[int]
    CONFIRMATION_SCORE_FIELD_NUMBER: _ClassVar[int]
    CATALOGUE_VERSION_FIELD_NUMBER: _ClassVar[int]
    SCANNER_FIELD_NUMBER: _ClassVar[int]
    STATION_SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_ALGORITHM_FIELD_NUMBER: _ClassVar[int]
    STATION_CERT_SHA256_FIELD_NUMBER: _ClassVar[int]
    session_id: str
    prescription_id: str
    items: _containers.RepeatedCompositeFieldContainer[DispensedItem]
    lines: _containers.RepeatedCompositeFieldContainer[PrescriptionLineDispensed]
    differences: _containers.RepeatedScalarFieldContainer[str]
    pharmacist_id: str
    confirmation_event_id: str
    confirmation_decision: ConfirmationDecision
    confirmation_score: float
    catalogue_version: str
    scanner: DeviceIdentity
    station_signature: bytes
    signature_algorithm: str
    station_cert_sha256: bytes
    def __init__(self, session_id: _Optional[str] = ..., prescription_id: _Optional[str] = ..., items: _Optional[_Iterable[_Union[DispensedItem, _Mapping]]] = ..., lines: _Optional[_Iterable[_Union[PrescriptionLineDispensed, _Mapping]]] = ..., differences: _Optional[_Iterable[str]] = ..., pharmacist_id: _Optional[str] = ..., confirmation_event_id: _Optional[str] = ..., confirmation_decision: _Optional[_Union[ConfirmationDecision, str]] = ..., confirmation_score: _Optional[float] = ..., catalogue_version: _Optional[str] = ..., scanner: _Optional[_Union[DeviceIdentity, _Mapping]] = ..., station_signature: _Optional[bytes] = ..., signature_algorithm: _Optional[str] = ..., station_cert_sha256: _Optional[bytes] = ...) -> None: ...
