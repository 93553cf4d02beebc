"""Command line of the hub: run it, mint and revoke API tokens, register stations."""

from __future__ import annotations

import logging
import os
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hub.ingest.timefmt import now_iso
from hub.settings import HubSettings, load
from hub.storage import open_store
from hub.storage.base import Conflict, NotFound, Store
from hub.tokens import Role, create_token
from provisioning.mosquitto import DEFAULT_PERSISTENCE_DIR

if TYPE_CHECKING:
    from hub.service import HubService

app = typer.Typer(
    help="Puente hub: ingest station events, serve cases / hub de Puente: recibe eventos, "
    "sirve casos.",
    no_args_is_help=False,
)
token_app = typer.Typer(help="API tokens / tokens de la API.", no_args_is_help=True)
station_app = typer.Typer(help="Stations / estaciones.", no_args_is_help=True)
app.add_typer(token_app, name="token")
app.add_typer(station_app, name="station")
user_app = typer.Typer(help="Console users / usuarios de la consola.", no_args_is_help=True)
app.add_typer(user_app, name="user")
quarantine_app = typer.Typer(
    help="Quarantined events: review and re-ingest / eventos en cuarentena: revisar y "
    "volver a ingerir.",
    no_args_is_help=True,
)
app.add_typer(quarantine_app, name="quarantine")

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Hub TOML configuration (sets PUENTE_HUB_CONFIG) / configuración TOML del hub.",
        exists=True,
        dir_okay=False,
    ),
]


def _settings(config: Path | None) -> HubSettings:
    import tomllib

    from pydantic import ValidationError

    from hub.config_errors import explain

    try:
        return load(config) if config is not None else load()
    except (ValidationError, tomllib.TOMLDecodeError) as exc:
        typer.echo(explain(exc), err=True)
        raise typer.Exit(2) from None


DEMO_HUB_DIR = Path("puente-data/demo/hub")  # `puente demo`'s default data dir, plus /hub


def _settings_for_data(config: Path | None) -> HubSettings:
    """The settings a data command acts on, said on stderr so nobody edits the wrong hub.

    Without --config or PUENTE_HUB_CONFIG, in the folder where `puente demo` ran (its hub's
    database is there and the default data dir has none), the command acts on the demo's hub.
    """
    settings = _settings(config)
    if config is None and not os.environ.get("PUENTE_HUB_CONFIG"):
        default_db = settings.database_path
        demo_db = DEMO_HUB_DIR / "hub.sqlite3"
        if (
            not default_db.exists()
            and demo_db.exists()
            and not os.environ.get("PUENTE_HUB_DATA_DIR")
        ):
            settings = settings.model_copy(update={"data_dir": DEMO_HUB_DIR})
            typer.echo(
                f"no --config: using the demo's hub in {DEMO_HUB_DIR.resolve()} / "
                f"sin --config: se usa el hub de la demo en {DEMO_HUB_DIR.resolve()}",
                err=True,
            )
            return settings
        if not default_db.exists():
            typer.echo(
                f"no --config: hub data directory {settings.data_dir.resolve()} (new, empty); "
                f"give --config to act on another hub / sin --config: carpeta de datos "
                f"{settings.data_dir.resolve()} (nueva, vacía); use --config para otro hub",
                err=True,
            )
    return settings


def _store(config: Path | None) -> Store:
    store = open_store(_settings_for_data(config))
    store.migrate()
    return store


def _add_registry() -> None:
    from hub.cli_registry import register

    register(app, _store)


_add_registry()


