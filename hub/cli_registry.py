"""`puente hub registry …`: the device catalogue and CSV import from the command line.

Each bad row is printed with its line, the column at fault, the problem in English and in
Spanish (one per line) and what is allowed, so a person reading either language can fix it.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Annotated

import typer

from hub.ingest.timefmt import now_iso
from hub.storage.base import Store
from protos import device_catalogue
from provisioning import csv_io

registry_app = typer.Typer(
    help="Device registry and catalogue / registro y catálogo de dispositivos.",
    no_args_is_help=True,
)

CsvFile = Annotated[
    Path, typer.Argument(exists=True, dir_okay=False, help="CSV file / archivo CSV.")
]


def print_errors(errors: list[csv_io.RowError]) -> None:
    for e in errors:
        where = f"line {e.line}" + (f", {e.field}" if e.field else "")
        donde = f"línea {e.line}" + (f", {e.field}" if e.field else "")
        typer.echo(f"{where} [{e.code}]: {e.en}", err=True)
        typer.echo(f"{donde} [{e.code}]: {e.es}", err=True)
        if e.allowed:
            typer.echo(f"  allowed / admitido: {e.allowed}", err=True)


@registry_app.command("catalogue")
def catalogue() -> None:
    """Every driver ops may register, with its settings / los controladores y sus ajustes."""
    for name, entry in device_catalogue.CATALOGUE.items():
        sim = " (simulator / simulador)" if entry["simulator"] else ""
        typer.echo(f"{name}\t{entry['family']}\t{entry['title']}{sim}")
        for setting, rule in entry["settings"].items():
            need = "required / obligatorio" if rule["required"] else f"= {rule.get('default')!r}"
            typer.echo(f"    {setting}: {rule['type']} {need} — {rule['en']} / {rule['es']}")


@registry_app.command("check")
def check(path: CsvFile) -> None:
    """Check a CSV against the catalogue without importing it / revisar un CSV sin importarlo."""
    plan = csv_io.plan_import(path.read_text(encoding="utf-8-sig"), {}, {}, {})
    print_errors(plan.errors)
    typer.echo(
        f"{plan.rows} rows, {len(plan.devices)} devices valid, {len(plan.errors)} refused / "
        f"{plan.rows} filas, {len(plan.devices)} dispositivos válidos, "
        f"{len(plan.errors)} rechazadas"
    )
    raise typer.Exit(1 if plan.errors else 0)


def register(app: typer.Typer, store_for: Callable[[Path | None], Store]) -> None:
    """Add ``registry`` to the hub CLI; ``store_for(config)`` opens the hub's store."""

    @registry_app.command("import")
    def import_csv(
        path: CsvFile, config: Path | None = typer.Option(None, "--config", "-c")
    ) -> None:
        """Import a CSV into the hub's registry; bad rows are reported and skipped /
        importar un CSV; las filas con errores se informan y se omiten."""
        store = store_for(config)
        try:
            reg = store.registry()
            plan = csv_io.plan_import(
                path.read_text(encoding="utf-8-sig"),
                reg.units(),
                reg.stations(),
                reg.active_serials(),
            )
            reg.import_rows(plan.units.values(), plan.stations.values(), plan.devices, now_iso())
        finally:
            store.close()
        print_errors(plan.errors)
        typer.echo(
            f"{len(plan.units)} units, {len(plan.stations)} stations, {len(plan.devices)} "
            f"devices stored; {len(plan.errors)} rows refused / {len(plan.units)} unidades, "
            f"{len(plan.stations)} estaciones, {len(plan.devices)} dispositivos guardados; "
            f"{len(plan.errors)} filas rechazadas"
        )
        raise typer.Exit(1 if plan.errors else 0)

    app.add_typer(registry_app, name="registry")
