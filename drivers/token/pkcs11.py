"""PKCS#11 tokens through python-pkcs11: one worker thread owns the library and one session.

Every call (listing, signing, presence checks) runs on the worker thread, one
at a time, because PKCS#11 libraries share one login between sessions, log
every session out when one closes, and (SoftHSM among them) fail or crash
under concurrent sessions. Any session, handle or token error tears the
session down and re-initialises the library, which is also how a token put
back in is found again. The PIN passes through to C_Login and nowhere else:
it is not kept, logged or retried.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from datetime import UTC
from typing import Any, TypeVar

from drivers.base import DeviceHealth, DriverManifest, Health, Identity, Setting
from drivers.token.base import (
    FAMILY,
    CertificateInfo,
    KeyType,
    NoSuchCertificate,
    PinLocked,
    PinRequired,
    TokenAbsent,
    TokenError,
    TokenFailed,
    TokenInfo,
    WrongPin,
)

log = logging.getLogger(__name__)
T = TypeVar("T")

_KEY_USAGE_NAMES = (
    "digital_signature",
    "content_commitment",
    "key_encipherment",
    "data_encipherment",
    "key_agreement",
    "key_cert_sign",
    "crl_sign",
)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("ascii", "replace")
    return str(value).strip().rstrip("\0").strip()


def describe_certificate(der: bytes, token: TokenInfo, key_id: str, label: str) -> CertificateInfo:
    # cryptography is imported with the first certificate read, not with the driver: a
    # station whose reader is empty does not carry it.
    from cryptography import x509
    from cryptography.hazmat.primitives.asymmetric import ec

    cert = x509.load_der_x509_certificate(der)
    usage: tuple[str, ...] = ()
    try:
        ku = cert.extensions.get_extension_for_class(x509.KeyUsage).value
        usage = tuple(n for n in _KEY_USAGE_NAMES if getattr(ku, n))
    except x509.ExtensionNotFound:
        pass
    key_type = (
        KeyType.EC if isinstance(cert.public_key(), ec.EllipticCurvePublicKey) else KeyType.RSA
    )
    return CertificateInfo(
        token_serial=token.serial,
        token_label=token.label,
        key_id=key_id,
        label=label,
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial=format(cert.serial_number, "x"),
        not_before=cert.not_valid_before_utc.astimezone(UTC),
        not_after=cert.not_valid_after_utc.astimezone(UTC),
        key_usage=usage,
        key_type=key_type,
        der=der,
    )


class Pkcs11Tokens:
    """The tokens behind one PKCS#11 module (a driver of the ``token`` family).

    Options: ``module`` (path of the PKCS#11 .so), ``token_label`` (only this
    token; default: every initialised token), ``idle_s`` (how long a session
    stays logged in after a signature; 0 logs out at once), ``poll_s`` (presence
    check while idle).
    """

    family = FAMILY
    MANIFEST = DriverManifest(
        name="pkcs11",
        family="token",
        protocol="PKCS#11 (signing tokens and smart cards)",
        attach="usb",
        title="Signing token through its PKCS#11 module",
        reports=("signed_document",),
        settings=(
            Setting(
                "module",
                "str",
                required=True,
                pattern=r"^/[^\s]+$|^[A-Za-z]:\\[^\n]+$",
                en="path of the PKCS#11 module, e.g. /usr/lib/libeTPkcs11.so",
                es="ruta del módulo PKCS#11, p. ej. /usr/lib/libeTPkcs11.so",
            ),
            Setting(
                "token_label",
                "str",
                "",
                en="only the token with this label (empty: every token)",
                es="solo el token con esta etiqueta (vacío: todos)",
            ),
            Setting(
                "idle_s",
                "float",
                0.0,
                minimum=0,
                maximum=3600,
                en="seconds a session stays logged in after a signature",
                es="segundos que la sesión sigue abierta tras firmar",
            ),
            Setting(
                "poll_s",
                "float",
                1.0,
                minimum=0.05,
                maximum=60,
                en="presence check interval (s)",
                es="intervalo de comprobación de presencia (s)",
            ),
            Setting(
                "call_timeout_s",
                "float",
                60.0,
                minimum=1,
                maximum=600,
                en="longest PKCS#11 call (s)",
                es="llamada PKCS#11 más larga (s)",
            ),
        ),
    )

    def __init__(
        self,
        module: str,
        token_label: str | None = None,
        idle_s: float = 0.0,
        poll_s: float = 1.0,
        call_timeout_s: float = 60.0,
    ) -> None:
        self.module = module
        self.token_label = token_label
        self.idle_s = idle_s
        self.poll_s = poll_s
        self.call_timeout_s = call_timeout_s
        self._queue: queue.Queue[tuple[Callable[[], Any], Future[Any]] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        # Worker-thread state (touched only on the worker thread):
        self._lib: Any = None
        self._slots: dict[str, Any] = {}  # token serial -> pkcs11 Slot
        self._session: Any = None
        self._session_serial = ""
        self._logged_in = False
        self._last_used = 0.0
        # Shared snapshots (replaced whole, read from any thread):
        self._tokens: list[TokenInfo] = []
        self._certs: list[CertificateInfo] = []
        self._health = DeviceHealth(Health.DISCONNECTED, "token_absent", "no token yet")
        self.rebuilds = 0
        # Called on the worker thread at "logged_in" (after C_Login) and "signing" (right
        # before C_Sign): tests pull the token out at an exact point (SoftHsm.unplug_at).
        self.stage_hook: Callable[[str], None] | None = None

    # -- Device --------------------------------------------------------------------------
    def open(self) -> None:
        if self._thread is not None:
            return
        self._thread = threading.Thread(target=self._run, name="pkcs11", daemon=True)
        self._thread.start()
        self._call(self._rescan)

    def close(self) -> None:
        if self._thread is None:
            return
        self._queue.put(None)
        self._thread.join(10)
        self._thread = None

    def identify(self) -> Identity:
        tokens = [t for t in self._tokens if t.present]
        if not tokens:
            return Identity(model="PKCS#11", vendor="")
        t = tokens[0]
        return Identity(model=t.model, vendor=t.manufacturer, serial=t.serial)

    def health(self) -> DeviceHealth:
        return self._health

    # -- SigningToken --------------------------------------------------------------------
    def tokens(self) -> list[TokenInfo]:
        return list(self._tokens)

    def certificates(self) -> list[CertificateInfo]:
        return list(self._certs)

    def certificate(self, cert_id: str) -> CertificateInfo:
        for cert in self._certs:
            if cert.cert_id == cert_id:
                return cert
        if not any(t.present for t in self._tokens):
            raise TokenAbsent()
        raise NoSuchCertificate(
            f"no certificate {cert_id!r} on the connected tokens / "
            f"no hay un certificado {cert_id!r} en los tokens conectados"
        )

    def session_open(self, cert_id: str) -> bool:
        """True while a logged-in session of ``cert_id``'s token is in its idle window."""
        serial = cert_id.split(":", 1)[0]
        return (
            self._logged_in
            and self._session_serial == serial
            and time.monotonic() - self._last_used < self.idle_s
        )

    def sign(self, cert_id: str, data: bytes, pin: str | None) -> bytes:
        return self._call(lambda: self._sign(cert_id, data, pin))

    def logout(self) -> None:
        self._call(self._teardown_session)

    def refresh(self) -> None:
        """Re-read tokens and certificates now (re-initialises the library)."""
        self._call(self._rescan)

    # -- the worker ----------------------------------------------------------------------
    def _call(self, fn: Callable[[], T]) -> T:
        if self._thread is None:
            raise TokenFailed("the token driver is not open / el driver del token no está abierto")
        future: Future[T] = Future()
        self._queue.put((fn, future))
        return future.result(timeout=self.call_timeout_s)

    def _run(self) -> None:
        while True:
            try:
                item = self._queue.get(timeout=self.poll_s)
            except queue.Empty:
                self._tick()
                continue
            if item is None:
                break
            fn, future = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                future.set_result(fn())
            except BaseException as exc:
                future.set_exception(exc)
        self._teardown_session()
        if self._lib is not None:
            with contextlib.suppress(Exception):
                self._lib.finalize()

    def _tick(self) -> None:
        try:
            if self._logged_in and time.monotonic() - self._last_used >= self.idle_s:
                self._teardown_session()
            self._check_presence()
        except Exception:
            log.exception("token presence check failed")

    def _library(self) -> Any:
        if self._lib is None:
            import pkcs11

            self._lib = pkcs11.lib(self.module)
        return self._lib

    def _check_presence(self) -> None:
        """Present tokens still answer C_GetTokenInfo; absent ones make us re-scan."""
        if not self._slots:
            self._rescan()  # nothing known: maybe one was plugged in
            return
        for slot in self._slots.values():
            try:
                slot.get_token()
            except Exception:
                log.info("token gone from slot %s", slot.slot_id)
                self._rescan()
                return

    def _rescan(self) -> None:
        """Re-initialise the library and read tokens and certificates afresh."""
        self._teardown_session()
        lib = self._library()
        try:
            lib.reinitialize()
        except Exception as exc:
            self._set_absent("library_failed", f"C_Initialize failed: {type(exc).__name__}")
            return
        self.rebuilds += 1
        import pkcs11
        from pkcs11 import Attribute, ObjectClass, TokenFlag

        slots: dict[str, Any] = {}
        tokens: list[TokenInfo] = []
        certs: list[CertificateInfo] = []
        for slot in lib.get_slots(token_present=True):
            try:
                token = slot.get_token()
                if not token.flags & TokenFlag.TOKEN_INITIALIZED:
                    continue
                label = _text(token.label)
                if self.token_label and label != self.token_label:
                    continue
                info = TokenInfo(
                    slot_id=int(slot.slot_id),
                    label=label,
                    serial=_text(token.serial),
                    manufacturer=_text(token.manufacturer_id),
                    model=_text(token.model),
                    present=True,
                )
                with token.open() as session:
                    for obj in session.get_objects({Attribute.CLASS: ObjectClass.CERTIFICATE}):
                        try:
                            der = obj[Attribute.VALUE]
                            key_id = bytes(obj[Attribute.ID]).hex()
                            cert_label = _text(obj[Attribute.LABEL])
                            certs.append(describe_certificate(der, info, key_id, cert_label))
                        except (pkcs11.PKCS11Error, ValueError) as exc:
                            log.warning("skipping an unreadable certificate: %s", exc)
            except pkcs11.PKCS11Error as exc:
                log.warning("slot %s unreadable: %s", slot.slot_id, type(exc).__name__)
                continue
            slots[info.serial] = slot
            tokens.append(info)
        self._slots, self._tokens, self._certs = slots, tokens, certs
        if tokens:
            self._health = DeviceHealth(Health.CONNECTED)
        else:
            self._set_absent(
                "token_absent", "no token in any slot / no hay token en ninguna ranura"
            )

    def _set_absent(self, code: str, detail: str) -> None:
        self._slots, self._tokens, self._certs = {}, [], []
        self._health = DeviceHealth(Health.DISCONNECTED, code, detail)

    def _teardown_session(self) -> None:
        session, self._session = self._session, None
        self._logged_in, self._session_serial = False, ""
        if session is not None:
            with contextlib.suppress(Exception):
                session.close()  # closing the last session logs the token out

    def _sign(self, cert_id: str, data: bytes, pin: str | None) -> bytes:
        import pkcs11
        from pkcs11 import Attribute, Mechanism, ObjectClass

        cert = self.certificate(cert_id)
        slot = self._slots.get(cert.token_serial)
        if slot is None:
            raise TokenAbsent()
        try:
            if pin is not None or not self.session_open(cert_id):
                if pin is None:
                    raise PinRequired()
                self._teardown_session()
                token = slot.get_token()
                self._session = token.open(user_pin=pin)
                self._session_serial = cert.token_serial
                self._logged_in = True
                self._stage("logged_in")
            key = next(
                iter(
                    self._session.get_objects(
                        {
                            Attribute.CLASS: ObjectClass.PRIVATE_KEY,
                            Attribute.ID: bytes.fromhex(cert.key_id),
                        }
                    )
                ),
                None,
            )
            if key is None and not self._still_present(slot):
                raise pkcs11.TokenNotPresent("the token went away after login")
            if key is None:
                raise NoSuchCertificate(
                    f"no private key next to certificate {cert_id} / "
                    "no hay clave privada junto al certificado"
                )
            self._stage("signing")
            if cert.key_type is KeyType.EC:
                from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature

                raw = key.sign(hashlib.sha256(data).digest(), mechanism=Mechanism.ECDSA)
                half = len(raw) // 2
                signature = encode_dss_signature(
                    int.from_bytes(raw[:half], "big"), int.from_bytes(raw[half:], "big")
                )
            else:
                signature = key.sign(data, mechanism=Mechanism.SHA256_RSA_PKCS)
            self._last_used = time.monotonic()
            if self.idle_s <= 0:
                self._teardown_session()
            return bytes(signature)
        except TokenError:
            self._teardown_session()
            raise
        except pkcs11.PinIncorrect as exc:
            self._teardown_session()
            raise self._wrong_pin(slot) from exc
        except pkcs11.PinLocked as exc:
            self._teardown_session()
            raise PinLocked() from exc
        except (pkcs11.PinExpired, pkcs11.PinInvalid, pkcs11.PinLenRange) as exc:
            self._teardown_session()
            raise WrongPin(
                "the PIN is not valid for this token / el PIN no es válido para este token",
                code="pin_invalid",
            ) from exc
        except pkcs11.PKCS11Error as exc:
            # Session, handle, device or token trouble: rebuild, then say whether it is gone.
            log.warning("token error %s; rebuilding the session", type(exc).__name__)
            self._rescan()
            if cert.token_serial not in self._slots:
                raise TokenAbsent(
                    "the signing token was removed during the signature; nothing was signed. "
                    "Insert it and sign again / se retiró el token durante la firma; no se firmó "
                    "nada. Insértelo y firme de nuevo"
                ) from exc
            raise TokenFailed(
                f"the token failed ({type(exc).__name__}); try again / "
                "el token falló; intente de nuevo"
            ) from exc

    def _stage(self, stage: str) -> None:
        hook = self.stage_hook
        if hook is not None:
            hook(stage)

    @staticmethod
    def _still_present(slot: Any) -> bool:
        try:
            slot.get_token()
            return True
        except Exception:
            return False

    def _wrong_pin(self, slot: Any) -> WrongPin | PinLocked:
        from pkcs11 import TokenFlag

        try:
            flags = slot.get_token().flags
        except Exception:
            return WrongPin()
        if flags & TokenFlag.USER_PIN_LOCKED:
            return PinLocked()
        return WrongPin(
            tries_low=bool(flags & TokenFlag.USER_PIN_COUNT_LOW),
            final_try=bool(flags & TokenFlag.USER_PIN_FINAL_TRY),
        )
