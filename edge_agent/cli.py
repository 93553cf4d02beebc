"""The ``puente agent`` command: run the agent until SIGTERM/SIGINT, or show its status."""

from __future__ import annotations

import os
import sys
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from pydantic import ValidationError

from edge_agent.settings import AgentSettings

if TYPE_CHECKING:
    from rich.console import Console

app = typer.Typer(
    help="The station's edge agent / El agente de la estación.", no_args_is_help=False
)


@cache
def _console() -> Console:
    """rich is imported when a command prints with it, not by a running agent."""
    from rich.console import Console

    return Console()


ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", help="Agent TOML file / Archivo TOML del agente.", exists=True),
]


def _settings(config: Path | None) -> AgentSettings:
    if config is not None:
        os.environ["PUENTE_AGENT_CONFIG"] = str(config)
    try:
        return AgentSettings()  # the fields come from the environment and the TOML file
    except ValidationError as exc:
        _console().print(f"[red]invalid configuration / configuración no válida:[/red]\n{exc}")
        raise typer.Exit(2) from exc


# The long-running agent process (puente_cli/agent.py): argparse, no typer/click/rich.
SERVICE_MODULE = "puente_cli.agent"


@app.callback(invoke_without_command=True)
def main(ctx: typer.Context, config: ConfigOption = None) -> None:
    """Run the agent until SIGTERM or SIGINT / Ejecuta el agente hasta SIGTERM o SIGINT.

    The options are parsed here, then this process becomes ``python -m puente_cli.agent``
    (``os.execv``: same pid, signals and exit status), so the agent that runs for the
    station's life does not keep typer, click and rich in memory. The ``puente`` command's
    ``--log-level``/``--log-human`` reach it through ``PUENTE_LOG_LEVEL``/``PUENTE_LOG_HUMAN``.
    """
    if config is not None:
        os.environ["PUENTE_AGENT_CONFIG"] = str(config)
    if ctx.invoked_subcommand is not None:
        return
    argv = [sys.executable, "-m", SERVICE_MODULE]
    if config is not None:
        argv += ["--config", str(config)]
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os.execv(sys.executable, argv)


@app.command()
def status(config: ConfigOption = None) -> None:
    """Show the running agent's status / Muestra el estado del agente."""
    import httpx
    from rich.table import Table

    settings = _settings(config)
    host = f"[{settings.http_host}]" if ":" in settings.http_host else settings.http_host
    url = f"http://{host}:{settings.http_port}/v1/status"
    try:
        data: dict[str, Any] = httpx.get(url, timeout=5).raise_for_status().json()
    except httpx.HTTPError as exc:
        _console().print(f"[red]agent not reachable at {url} / agente no disponible:[/red] {exc}")
        raise typer.Exit(1) from exc
    summary = Table(title=f"Station / Estación {data['station_id']} ({data['unit_id']})")
    summary.add_column("")
    summary.add_column("")
    ob, link = data["outbox"], data["link"]
    summary.add_row("version / versión", data["version"])
    summary.add_row(
        "outbox / bandeja", f"{ob['depth']} events, {ob['bytes']} B / {ob['limit_bytes']} B"
    )
    summary.add_row("oldest / más antiguo", f"{ob['oldest_age_ms']} ms")
    summary.add_row(
        "link / enlace",
        f"{'connected / conectado' if link['connected'] else 'offline / desconectado'} "
        f"{link['broker']}",
    )
    summary.add_row("in flight / en vuelo", str(link["in_flight"]))
    summary.add_row("last receipt / último acuse", str(link["last_receipt_at"] or "-"))
    summary.add_row("reconnects / reconexiones", str(link["reconnects"]))
    _console().print(summary)
    devices = Table(title="Devices / Dispositivos")
    for col in ("device", "driver", "state / estado", "model / modelo", "detail / detalle"):
        devices.add_column(col)
    for d in data["devices"]:
        devices.add_row(d["device_id"], d["driver"], d["state"], d["model"], d["detail"])
    _console().print(devices)


@app.command()
def identity(config: ConfigOption = None) -> None:
    """Print the station's public key for registration at the hub.

    Imprime la clave pública de la estación para registrarla en el hub.
    """
    from edge_agent.identity import StationIdentity

    settings = _settings(config)
    station = StationIdentity.load_or_create(
        settings.data_dir, settings.tls_key_file, settings.tls_cert_file
    )
    typer.echo(station.public_key_pem, nl=False)


