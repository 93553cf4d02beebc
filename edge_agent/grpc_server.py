"""The local gRPC server: every capability's service registered one way, health, reflection.

Served with grpclib (pure-Python HTTP/2 on asyncio), not grpcio's server: grpcio's C
extension alone maps ~15 MB resident and its server starts its own completion-queue
threads, which kept the idle agent above its 60 MB budget (docs/benchmarks.md). Native
station software keeps using any gRPC client (grpcio included): the wire protocol,
service, method and status names are the same.

How the capabilities' servicers are served: they stay what they were, synchronous
``Method(request, context)`` methods over blocking use cases (a fingerprint capture waits
for a finger, a signing job long-polls, a vitals stream blocks on a queue). Rewriting each
as an ``async def Method(stream)`` grpclib handler would put blocking device calls on the
event loop or wrap every one in ``run_in_executor`` by hand, seven times. Instead
:meth:`GrpcServer.add` reads the service's protobuf descriptor (``*_pb2.DESCRIPTOR``, the
contract in ``protos/``) and builds grpclib's handler mapping from it: for each method the
request and reply classes, the path ``/package.Service/Method`` and one asyncio handler
that reads the request (size-limited), runs the interceptors (the gate) and the servicer
method in a thread pool of :data:`MAX_WORKERS`, and sends the reply or each streamed item.
No generated grpclib stubs are needed: the descriptors say everything the stubs would.
:class:`ServicerContext` gives the servicer the part of grpcio's context the doors use
(``abort``, ``is_active``, ``add_callback``, ``send_initial_metadata``, ``cancel``,
``invocation_metadata``, ``time_remaining``); an abort becomes grpclib's ``GRPCError``, so
status codes and ``code: reason`` details reach the caller as before.

Why its own event loop thread and not uvicorn's: the two doors stay independent (a slow
HTTP route or uvicorn's shutdown never holds a gRPC call, and the reverse), ``start()``
returns once the port listens (the server is ready when ``AgentService.start`` returns),
and stopping one does not depend on the other's loop. The loop only frames HTTP/2; the
servicers run in the pool either way, so sharing a loop would save one idle thread and
nothing else.

Limits: a request message over :data:`MAX_RECEIVE_BYTES` (4 MiB, grpcio's default, kept)
is refused with ``RESOURCE_EXHAUSTED`` from its 5-byte length prefix, before its body is
read; HTTP/2 flow control (4 MiB windows) bounds what a client can push meanwhile, and
hpack bounds header lists (64 KiB). Compressed messages are refused (``UNIMPLEMENTED``).
Deadlines sent by the client (``grpc-timeout``) end the call with ``DEADLINE_EXCEEDED``;
the servicer then sees ``is_active()`` False and its callbacks run, as with grpcio.
Only unary requests are supported (every ``protos/`` method is unary or server-streaming);
a client-streaming method is refused when registered. Plain TCP on the loopback host, as
before (no TLS or Unix socket was configured on the grpcio server either).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import socket
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, NoReturn, Protocol

from google.protobuf.descriptor import MethodDescriptor, ServiceDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from grpclib.const import Cardinality, Handler, Status
from grpclib.encoding.proto import ProtoCodec
from grpclib.exceptions import GRPCError
from grpclib.server import Server, Stream

from edge_agent.container import Services
from edge_agent.grpc_builtin import (
    HEALTH,
    REFLECTION_V1,
    REFLECTION_V1ALPHA,
    Health,
    Reflection,
    receive,
)

log = logging.getLogger(__name__)

MAX_WORKERS = 32  # concurrent RecordEvent calls queue on the outbox together and share fsyncs
MAX_RECEIVE_BYTES = 4 * 1024 * 1024  # one request message (grpcio's default limit, kept)
_END = object()
_Metadata = tuple[tuple[str, str | bytes], ...]


class Registrar(Protocol):
    """A capability's ``grpc.register``: adds its servicers, returns their full service names."""

    def __call__(self, server: GrpcServer, services: Services, /) -> Sequence[str]: ...


Behavior = Callable[[Any, "ServicerContext"], Any]


