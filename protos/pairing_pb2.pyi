from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Optional as _Optional

DESCRIPTOR: _descriptor.FileDescriptor

class AppPairingRequest(_message.Message):
    __slots__ = ("app_name",)
    APP_NAME_FIELD_NUMBER: _ClassVar[int]
    app_name: str
    def __init__(self, app_name: _Optional[str] = ...) -> None: ...

class AppPairingTicket(_message.Message):
    __slots__ = ("request_id", "code", "expires_in_s", "approve_at")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    CODE_FIELD_NUMBER: _ClassVar[int]
    EXPIRES_IN_S_FIELD_NUMBER: _ClassVar[int]
    APPROVE_AT_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    code: str
    expires_in_s: int
    approve_at: str
    def __init__(self, request_id: _Optional[str] = ..., code: _Optional[str] = ..., expires_in_s: _Optional[int] = ..., approve_at: _Optional[str] = ...) -> None: ...

class GetAppPairingRequest(_message.Message):
    __slots__ = ("app_name", "request_id")
    APP_NAME_FIELD_NUMBER: _ClassVar[int]
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    app_name: str
    request_id: str
    def __init__(self, app_name: _Optional[str] = ..., request_id: _Optional[str] = ...) -> None: ...

class AppPairingState(_message.Message):
    __slots__ = ("request_id", "state", "token")
    REQUEST_ID_FIELD_NUMBER: _ClassVar[int]
    STATE_FIELD_NUMBER: _ClassVar[int]
    TOKEN_FIELD_NUMBER: _ClassVar[int]
    request_id: str
    state: str
    token: str
    def __init__(self, request_id: _Optional[str] = ..., state: _Optional[str] = ..., token: _Optional[str] = ...) -> None: ...
