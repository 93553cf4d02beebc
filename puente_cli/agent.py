"""The agent's service process: ``python -m puente_cli.agent`` (console script ``puente-agent``).

This is what runs for the life of a station: argparse, not typer, so the resident
process never holds typer, click or rich (≈ 3 MB of a ~60 MB budget, and their import
time before the local API answers). ``puente agent`` with no sub-command parses its
options with typer and then ``os.execv``\\ s this module in the same process (same pid,
so a supervisor or a script that waits on it sees no difference). The systemd unit names
this module directly (docs/production.md).

Options are the ``puente`` command's: ``--config`` (else ``PUENTE_AGENT_CONFIG``),
``--log-level`` (else ``PUENTE_LOG_LEVEL``, default ``INFO``; the configuration's
``log_level`` then applies) and ``--log-human`` (else ``PUENTE_LOG_HUMAN``).
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
from collections.abc import Sequence
from pathlib import Path

DESCRIPTION = (
    "Run the station's edge agent until SIGTERM or SIGINT. / "
    "Ejecuta el agente de la estación hasta SIGTERM o SIGINT."
)
_TRUE = {"1", "true", "yes", "on"}


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="puente-agent", description=DESCRIPTION)
    p.add_argument(
        "--config",
        type=Path,
        default=None,
        help="Agent TOML file (else PUENTE_AGENT_CONFIG) / Archivo TOML del agente.",
    )
    p.add_argument(
        "--log-level",
        default=os.environ.get("PUENTE_LOG_LEVEL", "INFO"),
        help="Logging level until the configuration is read / Nivel de registro inicial.",
    )
    p.add_argument(
        "--log-human",
        action="store_true",
        default=os.environ.get("PUENTE_LOG_HUMAN", "").lower() in _TRUE,
        help="Readable log lines, not JSON / Líneas de registro legibles, no JSON.",
    )
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    from puente_cli.logs import configure

    configure(args.log_level, human=args.log_human)
    if args.config is not None:
        if not args.config.exists():
            print(
                f"configuration file not found / no existe el archivo de configuración: "
                f"{args.config}",
                file=sys.stderr,
            )
            return 2
        os.environ["PUENTE_AGENT_CONFIG"] = str(args.config)

    from pydantic import ValidationError

    from edge_agent.settings import AgentSettings

    try:
        settings = AgentSettings()  # the fields come from the environment and the TOML file
    except ValidationError as exc:
        print(f"invalid configuration / configuración no válida:\n{exc}", file=sys.stderr)
        return 2
    logging.getLogger().setLevel(settings.log_level.upper())

    from edge_agent.service import AgentService

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    agent = AgentService(settings)
    agent.start()
    agent.wait_ready()
    print(
        f"agent {settings.station_id} running / agente en marcha: "
        f"http {agent.http_url}  grpc {agent.grpc_target}",
        flush=True,
    )
    try:
        stop.wait()
    finally:
        agent.stop()
        print("agent stopped / agente detenido", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
