"""``royalty db``: migrations and the embedded server."""

from __future__ import annotations

import typer
from rich import print as rprint
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

from ledger import embedded
from ledger.matching import tally
from ledger.accounting import statement_lines
from ledger.cli.context import get_ledger

app = typer.Typer(help="Database schema (Alembic migrations) and the embedded PostgreSQL.",
                  no_args_is_help=True)


@app.command()
def upgrade(revision: str = typer.Argument("head", help="Target revision.")) -> None:
    """Apply the migrations up to REVISION (idempotent)."""
    ledger = get_ledger()
    from ledger import migrate  # Alembic: only for the commands that need it

    migrate.upgrade(ledger.database_url, revision)
    rprint(f"[green]database at revision {migrate.current_revision(ledger.database_url)}[/green]")


@app.command()
def status() -> None:
    """Show where the database is and its revision."""
    ledger = get_ledger()
    from ledger import migrate

    current = migrate.current_revision(ledger.database_url)
    head = migrate.head_revision(ledger.database_url)
    where = "embedded PostgreSQL under " + str(ledger.settings.home) \
        if ledger.database_is_embedded else "ROYALTY_DATABASE_URL"
    state = "[green]up to date[/green]" if current == head else \
        "[yellow]behind: run `royalty db upgrade`[/yellow]"
    rprint(f"database: {where}\nrevision: {current or 'none'} (head {head}) {state}")


@app.command()
def retally() -> None:
    """Count the usage tallies (transparency and status counts, works used) again from the
    events."""
    ledger = get_ledger()
    with ledger.connect() as conn:
        written = tally.rebuild(conn)
    rprint(f"usage tallies counted again from the events: {written} rows")


@app.command()
def fold() -> None:
    """Fold booked entries into the all-time statement's lines now (beat does it every
    2 minutes; after an upgrade, this folds what was booked before at once)."""
    ledger = get_ledger()
    with ledger.connect() as conn, Progress(SpinnerColumn(), TextColumn("{task.description}"),
                                            TimeElapsedColumn(), transient=True) as progress:
        progress.add_task("folding booked entries into statement lines", total=None)
        folded = statement_lines.fold(conn)
    rprint(f"statement lines: {folded} booking entries folded")


@app.command()
def stop() -> None:
    """Stop the embedded PostgreSQL (it keeps running between commands otherwise)."""
    ledger = get_ledger()
    if not ledger.database_is_embedded:
        rprint("ROYALTY_DATABASE_URL is set: there is no embedded server to stop")
        return
    stopped = embedded.stop(ledger.settings.home)
    rprint("embedded PostgreSQL stopped" if stopped else "embedded PostgreSQL was not running")
