"""Configuration mistakes said in words: the file, the line and the key, what is wrong and
what to do; never a traceback or a pydantic dump for a person's typo."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

from pydantic import ValidationError

FIX = (
    "fix the file, or give another with --config FILE (docs/production.md lists the keys) / "
    "corrija el archivo o indique otro con --config ARCHIVO (docs/production.md lista las claves)"
)


def _line_of(text: str, key: str) -> int | None:
    pattern = re.compile(rf"^\s*{re.escape(key)}\s*=")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return number
    return None


def explain(exc: Exception, env_prefix: str = "PUENTE_HUB_") -> str:
    """A readable message for a settings error (ValidationError or a TOML syntax error)."""
    config = os.environ.get(f"{env_prefix}CONFIG", "")
    path = Path(config) if config else None
    text = ""
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except OSError:
            text = ""
    where = str(path) if path else "(no file)"
    if isinstance(exc, tomllib.TOMLDecodeError):
        return f"{where}: not valid TOML / no es TOML válido: {exc}\n{FIX}"
    if not isinstance(exc, ValidationError):
        return f"{where}: {exc}\n{FIX}"
    lines = []
    for error in exc.errors():
        key = ".".join(str(part) for part in error["loc"])
        top = str(error["loc"][0]) if error["loc"] else key
        number = _line_of(text, top) if text else None
        if number is not None:
            place = f"{where}:{number}: {key}"
        else:
            place = f"{key} (environment {env_prefix}{top.upper()} or {where})"
        if error["type"] == "extra_forbidden":
            what = "unknown key / clave desconocida"
        else:
            what = f"{error['msg']} (got / se recibió {error.get('input')!r})"
        lines.append(f"{place}: {what}")
    return "\n".join(lines) + f"\n{FIX}"
