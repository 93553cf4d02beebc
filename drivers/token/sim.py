"""SoftHSM2 as the simulated token: a real PKCS#11 library with tokens made and keys imported here.

SoftHSM2 keeps each token in a directory under its ``tokendir``; moving that
directory away and back is how tests pull the token out and plug it in.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

from cryptography.hazmat.primitives import serialization

MODULE_CANDIDATES = (
    "/usr/lib/softhsm/libsofthsm2.so",
    "/usr/lib/x86_64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/lib/aarch64-linux-gnu/softhsm/libsofthsm2.so",
    "/usr/local/lib/softhsm/libsofthsm2.so",
)
SO_PIN = "12345678"


def softhsm_module() -> str | None:
    for path in MODULE_CANDIDATES:
        if os.path.exists(path):
            return path
    return None


class SoftHsm:
    """One SoftHSM2 configuration (its own token directory), set through SOFTHSM2_CONF."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.tokendir = root / "tokens"
        self.conf = root / "softhsm2.conf"
        self.module = softhsm_module()
        if self.module is None:
            raise RuntimeError("SoftHSM2 is not installed (apt-get install softhsm2)")
        self.tokendir.mkdir(parents=True, exist_ok=True)
        self.conf.write_text(
            f"directories.tokendir = {self.tokendir}\nobjectstore.backend = file\n"
            "log.level = ERROR\nslots.removable = true\n"
        )

    def activate(self) -> None:
        """Point this process (and its children) at this configuration."""
        os.environ["SOFTHSM2_CONF"] = str(self.conf)

    def _util(self, *args: str) -> str:
        env = dict(os.environ, SOFTHSM2_CONF=str(self.conf))
        done = subprocess.run(
            ["softhsm2-util", *args], env=env, capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise RuntimeError(f"softhsm2-util {args[0]} failed: {done.stderr or done.stdout}")
        return done.stdout

    def init_token(self, label: str, pin: str) -> None:
        self._util("--init-token", "--free", "--label", label, "--so-pin", SO_PIN, "--pin", pin)

    def import_key(self, label: str, pin: str, key_pem: bytes, key_id: str, key_label: str) -> None:
        """Import a private key (any PEM) as a token object with CKA_ID ``key_id`` (hex)."""
        key = serialization.load_pem_private_key(key_pem, password=None)
        pkcs8 = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        path = self.root / f"{label}-{key_id}.p8"
        path.write_bytes(pkcs8)
        try:
            self._util(
                "--import", str(path), "--token", label, "--label", key_label,
                "--id", key_id, "--pin", pin,
            )  # fmt: skip
        finally:
            path.unlink()

    def import_certificate(
        self, label: str, pin: str, cert_der: bytes, key_id: str, cert_label: str
    ) -> None:
        """Store a certificate object next to the key of the same CKA_ID (pkcs11-tool)."""
        path = self.root / f"{label}-{key_id}.der"
        path.write_bytes(cert_der)
        env = dict(os.environ, SOFTHSM2_CONF=str(self.conf))
        try:
            done = subprocess.run(
                [
                    "pkcs11-tool", "--module", str(self.module), "--token-label", label,
                    "--login", "--pin", pin, "--write-object", str(path), "--type", "cert",
                    "--id", key_id, "--label", cert_label,
                ],
                env=env, capture_output=True, text=True, check=False,
            )  # fmt: skip
        finally:
            path.unlink()
        if done.returncode != 0:
            raise RuntimeError(f"pkcs11-tool --write-object failed: {done.stderr}")

    def token_dirs(self) -> list[Path]:
        return sorted(p for p in self.tokendir.iterdir() if p.is_dir())

    def unplug(self) -> Path:
        """Move every token directory away (the token is pulled out); returns where they went."""
        away = self.root / "unplugged"
        away.mkdir(exist_ok=True)
        for path in self.token_dirs():
            shutil.move(str(path), away / path.name)
        return away

    def unplug_at(self, stage: str) -> Callable[[str], None]:
        """A one-shot ``stage_hook`` for the PKCS#11 driver: unplug when it reaches ``stage``
        (``logged_in``: right after C_Login; ``signing``: right before C_Sign)."""
        fired: list[str] = []

        def hook(at: str) -> None:
            if at == stage and not fired:
                fired.append(at)
                self.unplug()

        return hook

    def plug(self) -> None:
        """Put back what :meth:`unplug` moved away."""
        away = self.root / "unplugged"
        for path in sorted(away.iterdir()):
            shutil.move(str(path), self.tokendir / path.name)
