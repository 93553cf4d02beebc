"""The gRPC door's gate: app credentials, the caller's identity, and the station's actions board.

Why a pairing credential and not Unix-socket peer credentials (SO_PEERCRED): the door
listens on loopback TCP, whose peers have no uid, the agent also runs on Windows clinic
PCs where there are no Unix sockets, and a uid says which OS user runs a program,
not which program it is. So a local application pairs like a web origin does: it
asks with its name (``puente.v1.AppPairing``), the person at the PC compares the
code and approves on the agent's page with the station operator PIN, and the app
receives a token once, which it keeps in a file only its OS user can read (0600,
:func:`AppCredential.save`). Every call then carries ``x-puente-app`` and
``x-puente-token``; only the token's SHA-256 is kept by the agent. Ops can also
issue one at the station (``puente agent app-credential``).

:class:`GateInterceptor` refuses any call without a valid pair (UNAUTHENTICATED,
audited), except health, reflection and AppPairing itself. For an admitted call
it records who called (:func:`current_app`), and every action that is not a
read (``Get*``, ``List*``, ``Watch*``) is listed on the actions board with the
authenticated app name, where the person can refuse it: the RPC is cancelled and
its device action too.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from grpclib.const import Status

from edge_agent.audit import AuditLog
from edge_agent.capabilities.activity.service import Activity, ActivityBoard
from edge_agent.capabilities.pairing.grpc import SERVICE_NAME as PAIRING_SERVICE
from edge_agent.capabilities.pairing.service import APP_PREFIX, PairingStore, app_key
from edge_agent.errors import AgentError
from edge_agent.grpc_errors import to_grpc
from edge_agent.grpc_server import Behavior, CallDetails, ServicerContext

APP_HEADER, TOKEN_HEADER = "x-puente-app", "x-puente-token"
OPEN_SERVICES = (
    "/grpc.health.v1.Health/",
    "/grpc.reflection.v1alpha.ServerReflection/",
    "/grpc.reflection.v1.ServerReflection/",
    f"/{PAIRING_SERVICE}/",
)
READS = ("Get", "List", "Watch")

_caller: contextvars.ContextVar[str | None] = contextvars.ContextVar("grpc_app", default=None)


def current_app() -> str | None:
    """The authenticated app name of the gRPC call being served (None: unauthenticated)."""
    return _caller.get()


def board_origin(app_name: str) -> str:
    """How the actions board and the consent page name an authenticated app."""
    return APP_PREFIX + app_name


# -- the application's side ------------------------------------------------------------------


@dataclass(frozen=True)
class AppCredential:
    app_name: str
    token: str

    def metadata(self) -> tuple[tuple[str, str], ...]:
        return ((APP_HEADER, self.app_name), (TOKEN_HEADER, self.token))

    def __repr__(self) -> str:  # never print the token
        return f"AppCredential({self.app_name!r}, token=***)"

    def save(self, path: Path) -> None:
        """Keep it readable only by the OS user running the app (0600, whatever the umask)."""
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        try:
            os.fchmod(fd, 0o600)
            os.write(fd, f"{self.app_name}\n{self.token}\n".encode())
        finally:
            os.close(fd)

    @classmethod
    def load(cls, path: Path) -> AppCredential:
        name, token = path.read_text().splitlines()[:2]
        return cls(name, token)


def default_credential_path(app_name: str) -> Path:
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "puente" / "apps" / f"{app_name}.credential"


def authenticated_channel(target: str, credential: AppCredential) -> Any:
    """A loopback ``grpc.Channel`` whose every call carries the app's credential (grpcio's
    client, loaded by this call: see :mod:`edge_agent.grpc_client`)."""
    from edge_agent.grpc_client import authenticated_channel as channel

    return channel(target, credential)


def pair_app(
    target: str,
    app_name: str,
    show_code: Callable[[str, str], None],
    timeout_s: float = 120.0,
    poll_s: float = 0.5,
) -> AppCredential:
    """Ask to pair, show the code (``show_code(code, approve_at)``), wait for the person."""
    from edge_agent.grpc_client import pair_app as pair

    return pair(target, app_name, show_code, timeout_s, poll_s)


# -- the agent's side ------------------------------------------------------------------------


def _case_of(request: Any) -> tuple[str, str]:
    source = getattr(request, "event", None) if hasattr(request, "event") else request
    return str(getattr(source, "case_id", "")), str(getattr(source, "patient_id", ""))


class GateInterceptor:
    """Authenticates every call but the open ones; lists actions on the board."""

    def __init__(
        self,
        pairings: PairingStore,
        board: ActivityBoard,
        audit: AuditLog | None = None,
        cancels: dict[str, Callable[[Any], None]] | None = None,
    ) -> None:
        self.pairings = pairings
        self.board = board
        self.audit = audit
        # method name ("Enroll") -> how to stop its device action, given the request
        self.cancels = cancels or {}

    def intercept(self, details: CallDetails, behavior: Behavior) -> Behavior:
        method = details.method
        streaming = details.server_streaming
        if method.startswith(OPEN_SERVICES):
            return _as_caller(None, behavior, streaming)
        metadata = dict(details.invocation_metadata)
        app_name = str(metadata.get(APP_HEADER, ""))
        token = metadata.get(TOKEN_HEADER)
        try:
            key = app_key(app_name)
        except ValueError:
            key = ""
        if not key or not self.pairings.check(key, str(token) if token else None):
            if self.audit is not None:
                self.audit.record("grpc_unauthenticated", method=method, app=app_name[:64] or None)
            return _deny
        name = method.rsplit("/", 1)[-1]
        if name.startswith(READS):
            return _as_caller(app_name, behavior, streaming)
        return self._tracked(app_name, method, name, behavior, streaming)

    def _tracked(
        self, app_name: str, method: str, name: str, behavior: Behavior, streaming: bool
    ) -> Behavior:
        action = method.strip("/").replace("puente.v1.", "grpc ")
        cancel_device = self.cancels.get(name)

        def begin(request: Any, context: ServicerContext) -> Activity:
            case_id, patient_id = _case_of(request)

            def cancel() -> None:
                if cancel_device is not None:
                    with contextlib.suppress(Exception):  # the device may be gone
                        cancel_device(request)
                context.cancel()

            return self.board.begin(
                board_origin(app_name), action, case_id, patient_id, cancel=cancel
            )

        def unary(request: Any, context: ServicerContext) -> Any:
            _caller.set(app_name)
            activity = begin(request, context)
            try:
                result = behavior(request, context)
            except BaseException:
                self.board.end(activity, "failed")
                raise
            self.board.end(activity, "done")
            if activity.refused:
                context.abort(*to_grpc(_refused()))
            return result

        def stream(request: Any, context: ServicerContext) -> Iterator[Any]:
            _caller.set(app_name)
            activity = begin(request, context)
            state = "failed"
            try:
                yield from behavior(request, context)
                state = "done"
            finally:
                self.board.end(activity, state)

        return stream if streaming else unary


def _refused() -> AgentError:
    from edge_agent.capabilities.activity.service import RefusedAtStation

    err = RefusedAtStation()
    err.grpc_status = "ABORTED"
    return err


def _as_caller(app_name: str | None, behavior: Behavior, streaming: bool) -> Behavior:
    if streaming:

        def stream(request: Any, context: ServicerContext) -> Iterator[Any]:
            _caller.set(app_name)
            yield from behavior(request, context)

        return stream

    def unary(request: Any, context: ServicerContext) -> Any:
        _caller.set(app_name)
        return behavior(request, context)

    return unary


_UNAUTHENTICATED = (
    "unauthenticated: send x-puente-app and x-puente-token of an application paired at this "
    "station (puente.v1.AppPairing) / no autenticado: envíe x-puente-app y x-puente-token de "
    "una aplicación emparejada en esta estación"
)


def _deny(request: Any, context: ServicerContext) -> Any:
    context.abort(Status.UNAUTHENTICATED, _UNAUTHENTICATED)