@app.command()
def enroll(
    hub: Annotated[str, typer.Option("--hub", help="Hub URL / URL del hub")],
    code: Annotated[str, typer.Option("--code", help="Enrollment code / Código de inscripción")],
    data_dir: Annotated[
        Path, typer.Option("--data-dir", help="Agent data dir / Directorio de datos")
    ] = Path("puente-data/agent"),
    config_out: Annotated[
        Path, typer.Option("--config-out", help="Agent TOML to write / TOML a escribir")
    ] = Path("agent.toml"),
    hub_ca: Annotated[
        Path | None, typer.Option("--hub-ca", help="CA of the hub's HTTPS / CA del hub")
    ] = None,
    http_port: Annotated[int | None, typer.Option("--http-port")] = None,
    grpc_port: Annotated[int | None, typer.Option("--grpc-port")] = None,
) -> None:
    """Enroll this PC as a station (the key never leaves it).

    Inscribe esta PC como estación (la clave privada no sale de ella).
    """
    from edge_agent.enroll import EnrollmentError
    from edge_agent.enroll import enroll as do_enroll

    extra = {k: v for k, v in (("http_port", http_port), ("grpc_port", grpc_port)) if v is not None}
    try:
        done = do_enroll(hub, code, data_dir, config_out, hub_ca, extra)
    except EnrollmentError as exc:
        _console().print(
            f"[red]enrollment refused / inscripción rechazada ({exc.code}):[/red] {exc.reason}"
        )
        raise typer.Exit(1) from exc
    _console().print(
        f"enrolled / inscrita: station {done.station_id} (unit {done.unit_id}), broker "
        f"{done.broker_url}, certificate valid until / vigente hasta {done.certificate_not_after}; "
        f"config {done.config_file}"
    )


@app.command("operator-pin")
def operator_pin(
    config: ConfigOption = None,
    from_stdin: Annotated[
        bool, typer.Option("--stdin", help="Read the PIN from stdin / Leer el PIN de stdin")
    ] = False,
    operator: Annotated[
        str,
        typer.Option(
            "--operator",
            help="Whose PIN (each person has their own) / De quién es el PIN (uno por persona)",
        ),
    ] = "station",
    remove: Annotated[
        bool, typer.Option("--remove", help="Remove that operator / Quitar ese operador")
    ] = False,
    list_: Annotated[
        bool, typer.Option("--list", help="List the operators / Listar los operadores")
    ] = False,
) -> None:
    """Set an operator's PIN, asked before a consent no program may give.

    Define el PIN personal de un operador, pedido antes de una autorización.
    """
    from edge_agent.operator_pin import (
        FILE_NAME,
        OperatorPin,
        check_new_pin,
        check_operator,
    )

    settings = _settings(config)
    pins = OperatorPin(settings.data_dir / FILE_NAME)
    if list_:
        for name in pins.operators():
            _console().print(name)
        return
    try:
        check_operator(operator)
    except ValueError as exc:
        _console().print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    if remove:
        if not pins.remove(operator):
            _console().print(
                f"[red]no operator {operator} / no existe el operador {operator}[/red]"
            )
            raise typer.Exit(1)
        _console().print(f"operator {operator} removed / operador {operator} quitado")
        return
    if from_stdin:
        pin = sys.stdin.readline().rstrip("\n")
    else:
        pin = typer.prompt(
            "New operator PIN / Nuevo PIN del operador", hide_input=True, confirmation_prompt=True
        )
    try:
        check_new_pin(pin)
    except ValueError as exc:
        _console().print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    pins.set(pin, operator)
    del pin
    _console().print(
        f"PIN of operator {operator} set / PIN del operador {operator} definido "
        "(restart not needed / sin reinicio)"
    )


@app.command("app-credential")
def app_credential(
    app_name: Annotated[str, typer.Argument(help="The application's name / Nombre de la app")],
    out: Annotated[
        Path, typer.Option("--out", help="Credential file to write (0600) / Archivo a escribir")
    ],
    config: ConfigOption = None,
) -> None:
    """Issue a gRPC credential for a local application, at the station (ops).

    Emite una credencial gRPC para una aplicación local, en la estación (ops).
    """
    from edge_agent.capabilities.pairing.service import PairingStore, app_key
    from edge_agent.grpc_auth import AppCredential

    settings = _settings(config)
    try:
        key = app_key(app_name)
    except ValueError as exc:
        _console().print(f"[red]{exc}[/red]")
        raise typer.Exit(2) from exc
    store = PairingStore(settings.data_dir / "pairings.sqlite3")
    try:
        token = store.issue(key)
    finally:
        store.close()
    AppCredential(app_name, token).save(out)
    _console().print(f"credential for {app_name} written to / credencial escrita en {out} (0600)")


if __name__ == "__main__":
    app()
