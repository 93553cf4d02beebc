"""The gRPC door's standard services: health (``grpc.health.v1.Health``) and server reflection
(``grpc.reflection.v1alpha`` and ``v1``), as grpclib handlers on the server's loop.

Why not grpclib's own ``grpclib.health``/``grpclib.reflection`` service classes: their
modules import grpclib's copies of ``health.proto`` and ``reflection.proto``, which define
the same protobuf symbols (``grpc.health.v1.HealthCheckRequest``, ...) as grpcio's
``grpc_health``/``grpc_reflection`` under other file names. protobuf refuses a second
definition of a symbol in its default pool, so a process holding both (a test or a tool
that runs an agent in-process and checks it with grpcio's health or reflection client)
could not import the second. These handlers look the message types up by name instead:
whichever definition the process already has (grpcio's, in such a test), or grpclib's
generated modules when it has none (the agent's own process; grpcio is never imported).
The wire format is the same either way. A process that starts an agent in-process and only
then imports grpcio's health or reflection modules still meets the clash: import them first.

Behaviour kept from grpcio's servicers: health answers SERVING for ``""`` and each
registered service, NOT_FOUND for any other name, NOT_SERVING once the server drains;
``Watch`` streams each change. Reflection lists exactly the names it is given and answers
file requests with the file and its transitive dependencies from the default pool.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import struct
from collections.abc import Iterable
from typing import Any

from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import FileDescriptor
from google.protobuf.message import DecodeError, Message
from google.protobuf.message_factory import GetMessageClass
from grpclib.const import Cardinality, Handler, Status
from grpclib.exceptions import GRPCError
from grpclib.server import Stream

HEALTH = "grpc.health.v1.Health"
REFLECTION_V1ALPHA = "grpc.reflection.v1alpha.ServerReflection"
REFLECTION_V1 = "grpc.reflection.v1.ServerReflection"
# The generated module (grpclib's) that defines a package's messages when the process has none.
_DEFINED_BY = {
    "grpc.health.v1": "grpclib.health.v1.health_pb2",
    "grpc.reflection.v1alpha": "grpclib.reflection.v1alpha.reflection_pb2",
    "grpc.reflection.v1": "grpclib.reflection.v1.reflection_pb2",
}
SERVING, NOT_SERVING = 1, 2  # grpc.health.v1.HealthCheckResponse.ServingStatus
OPEN_LIMIT = 64 * 1024  # largest health or reflection request (open to any local caller)


def message_class(package: str, name: str) -> type[Message]:
    """``package.name``'s class from the default pool, loading grpclib's definition if absent."""
    pool = descriptor_pool.Default()
    full_name = f"{package}.{name}"
    try:
        descriptor = pool.FindMessageTypeByName(full_name)
    except KeyError:
        importlib.import_module(_DEFINED_BY[package])
        descriptor = pool.FindMessageTypeByName(full_name)
    return GetMessageClass(descriptor)


async def receive(stream: Stream[Any, Any], request_type: type[Message], limit: int) -> Any:
    """The next request message (None at the end of the stream), refused from its length
    prefix when over ``limit``.

    grpclib's own ``recv_message`` reads whatever length the prefix announces; this reads
    the prefix first from the HTTP/2 stream (grpclib's ``Stream._stream``, pinned < 0.5).
    """
    h2_stream = stream._stream
    prefix = await h2_stream.recv_data(5)
    if not prefix:
        return None
    if len(prefix) < 5:
        raise GRPCError(Status.INTERNAL, "truncated message / mensaje incompleto")
    compressed, length = struct.unpack(">?I", prefix)
    if compressed:
        raise GRPCError(
            Status.UNIMPLEMENTED, "compressed messages are not accepted / sin compresión"
        )
    if length > limit:
        raise GRPCError(
            Status.RESOURCE_EXHAUSTED,
            f"request message of {length} bytes is over the limit of {limit} bytes / "
            f"el mensaje de {length} bytes supera el límite de {limit} bytes",
        )
    body = await h2_stream.recv_data(length)
    try:
        return request_type.FromString(body)
    except DecodeError:
        raise GRPCError(
            Status.INTERNAL, "could not parse the request / no se pudo leer el mensaje"
        ) from None


class Health:
    """``grpc.health.v1.Health``: Check and Watch over one serving flag for every service."""

    def __init__(self, services: Iterable[str]) -> None:
        self.names = {"", *services}
        self.serving = False
        self._version = 0  # one more at each change
        self._sent: dict[int, int] = {}  # watcher -> version it last sent
        self._changed = asyncio.Condition()  # used on the server's loop only
        self._request = message_class("grpc.health.v1", "HealthCheckRequest")
        self._response = message_class("grpc.health.v1", "HealthCheckResponse")

    async def set_serving(self, serving: bool, notify_s: float = 1.0) -> None:
        """Change the status and wait (at most ``notify_s``) until every watcher sent it."""
        async with self._changed:
            if serving == self.serving:
                return
            self.serving = serving
            self._version += 1
            self._changed.notify_all()
            version = self._version
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: all(v >= version for v in self._sent.values())),
                    notify_s,
                )

    def _status(self) -> int:
        return SERVING if self.serving else NOT_SERVING

    async def check(self, stream: Stream[Any, Any]) -> None:
        request = await receive(stream, self._request, OPEN_LIMIT)
        if request is None or request.service not in self.names:
            raise GRPCError(Status.NOT_FOUND, "unknown service")
        await stream.send_message(self._response(status=self._status()))

    async def watch(self, stream: Stream[Any, Any]) -> None:
        request = await receive(stream, self._request, OPEN_LIMIT)
        if request is None or request.service not in self.names:
            await stream.send_message(self._response(status=3))  # SERVICE_UNKNOWN
            await asyncio.Event().wait()  # until the caller hangs up
        key = id(stream)
        try:
            while True:
                version, status = self._version, self._status()
                await stream.send_message(self._response(status=status))
                async with self._changed:
                    self._sent[key] = version
                    self._changed.notify_all()
                    await self._changed.wait_for(lambda v=version: self._version != v)  # type: ignore[misc]
        finally:
            self._sent.pop(key, None)

    def __mapping__(self) -> dict[str, Handler]:
        unary, streaming = Cardinality.UNARY_UNARY, Cardinality.UNARY_STREAM
        return {
            f"/{HEALTH}/Check": Handler(self.check, unary, self._request, self._response),
            f"/{HEALTH}/Watch": Handler(self.watch, streaming, self._request, self._response),
        }


class Reflection:
    """``grpc.reflection.<version>.ServerReflection`` listing ``names``."""

    def __init__(self, service: str, names: Iterable[str]) -> None:
        self.service = service
        self.names = tuple(names)
        self.package = service.rsplit(".", 1)[0]
        self.pool = descriptor_pool.Default()
        m = {
            name: message_class(self.package, name)
            for name in (
                "ServerReflectionRequest",
                "ServerReflectionResponse",
                "ErrorResponse",
                "ListServiceResponse",
                "ServiceResponse",
                "ExtensionNumberResponse",
                "FileDescriptorResponse",
            )
        }
        self.m = m

    def _not_found(self, request: Any) -> Message:
        return self.m["ServerReflectionResponse"](
            error_response=self.m["ErrorResponse"](
                error_code=Status.NOT_FOUND.value, error_message="not found"
            ),
            original_request=request,
        )

    def _files(self, request: Any, file: FileDescriptor) -> Message:
        seen: dict[str, FileDescriptor] = {}
        todo = [file]
        while todo:
            current = todo.pop()
            if current.name in seen:
                continue
            seen[current.name] = current
            todo.extend(current.dependencies)
        protos = []
        for each in seen.values():
            proto = descriptor_pb2.FileDescriptorProto()
            each.CopyToProto(proto)
            protos.append(proto.SerializeToString())
        return self.m["ServerReflectionResponse"](
            file_descriptor_response=self.m["FileDescriptorResponse"](file_descriptor_proto=protos),
            original_request=request,
        )

    def answer(self, request: Any) -> Message:
        kind = request.WhichOneof("message_request")
        pool = self.pool
        try:
            if kind == "list_services":
                return self.m["ServerReflectionResponse"](
                    list_services_response=self.m["ListServiceResponse"](
                        service=[self.m["ServiceResponse"](name=n) for n in self.names]
                    ),
                    original_request=request,
                )
            if kind == "file_by_filename":
                return self._files(request, pool.FindFileByName(request.file_by_filename))
            if kind == "file_containing_symbol":
                symbol = request.file_containing_symbol
                return self._files(request, pool.FindFileContainingSymbol(symbol))
            if kind == "file_containing_extension":
                ext = request.file_containing_extension
                message = pool.FindMessageTypeByName(ext.containing_type)
                extension = pool.FindExtensionByNumber(message, ext.extension_number)
                return self._files(request, pool.FindFileContainingSymbol(extension.full_name))
            if kind == "all_extension_numbers_of_type":
                message = pool.FindMessageTypeByName(request.all_extension_numbers_of_type)
                numbers = sorted(e.number for e in pool.FindAllExtensions(message))
                return self.m["ServerReflectionResponse"](
                    all_extension_numbers_response=self.m["ExtensionNumberResponse"](
                        base_type_name=message.full_name, extension_number=numbers
                    ),
                    original_request=request,
                )
        except KeyError:
            return self._not_found(request)
        return self.m["ServerReflectionResponse"](
            error_response=self.m["ErrorResponse"](
                error_code=Status.INVALID_ARGUMENT.value, error_message="invalid argument"
            ),
            original_request=request,
        )

    async def info(self, stream: Stream[Any, Any]) -> None:
        request_type = self.m["ServerReflectionRequest"]
        while (request := await receive(stream, request_type, OPEN_LIMIT)) is not None:
            await stream.send_message(self.answer(request))

    def __mapping__(self) -> dict[str, Handler]:
        return {
            f"/{self.service}/ServerReflectionInfo": Handler(
                self.info,
                Cardinality.STREAM_STREAM,
                self.m["ServerReflectionRequest"],
                self.m["ServerReflectionResponse"],
            )
        }
