import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ListCertificatesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class TokenCertificate(_message.Message):
    __slots__ = ("cert_id", "device_id", "token_label", "token_serial", "subject", "issuer", "serial", "not_before", "not_after", "key_usage", "key_type")
    CERT_ID_FIELD_NUMBER: _ClassVar[int]
    DEVICE_ID_FIELD_NUMBER: _ClassVar[int]
    TOKEN_LABEL_FIELD_NUMBER: _ClassVar[int]
    TOKEN_SERIAL_FIELD_NUMBER: _ClassVar[int]
    SUBJECT_FIELD_NUMBER: _ClassVar[int]
    ISSUER_FIELD_NUMBER: _ClassVar[int]
    SERIAL_FIELD_NUMBER: _ClassVar[int]
    NOT_BEFORE_FIELD_NUMBER: _ClassVar[int]
    NOT_AFTER_FIELD_NUMBER: _ClassVar[int]
    KEY_USAGE_FIELD_NUMBER: _ClassVar[int]
    KEY_TYPE_FIELD_NUMBER: _ClassVar[int]
    cert_id: str
    device_id: str
    token_label: str
    token_serial: str
    subject: str
    issuer: str
    serial: str
    not_before: _timestamp_pb2.Timestamp
    not_after: _timestamp_pb2.Timestamp
    key_usage: _containers.RepeatedScalarFieldContainer[str]
    key_type: str
    def __init__(self, cert_id: _Optional[str] = ..., device_id: _Optional[str] = ..., token_label: _Optional[str] = ..., token_serial: _Optional[str] = ..., subject: _Optional[str] = ..., issuer: _Optional[str] = ..., serial: _Optional[str] = ..., not_before: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., not_after: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., key_usage: _Optional[_Iterable[str]] = ..., key_type: _Optional[str] = ...) -> None: ...

class ListCertificatesResponse(_message.Message):
    __slots__ = ("certificates",)
    CERTIFICATES_FIELD_NUMBER: _ClassVar[int]
    certificates: _containers.RepeatedCompositeFieldContainer[TokenCertificate]
    def __init__(self, certificates: _Optional[_Iterable[_Union[TokenCertificate, _Mapping]]] = ...) -> None: ...

class SubmitDocumentRequest(_message.Message):
    __slots__ = ("document_type", "case_id", "patient_id", "role", "pdf", "cert_id", "document_id", "origin", "signature", "user_id", "user_name")
    DOCUMENT_TYPE_FIELD_NUMBER: _ClassVar[int]
    CASE_ID_FIELD_NUMBER: _ClassVar[int]
    PATIENT_ID_FIELD_NUMBER: _ClassVar[int]
    ROLE_FIELD_NUMBER: _ClassVar[int]
    PDF_FIELD_NUMBER: _ClassVar[int]
    CERT_ID_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    ORIGIN_FIELD_NUMBER: _ClassVar[int]
    SIGNATURE_FIELD_NUMBER: _ClassVar[int]
    USER_ID_FIELD_NUMBER: _ClassVar[int]
    USER_NAME_FIELD_NUMBER: _ClassVar[int]
    document_type: str
    case_id: str
    patient_id: str
    role: str
    pdf: bytes
    cert_id: str
    document_id: str
    origin: str
    signature: str
    user_id: str
    user_name: str
    def __init__(self, document_type: _Optional[str] = ..., case_id: _Optional[str] = ..., patient_id: _Optional[str] = ..., role: _Optional[str] = ..., pdf: _Optional[bytes] = ..., cert_id: _Optional[str] = ..., document_id: _Optional[str] = ..., origin: _Optional[str] = ..., signature: _Optional[str] = ..., user_id: _Optional[str] = ..., user_name: _Optional[str] = ...) -> None: ...

class SigningJob(_message.Message):
    __slots__ = ("job_id", "status", "document_id", "input_sha256", "consent_url", "error_code", "error_reason", "signed_sha256", "level", "event_id", "kind", "revocation", "revocation_note")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    DOCUMENT_ID_FIELD_NUMBER: _ClassVar[int]
    INPUT_SHA256_FIELD_NUMBER: _ClassVar[int]
    CONSENT_URL_FIELD_NUMBER: _ClassVar[int]
    ERROR_CODE_FIELD_NUMBER: _ClassVar[int]
    ERROR_REASON_FIELD_NUMBER: _ClassVar[int]
    SIGNED_SHA256_FIELD_NUMBER: _ClassVar[int]
    LEVEL_FIELD_NUMBER: _ClassVar[int]
    EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    KIND_FIELD_NUMBER: _ClassVar[int]
    REVOCATION_FIELD_NUMBER: _ClassVar[int]
    REVOCATION_NOTE_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    status: str
    document_id: str
    input_sha256: str
    consent_url: str
    error_code: str
    error_reason: str
    signed_sha256: str
    level: str
    event_id: str
    kind: str
    revocation: str
    revocation_note: str
    def __init__(self, job_id: _Optional[str] = ..., status: _Optional[str] = ..., document_id: _Optional[str] = ..., input_sha256: _Optional[str] = ..., consent_url: _Optional[str] = ..., error_code: _Optional[str] = ..., error_reason: _Optional[str] = ..., signed_sha256: _Optional[str] = ..., level: _Optional[str] = ..., event_id: _Optional[str] = ..., kind: _Optional[str] = ..., revocation: _Optional[str] = ..., revocation_note: _Optional[str] = ...) -> None: ...

class GetJobRequest(_message.Message):
    __slots__ = ("job_id", "wait_s")
    JOB_ID_FIELD_NUMBER: _ClassVar[int]
    WAIT_S_FIELD_NUMBER: _ClassVar[int]
    job_id: str
    wait_s: float
    def __init__(self, job_id: _Optional[str] = ..., wait_s: _Optional[float] = ...) -> None: ...

class SignedPdf(_message.Message):
    __slots__ = ("pdf", "sha256")
    PDF_FIELD_NUMBER: _ClassVar[int]
    SHA256_FIELD_NUMBER: _ClassVar[int]
    pdf: bytes
    sha256: str
    def __init__(self, pdf: _Optional[bytes] = ..., sha256: _Optional[str] = ...) -> None: ...