@dataclass(frozen=True)
class CallDetails:
    """What an interceptor knows of a call before it runs: method path and metadata."""

    method: str  # "/puente.v1.Agent/RecordEvent"
    invocation_metadata: _Metadata
    server_streaming: bool


class Interceptor(Protocol):
    """Sees every call of a registered service (not health or reflection) before its servicer:
    returns the behaviour to run instead (wrapped, or one that aborts). Runs in the pool."""

    def intercept(self, details: CallDetails, behavior: Behavior) -> Behavior: ...


class ServicerContext:
    """One call as its servicer sees it: the subset of grpcio's ``ServicerContext`` used here.

    Thread-safe where grpcio's is: the servicer runs in the pool, ``cancel()`` may come from
    any thread (the actions board), the rest of the call lives on the server's loop.
    """

    def __init__(
        self,
        stream: Stream[Any, Any],
        loop: asyncio.AbstractEventLoop,
        pool: ThreadPoolExecutor,
        metadata: _Metadata,
    ) -> None:
        self._stream = stream
        self._loop = loop
        self._pool = pool
        self._metadata = metadata
        self._lock = threading.Lock()
        self._active = True
        self._callbacks: list[Callable[[], None]] = []
        self._cancelled: asyncio.Future[None] = loop.create_future()

    # -- what servicers call ---------------------------------------------------------------

    def abort(self, code: Status, details: str) -> NoReturn:
        """End the call with ``code`` and ``details`` (raises, as grpcio's does)."""
        raise GRPCError(code, details)

    def is_active(self) -> bool:
        return self._active

    def add_callback(self, callback: Callable[[], None]) -> bool:
        """Run ``callback`` when the call ends, however it ends; False if it already has."""
        with self._lock:
            if not self._active:
                return False
            self._callbacks.append(callback)
            return True

    def send_initial_metadata(self, metadata: Sequence[tuple[str, str]]) -> None:
        """Send the response headers now (from the servicer's thread)."""
        asyncio.run_coroutine_threadsafe(
            self._stream.send_initial_metadata(metadata=list(metadata)), self._loop
        ).result()

    def cancel(self) -> None:
        """End the call with CANCELLED now, from any thread; the servicer sees it inactive."""
        # RuntimeError: the server's loop is closed, so the call has ended already.
        with contextlib.suppress(RuntimeError):
            self._loop.call_soon_threadsafe(self._cancel_on_loop)

    def invocation_metadata(self) -> _Metadata:
        return self._metadata

    def time_remaining(self) -> float | None:
        deadline = self._stream.deadline
        return None if deadline is None else max(0.0, deadline.time_remaining())

    def peer(self) -> str:
        addr = self._stream.peer.addr()
        return f"ipv4:{addr[0]}:{addr[1]}" if addr else "unknown"

    # -- the server's side -----------------------------------------------------------------

    def _cancel_on_loop(self) -> None:
        if not self._cancelled.done():
            self._cancelled.set_result(None)
        self._terminate()

    def _terminate(self) -> None:
        with self._lock:
            if not self._active:
                return
            self._active = False
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            try:
                self._pool.submit(_run_callback, callback)
            except RuntimeError:  # the pool is shut down: the agent is stopping
                _run_callback(callback)


def _run_callback(callback: Callable[[], None]) -> None:
    try:
        callback()
    except Exception:
        log.exception("gRPC call-end callback failed")


def _retrieve(future: asyncio.Future[Any]) -> None:
    """Consume a step's outcome nobody waits for any more (the call already ended)."""
    if not future.cancelled():
        future.exception()


@dataclass
class _Method:
    path: str
    behavior: Behavior
    request_type: type[Message]
    server_streaming: bool


class _Service:
    """One protobuf service as grpclib serves it (its ``__mapping__``)."""

    def __init__(self, name: str, mapping: dict[str, Handler]) -> None:
        self.name = name
        self._mapping = mapping

    def __mapping__(self) -> dict[str, Handler]:
        return self._mapping


def _unimplemented(request: Any, context: ServicerContext) -> Any:
    context.abort(Status.UNIMPLEMENTED, "Method not implemented!")


