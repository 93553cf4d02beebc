"""The ``puente`` console script: ``puente demo``, ``puente hub ...``, ``puente agent ...``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer
from typer.core import TyperGroup

from edge_agent.cli import app as agent_app

HUB_HELP = "Run and administer the hub. / Ejecutar y administrar el hub."


class _Commands(TyperGroup):
    """``puente hub ...`` is loaded when it is named (or listed by ``--help``), so a
    ``puente agent`` process does not import the hub's settings, storage and CLI."""

    def list_commands(self, ctx: Any) -> list[str]:
        names = list(super().list_commands(ctx))
        if "hub" not in names:
            names.insert(names.index("agent") if "agent" in names else len(names), "hub")
        return names

    def get_command(self, ctx: Any, cmd_name: str) -> Any:
        if cmd_name == "hub" and "hub" not in self.commands:
            from hub.cli import app as hub_app

            group = typer.main.get_group(hub_app)
            group.name, group.help = "hub", HUB_HELP
            self.add_command(group, "hub")
        return super().get_command(ctx, cmd_name)


app = typer.Typer(
    cls=_Commands,
    help="Puente: clinical devices at the station → the patient's case at the hub. / "
    "Puente: dispositivos clínicos de la estación → el caso del paciente en el hub.",
    no_args_is_help=True,
    add_completion=False,
)


@app.callback()
def main(
    log_level: str = typer.Option("INFO", envvar="PUENTE_LOG_LEVEL", help="Logging level."),
    log_human: bool = typer.Option(
        False, "--log-human", envvar="PUENTE_LOG_HUMAN", help="Readable log lines, not JSON."
    ),
) -> None:
    """Configure logging once for whichever component runs."""
    import os

    from puente_cli.logs import configure

    # `puente agent` becomes `python -m puente_cli.agent` (os.execv), which reads these.
    os.environ["PUENTE_LOG_LEVEL"] = log_level
    os.environ["PUENTE_LOG_HUMAN"] = "1" if log_human else ""

    configure(log_level, human=log_human)


app.add_typer(
    agent_app,
    name="agent",
    help="Run the station's edge agent. / Ejecutar el agente de la estación.",
)


@app.command()
def demo(
    data_dir: Path = typer.Option(
        Path("puente-data/demo"), help="Where the demo keeps its files. / Carpeta de datos."
    ),
    hub_port: int = typer.Option(8470, help="Hub API port (0 = any free port)."),
    agent_port: int = typer.Option(8460, help="Agent local API port (0 = any free port)."),
    grpc_port: int = typer.Option(8461, help="Agent gRPC port (0 = any free port)."),
    broker_port: int = typer.Option(0, help="Embedded MQTT broker port (0 = any free port)."),
    exit_after_sample: bool = typer.Option(
        False,
        "--exit-after-sample",
        help="Stop once the sample case is on the hub (for scripts and CI). / "
        "Terminar cuando el caso de ejemplo esté en el hub.",
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show every log line."),
) -> None:
    """Hub, embedded broker and one agent with simulated devices, on this PC.

    Hub, broker embebido y un agente con dispositivos simulados, en esta PC.
    """
    try:
        from puente_cli.demo import run_demo
    except ModuleNotFoundError as exc:
        if exc.name is None or exc.name.split(".")[0] != "amqtt":
            raise
        typer.echo(
            "The demo's embedded MQTT broker (amqtt) is not installed: "
            "pip install 'puente[demo]', or run ./scripts/demo.\n"
            "El broker MQTT embebido de la demo (amqtt) no está instalado: "
            "pip install 'puente[demo]', o ejecute ./scripts/demo.",
            err=True,
        )
        raise typer.Exit(2) from None
    from puente_cli.logs import configure

    configure("INFO" if verbose else "WARNING", human=True)
    raise typer.Exit(
        run_demo(
            data_dir=data_dir,
            hub_port=hub_port,
            agent_port=agent_port,
            grpc_port=grpc_port,
            broker_port=broker_port,
            exit_after_sample=exit_after_sample,
        )
    )


if __name__ == "__main__":
    app()