@app.callback(invoke_without_command=True)
def main(
    ctx: typer.Context,
    config: ConfigOption = None,
    role: Annotated[
        str | None,
        typer.Option(
            "--role",
            help="both | ingest | api: overrides the role key (ingest: worker, no HTTP; api: "
            "API and console, no MQTT subscription) / qué hace este proceso",
        ),
    ] = None,
) -> None:
    """Without a command: run the hub until SIGTERM or Ctrl-C."""
    if config is not None:
        os.environ["PUENTE_HUB_CONFIG"] = str(config)
    if role is not None:
        os.environ["PUENTE_HUB_ROLE"] = role  # beside the file's keys, said like them on error
    if ctx.invoked_subcommand is not None:
        return
    from hub.service import HubService  # the service pulls in uvicorn and paho

    settings = _settings(config)
    # The `puente` command installed the handler and its secret filter (puente_cli.logs).
    logging.getLogger().setLevel(settings.log_level.upper())
    service = HubService(settings)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    service.start()
    if settings.role == "ingest":
        typer.echo(
            f"hub ingest worker: /healthz and /metrics on {service.http_url} / "
            f"trabajador de ingesta: /healthz y /metrics en {service.http_url}"
        )
        threading.Thread(target=_say_subscribed, args=(service,), daemon=True).start()
    else:
        typer.echo(f"hub API on {service.http_url} / API del hub en {service.http_url}")
    done.wait()
    typer.echo("stopping / deteniendo")
    service.stop()


def _say_subscribed(service: HubService) -> None:
    """An ingest worker has no API: it says on stdout when it takes station events."""
    while True:
        try:
            service.wait_ready(30)
        except TimeoutError:
            continue  # the broker is away: the worker logs it and paho keeps retrying
        typer.echo(
            f"hub ingest worker subscribed at {service.settings.broker_url} / "
            "trabajador de ingesta suscrito",
        )
        return


@token_app.command("create")
def token_create(
    name: Annotated[str, typer.Option(help="Who uses it, e.g. medi-igss / quién lo usa.")],
    role: Annotated[Role, typer.Option(help="clinical | ops | readonly")],
    config: ConfigOption = None,
) -> None:
    """Mint a token; it is printed once and only its SHA-256 is kept."""
    store = _store(config)
    try:
        token = create_token(store, name, role)
    finally:
        store.close()
    typer.echo(token)
    typer.echo(
        f"token for {name} ({role.value}): shown only now / token para {name}: se muestra solo "
        "ahora",
        err=True,
    )


@token_app.command("revoke")
def token_revoke(
    name: Annotated[str, typer.Option(help="Token name / nombre del token.")],
    config: ConfigOption = None,
) -> None:
    """Revoke every active token of that name."""
    store = _store(config)
    try:
        count = store.revoke_tokens(name, now_iso())
    finally:
        store.close()
    if count == 0:
        typer.echo(f"no active token named {name} / no hay token activo llamado {name}", err=True)
        raise typer.Exit(1)
    typer.echo(f"revoked {count} token(s) of {name} / revocados {count} token(s) de {name}")


@station_app.command("add")
def station_add(
    station: Annotated[str, typer.Option("--station", help="Station id / id de estación.")],
    unit: Annotated[str, typer.Option("--unit", help="Unit id / id de unidad médica.")],
    config: ConfigOption = None,
) -> None:
    """Register a station so that the hub accepts its events."""
    from protos.topics import TopicError, check_id

    store = _store(config)
    try:
        check_id("station", station)
        check_id("unit", unit)
        _, created = store.register_station(station, unit, now_iso())
    except (TopicError, Conflict, NotFound) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    finally:
        store.close()
    verb = "registered / registrada" if created else "already registered / ya registrada"
    typer.echo(f"station {station} (unit {unit}): {verb}")


@app.command("migrate")
def migrate(config: ConfigOption = None) -> None:
    """Bring the database (SQLite or PostgreSQL, by database_url) up to date /
    actualiza el esquema de la base de datos."""
    store = open_store(_settings(config))
    try:
        version = store.migrate()
    finally:
        store.close()
    typer.echo(f"schema version {version} / versión del esquema {version}")