class GrpcServer:
    """Every service added through :meth:`register` is listed by reflection and health."""

    def __init__(
        self,
        host: str,
        port: int,
        interceptors: Sequence[Interceptor] = (),
        *,
        max_receive_bytes: int = MAX_RECEIVE_BYTES,
        max_workers: int = MAX_WORKERS,
    ) -> None:
        # The gate (edge_agent.grpc_auth.GateInterceptor) sees every call before a servicer.
        self.interceptors = tuple(interceptors)
        self.max_receive_bytes = max_receive_bytes
        self.services: list[str] = []  # registered by the capabilities, in order
        self._handlers: list[_Service] = []
        self._pool = ThreadPoolExecutor(max_workers, thread_name_prefix="grpc")
        self._sock = _bind(host, port)
        self.port = int(self._sock.getsockname()[1])
        self.host = host
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._server: Server | None = None
        self._health: Health | None = None
        self._draining = False
        self._in_flight = 0
        self._idle: asyncio.Event | None = None

    # -- registration ----------------------------------------------------------------------

    def register(self, registrar: Registrar, services: Services) -> None:
        self.services.extend(registrar(self, services))

    def add(self, servicer: object, service: ServiceDescriptor) -> str:
        """Serve ``servicer``'s methods as ``service`` (from ``*_pb2.DESCRIPTOR``); its name."""
        mapping: dict[str, Handler] = {}
        for method in service.methods:
            if method.client_streaming:
                raise TypeError(
                    f"{method.full_name}: client-streaming methods are not served by this door"
                )
            path = f"/{service.full_name}/{method.name}"
            call = _Method(
                path,
                getattr(servicer, method.name, _unimplemented),
                GetMessageClass(method.input_type),
                method.server_streaming,
            )
            mapping[path] = Handler(
                self._handler(call),
                Cardinality.UNARY_STREAM if method.server_streaming else Cardinality.UNARY_UNARY,
                call.request_type,
                _reply_type(method),
            )
        self._handlers.append(_Service(service.full_name, mapping))
        return str(service.full_name)

    @property
    def reflected(self) -> tuple[str, ...]:
        return (*self.services, HEALTH, REFLECTION_V1ALPHA)

    # -- life cycle ------------------------------------------------------------------------

    def start(self, timeout_s: float = 10.0) -> None:
        """Start the loop thread; returns once the port accepts calls (health SERVING)."""
        loop = self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=loop.run_forever, name="grpc-loop", daemon=True)
        self._thread.start()
        asyncio.run_coroutine_threadsafe(self._start(), loop).result(timeout_s)

    async def _start(self) -> None:
        self._idle = asyncio.Event()
        self._health = Health(self.services)
        names = self.reflected
        handlers: list[Any] = [
            *self._handlers,
            self._health,
            Reflection(REFLECTION_V1ALPHA, names),
            Reflection(REFLECTION_V1, names),
        ]
        # codec given: grpclib then does not look for googleapis' rich status details.
        self._server = Server(handlers, codec=ProtoCodec())
        await self._server.start(sock=self._sock)
        await self._health.set_serving(True)

    def stop(self, grace_s: float = 2.0) -> None:
        """Health NOT_SERVING, new calls UNAVAILABLE, running ones get ``grace_s``, then
        cancelled (their servicers see ``is_active()`` False); the loop thread ends."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            self._sock.close()
            return
        try:
            asyncio.run_coroutine_threadsafe(self._stop(grace_s), loop).result(grace_s + 5)
        except Exception:
            log.exception("gRPC server did not stop cleanly")
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        if not thread.is_alive():
            loop.close()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._loop = self._thread = None

    async def _stop(self, grace_s: float) -> None:
        assert self._server is not None and self._idle is not None and self._health is not None
        await self._health.set_serving(False)  # watchers hear it before the doors close
        self._draining = True
        if self._in_flight:
            try:
                await asyncio.wait_for(self._idle.wait(), grace_s)
            except TimeoutError:
                log.warning("gRPC: %d calls still running after %.1f s", self._in_flight, grace_s)
        self._server.close()
        try:
            await asyncio.wait_for(self._server.wait_closed(), 2.0)
        except TimeoutError:
            log.warning("gRPC: connections still closing")

    # -- one call ------------------------------------------------------------------------

    def _handler(self, method: _Method) -> Callable[[Stream[Any, Any]], Any]:
        async def handle(stream: Stream[Any, Any]) -> None:
            await self._serve(stream, method)

        return handle

    async def _serve(self, stream: Stream[Any, Any], method: _Method) -> None:
        if self._draining:
            raise GRPCError(
                Status.UNAVAILABLE, "the agent is stopping / el agente se está deteniendo"
            )
        loop = asyncio.get_running_loop()
        metadata: _Metadata = tuple(stream.metadata.items()) if stream.metadata else ()
        context = ServicerContext(stream, loop, self._pool, metadata)
        call_vars = contextvars.copy_context()  # the whole call runs in one context
        iterator: Iterator[Any] | None = None
        last: asyncio.Future[Any] | None = None
        self._in_flight += 1

        async def step(fn: Callable[..., Any], *args: Any) -> Any:
            nonlocal last
            last = loop.run_in_executor(self._pool, call_vars.run, fn, *args)
            done, _ = await asyncio.wait(
                {last, context._cancelled}, return_when=asyncio.FIRST_COMPLETED
            )
            if last in done:
                return last.result()
            raise GRPCError(Status.CANCELLED, "cancelled at the station / cancelada en la estación")

        try:
            request = await receive(stream, method.request_type, self.max_receive_bytes)
            if request is None:
                raise GRPCError(Status.INTERNAL, "no request message / falta el mensaje")
            details = CallDetails(method.path, metadata, method.server_streaming)
            behavior = method.behavior
            for interceptor in reversed(self.interceptors):  # the first one runs first
                behavior = _intercepted(interceptor, details, behavior)
            if not method.server_streaming:
                reply = await step(behavior, request, context)
                await stream.send_message(reply)
                return
            iterator = await step(_start_stream, behavior, request, context)
            while True:
                item = await step(_advance, iterator, context)
                if item is _END:
                    iterator = None  # ended (or closed) in its own thread
                    return
                await stream.send_message(item)
        finally:
            context._terminate()
            if last is not None and not last.done():
                last.add_done_callback(_retrieve)
            if iterator is not None:
                self._close_later(call_vars, iterator, last)
            self._in_flight -= 1
            if self._draining and not self._in_flight and self._idle is not None:
                self._idle.set()

    def _close_later(
        self,
        call_vars: contextvars.Context,
        iterator: Iterator[Any],
        running: asyncio.Future[Any] | None,
    ) -> None:
        """Close a stream's generator (its ``finally`` runs) once no step of it runs."""

        def close() -> None:
            close_fn = getattr(iterator, "close", None)
            if close_fn is not None:
                try:
                    call_vars.run(close_fn)
                except Exception:
                    log.exception("gRPC stream did not close cleanly")

        def submit(_: object = None) -> None:
            try:
                self._pool.submit(close)
            except RuntimeError:
                close()

        if running is None or running.done():
            submit()
        else:
            running.add_done_callback(submit)


def _intercepted(interceptor: Interceptor, details: CallDetails, behavior: Behavior) -> Behavior:
    """The interceptor runs when the call does (in the pool: the gate reads SQLite)."""

    def run(request: Any, context: ServicerContext) -> Any:
        return interceptor.intercept(details, behavior)(request, context)

    return run


def _start_stream(behavior: Behavior, request: Any, context: ServicerContext) -> Iterator[Any]:
    return iter(behavior(request, context))


def _advance(iterator: Iterator[Any], context: ServicerContext) -> Any:
    try:
        item = next(iterator)
    except StopIteration:
        return _END
    if not context.is_active():
        close = getattr(iterator, "close", None)
        if close is not None:
            close()
        return _END
    return item


def _reply_type(method: MethodDescriptor) -> type[Message]:
    return GetMessageClass(method.output_type)


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise OSError(
            f"could not bind gRPC on {host}:{port} / no se pudo abrir gRPC: {exc}"
        ) from exc
    sock.setblocking(False)
    return sock
