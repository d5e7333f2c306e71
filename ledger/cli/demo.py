"""``royalty demo``: the whole flow on whatever services are configured (embedded by default)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console
from rich.panel import Panel

from ledger import migrate
from ledger.catalog import queries
from ledger.catalog.service import ImportKind, import_file
from ledger.cli.context import get_ledger
from ledger.cli.output import table
from ledger.demo.catalog import generate

console = Console()


def demo(out: Path = typer.Option(Path("out/demo"), help="Where the demo writes its files."),
         works: int = typer.Option(1000, help="Works in the generated catalog."),
         creators: int = typer.Option(200, help="Creators in the generated catalog.")) -> None:
    """Set up the database, import a generated catalog and licenses, and show them."""
    ledger = get_ledger()
    where = f"embedded PostgreSQL under {ledger.settings.home}" if ledger.database_is_embedded \
        else "ROYALTY_DATABASE_URL"
    console.print(Panel.fit(f"royalty-ledger demo\ndatabase: {where}", style="bold"))
    migrate.upgrade(ledger.database_url)
    console.print(f"schema at revision {migrate.current_revision(ledger.database_url)}")
    paths = generate(creators, works).write(out / "catalog")
    for kind in (ImportKind.creators, ImportKind.licensees, ImportKind.works, ImportKind.licenses):
        with paths[kind.value].open() as stream:
            result = import_file(ledger.engine, kind, stream)
        console.print(f"imported {kind.value:<10} {result.rows:>6} rows: {result.created} created, "
                      f"{result.updated} updated, {result.unchanged} unchanged")
    with ledger.engine.connect() as conn:
        console.print(table(queries.list_licensees(conn), "Licensees"))
        licenses = [{"license": r["license"], "licensee": r["licensee"], "scope": r["scope"],
                     "purposes": r["purposes"], "rate": f"{r['price']:f} {r['currency']}/{r['rate_unit']}"}
                    for r in queries.list_licenses(conn)]
        console.print(table(licenses, "Licenses"))
        creators_rows = queries.list_creators(conn)
        console.print(f"{len(creators_rows)} creators, "
                      f"{len(queries.list_works(conn))} works registered "
                      f"(`royalty works list`, `royalty creators list`)")
    console.print(f"catalog files: {out / 'catalog'}")