@station_app.command("list")
def station_list(config: ConfigOption = None) -> None:
    """Stations with their state / estaciones con su estado."""
    store = _store(config)
    try:
        stations = store.list_stations()
    finally:
        store.close()
    typer.echo("station\tunit\tonline\tlast_seen_at\tclock_offset_ms\toutbox\tevents\tretired_at")
    for s in stations:
        typer.echo(
            f"{s.station_id}\t{s.unit_id}\t{'yes' if s.online else 'no'}\t{s.last_seen_at or '-'}"
            f"\t{s.clock_offset_ms if s.clock_offset_ms is not None else '-'}"
            f"\t{s.outbox_depth if s.outbox_depth is not None else '-'}\t{s.event_count}"
            f"\t{s.retired_at or '-'}"
        )


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Option("--name", help="Sign-in name / nombre de usuario.")],
    role: Annotated[str, typer.Option("--role", help="ops | clinician")],
    password: Annotated[
        str,
        typer.Option(
            prompt="Password / contraseña",
            hide_input=True,
            confirmation_prompt=True,
            envvar="PUENTE_HUB_USER_PASSWORD",
            help="Asked for if not given (or PUENTE_HUB_USER_PASSWORD).",
        ),
    ],
    config: ConfigOption = None,
) -> None:
    """Add a console user; only a scrypt hash of the password is stored."""
    from hub.web.auth import LocalUsers, WeakPassword, WebRole

    try:
        web_role = WebRole(role)
    except ValueError as exc:
        typer.echo("role must be ops or clinician / el rol debe ser ops o clinician", err=True)
        raise typer.Exit(2) from exc
    store = _store(config)
    try:
        LocalUsers(store).add(name, web_role, password)
    except (WeakPassword, Conflict, ValueError) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    finally:
        store.close()
    typer.echo(f"user {name} ({web_role.value}) added / usuario {name} creado")


@user_app.command("list")
def user_list(config: ConfigOption = None) -> None:
    """Console users: name, role, created, disabled / usuarios de la consola."""
    from hub.web.auth import LocalUsers

    store = _store(config)
    try:
        records = LocalUsers(store).users.list()
    finally:
        store.close()
    typer.echo("name\trole\tcreated_at\tstate")
    for r in records:
        state = f"disabled {r.disabled_at}" if r.disabled_at else "enabled"
        typer.echo(f"{r.name}\t{r.role}\t{r.created_at}\t{state}")


def _user_change(
    config: Path | None, name: str, action: str, done: str, password: str = ""
) -> None:
    from hub.web.auth import LocalUsers, WeakPassword

    store = _store(config)
    try:
        users = LocalUsers(store)
        if action == "reset":
            users.reset_password(name, password)
        else:
            getattr(users, action)(name)
    except (NotFound, WeakPassword) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(1) from exc
    finally:
        store.close()
    typer.echo(done)


@user_app.command("disable")
def user_disable(
    name: Annotated[str, typer.Option("--name", help="Sign-in name / nombre de usuario.")],
    config: ConfigOption = None,
) -> None:
    """Disable a user: no sign-in, and open console sessions end at once."""
    _user_change(config, name, "disable", f"user {name} disabled / usuario {name} deshabilitado")


@user_app.command("enable")
def user_enable(
    name: Annotated[str, typer.Option("--name", help="Sign-in name / nombre de usuario.")],
    config: ConfigOption = None,
) -> None:
    """Re-enable a disabled user."""
    _user_change(config, name, "enable", f"user {name} enabled / usuario {name} habilitado")


@user_app.command("reset-password")
def user_reset_password(
    name: Annotated[str, typer.Option("--name", help="Sign-in name / nombre de usuario.")],
    password: Annotated[
        str,
        typer.Option(
            prompt="New password / nueva contraseña",
            hide_input=True,
            confirmation_prompt=True,
            envvar="PUENTE_HUB_USER_PASSWORD",
            help="Asked for if not given (or PUENTE_HUB_USER_PASSWORD).",
        ),
    ],
    config: ConfigOption = None,
) -> None:
    """Set a new password; sessions signed in before end."""
    _user_change(
        config,
        name,
        "reset",
        f"password of {name} reset / contraseña de {name} cambiada",
        password,
    )


