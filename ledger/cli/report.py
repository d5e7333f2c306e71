"""``royalty report …``: every report takes --format table|json|csv and --output FILE."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from ledger.cli import ingest
from ledger.cli.context import get_ledger
from ledger.cli.output import Format, emit
from ledger.reports import ledger_reports, usage_reports

app = typer.Typer(help="Reports for creators and operators.", no_args_is_help=True)
app.command("dead-letters")(ingest.dead_letters_report)

FORMAT = typer.Option(Format.table, "--format", "-f", help="table, json or csv.")
OUTPUT = typer.Option(None, "--output", "-o", help="Write to this file.")


@app.command("balances")
def balances(creator: str | None = typer.Option(None, help="Only this creator."),
             fmt: Format = FORMAT, output: Path | None = OUTPUT) -> None:
    """What each creator has accrued, been paid, and is owed, per currency."""
    with get_ledger().connect() as conn:
        emit(ledger_reports.balances(conn, creator), fmt, title="Creator balances", output=output)


@app.command("trial-balance")
def trial_balance(fmt: Format = FORMAT, output: Path | None = OUTPUT) -> None:
    """Every ledger account's debits, credits and balance; each currency sums to zero."""
    with get_ledger().connect() as conn:
        rows = ledger_reports.trial_balance(conn)
    emit(rows, fmt, title="Trial balance", output=output)
    if fmt is Format.table and output is None:
        for currency, total in sorted(ledger_reports.currency_totals(rows).items()):
            Console().print(f"{currency}: accounts sum to {total:f}"
                            + (" [green](balanced)[/green]" if total == 0 else " [red]OFF[/red]"))


@app.command("transparency")
def transparency(licensee: str = typer.Option(..., help="Licensee key."),
                 model: str | None = typer.Option(None, help="Only this model."),
                 fmt: Format = FORMAT, output: Path | None = OUTPUT) -> None:
    """What a licensee's model used: events by outcome, works, creators, purposes, datasets."""
    with get_ledger().connect() as conn:
        data = usage_reports.transparency(conn, licensee, model)
    if fmt is not Format.table:
        emit(data if fmt is Format.json else [_flat(data)], fmt, output=output)
        return
    console = Console()
    console.print(f"[bold]Transparency: {licensee}[/bold]"
                  + (f", model {model}" if model else ", all models"))
    console.print(f"{data['events']} events, {data['works']} registered works, "
                  f"{data['creators']} creators")
    emit([data["outcomes"]], fmt, title="Outcomes")
    emit([{"purpose": k, "events": v} for k, v in data["by_purpose"].items()], fmt,
         title="By purpose")
    emit([{"dataset": k, "events": v} for k, v in data["by_dataset"].items()], fmt,
         title="By dataset")


def _flat(data: dict) -> dict:
    flat = {k: v for k, v in data.items() if not isinstance(v, dict)}
    for group in ("outcomes", "by_purpose", "by_dataset"):
        flat.update({f"{group}.{k}": v for k, v in data[group].items()})
    return flat


@app.command("suspense")
def suspense(fmt: Format = FORMAT, output: Path | None = OUTPUT) -> None:
    """Unmatched items by identifier: held until their work is registered."""
    with get_ledger().connect() as conn:
        emit(usage_reports.suspense(conn), fmt, title="Suspense (unmatched items)", output=output)


@app.command("unlicensed")
def unlicensed(fmt: Format = FORMAT, output: Path | None = OUTPUT) -> None:
    """Unlicensed, opted-out and unpriced uses by licensee, model and work."""
    with get_ledger().connect() as conn:
        emit(usage_reports.unlicensed(conn), fmt, title="Unlicensed and opted-out uses",
             output=output)