@app.command("broker-config")
def broker_config(
    out: Annotated[Path, typer.Option("--out", help="Folder for the broker's files.")],
    port: Annotated[int, typer.Option(help="TLS listener port.")] = 8883,
    bind: Annotated[str, typer.Option(help="Listen address (empty: all).")] = "",
    hostname: Annotated[
        list[str] | None,
        typer.Option(help="Broker host names for its certificate (repeat); default localhost."),
    ] = None,
    persistence_dir: Annotated[
        Path,
        typer.Option(
            help="Mosquitto persistence folder (sessions, queued and retained messages); "
            "docs/production.md says why it is on."
        ),
    ] = DEFAULT_PERSISTENCE_DIR,
    persistence: Annotated[
        bool, typer.Option("--persistence/--no-persistence", help="Persistence on or off.")
    ] = True,
    run_as: Annotated[str, typer.Option(help="Mosquitto `user` line (empty: its default).")] = "",
    config: ConfigOption = None,
) -> None:
    """Write mosquitto.conf, dynamic-security.json, ca.pem, crl.pem and a broker certificate.

    Escribe la configuración de Mosquitto (TLS mutuo, CRL, roles por estación) en OUT.
    """
    from hub.fleet import FleetService

    settings = _settings(config)
    store = _store(config)
    try:
        files = FleetService(settings, store).write_broker_config(
            out,
            port,
            bind,
            hostname or None,
            persistence_dir if persistence else None,
            run_as or None,
        )
    finally:
        store.close()
    for path in (files.conf, files.dynsec, files.ca, files.crl, files.cert, files.key):
        typer.echo(str(path))
    if settings.broker_dir is None or settings.broker_dir.resolve() != files.directory:
        typer.echo(
            f'set broker_dir = "{files.directory}" in the hub\'s config so that it keeps the '
            f"CRL up to date and reloads the broker (pid file {files.pid}) / configure "
            "broker_dir para que el hub mantenga la CRL y recargue el broker",
            err=True,
        )


@quarantine_app.command("list")
def quarantine_list(
    limit: int = typer.Option(50, min=1, max=500, help="Most entries / máximo de entradas."),
    config: ConfigOption = None,
) -> None:
    """Newest quarantined entries first / entradas en cuarentena, las más nuevas primero."""
    store = _store(config)
    try:
        page = store.list_quarantine(limit, None)
    finally:
        store.close()
    typer.echo("id\treceived_at\tstation\tevent_id\treason_code\treingested\treason")
    for q in page.items:
        typer.echo(
            f"{q.id}\t{q.received_at}\t{q.station_id or '-'}\t{q.event_id or '-'}"
            f"\t{q.reason_code}\t{q.reingest_outcome or '-'}\t{q.reason}"
        )


@quarantine_app.command("reingest")
def quarantine_reingest(
    ids: list[int] = typer.Argument(..., help="Quarantine ids / ids de cuarentena"),
    config: ConfigOption = None,
) -> None:
    """Run entries through today's ingest rules / pasar entradas por las reglas de hoy."""
    from hub.ingest.reingest import NotQuarantined, reingest

    settings = _settings(config)
    store = _store(config)
    failed = False
    try:
        for qid in ids:
            try:
                done = reingest(store, qid, settings.max_clock_skew_s, settings.clock_flag_s)
            except NotQuarantined:
                typer.echo(f"{qid}: no such entry / no existe la entrada", err=True)
                failed = True
                continue
            reason = f" ({done.reason})" if done.reason else ""
            typer.echo(f"{qid}\t{done.event_id or '-'}\t{done.outcome}{reason}")
            failed |= done.outcome == "rejected"
    finally:
        store.close()
    raise typer.Exit(1 if failed else 0)


if __name__ == "__main__":
    app()
