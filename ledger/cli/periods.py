"""``royalty periods close|list`` (contract §9)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import typer
from rich import print as rprint
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from ledger import jsonl
from ledger.cli.context import err_console, get_ledger
from ledger.cli.output import Format, emit, format_option
from ledger.errors import InvalidInput, RowError
from ledger.ingest import store
from ledger.periods import revenue, rules, service
from ledger.reports import display

app = typer.Typer(help="Accounting periods of pools, revenue shares and minimums.",
                  no_args_is_help=True)
OUTPUT = typer.Option(None, "--output", "-o", help="Write to this file.")


def _period(text: str | None) -> rules.Period | None:
    if text is None:
        return None
    try:
        return rules.parse_label(text)
    except ValueError as exc:
        raise InvalidInput([RowError(0, f"--period: {exc}")]) from None


@app.command("close")
def close_command(
        license: str | None = typer.Option(None, "--license", help="Only this license."),
        period: str | None = typer.Option(None, "--period",
                                          help="Only periods starting in it: 2026-11, "
                                               "2026-Q4 or 2026."),
        fmt: Format = format_option(Format.table, Format.json)) -> None:
    """Close every period that has ended (no grace: beat waits ROYALTY_PERIOD_GRACE) and
    book its allocation. A period closed already is left as it is."""
    ledger = get_ledger()
    within = _period(period)
    now = datetime.now(UTC)
    with ledger.connect() as conn:
        if within is not None:
            if early := service.not_ended(conn, now=now, license_key=license, within=within):
                raise InvalidInput([RowError(0, f"period {p} has not ended yet")
                                    for p in early])
        with Progress(TextColumn("closing periods"), BarColumn(), MofNCompleteColumn(),
                      console=err_console, transient=True) as progress:
            task = progress.add_task("close", total=None)
            runs = service.close_due(conn, now=now, grace=timedelta(0), license_key=license,
                                     within=within,
                                     progress=lambda *_: progress.advance(task))
    rows = [service.summary(run) for run in runs]
    if fmt is Format.json:
        emit(rows, fmt)
        return
    emit(rows, fmt, title=f"Closed {len(rows)} period(s)",
         columns=("license", "label", "events", "quantity", "revenue", "pool", "allocated",
                  "unallocated", "entry_id"))


@app.command("list")
def list_command(license: str | None = typer.Option(None, "--license",
                                                    help="Only this license."),
                 fmt: Format = format_option(), output: Path | None = OUTPUT) -> None:
    """Each license-period: state (open, closed, adjusted), events, quantity, pool P,
    allocated and unallocated."""
    ledger = get_ledger()
    with ledger.connect() as conn:
        rows = service.listing(conn, now=datetime.now(UTC), license_key=license)
    if fmt is Format.table:  # to the cent for a person; JSON and CSV stay exact
        rows = [{"license": r["license"], "period": r["period"], "state": r["state"],
                 "events": display.count(r["events"]), "quantity": display.count(r["quantity"]),
                 **{k: display.money(r[k], r["currency"]) for k in
                    ("revenue", "pool", "allocated", "unallocated")},
                 "currency": r["currency"]} for r in rows]
    emit(rows, fmt, title="Periods", output=output)


revenue_app = typer.Typer(help="Revenue licensees report for revenue-share licenses.",
                          no_args_is_help=True)


@revenue_app.command("import")
def revenue_import(file: str = typer.Argument(..., help="JSON Lines of "
                                                       "io.royaltyledger.revenue.v1 events; "
                                                       "- for standard input.")) -> None:
    """Record revenue reports: all or none; a report sent before is a no-op."""
    ledger = get_ledger()
    with jsonl.open_input(file) as stream:
        lines, errors = jsonl.read_lines(stream)
    if not lines and not errors:
        raise InvalidInput([RowError(0, "the file has no rows")])
    with ledger.connect() as conn:
        reports, result = revenue.check(conn, [line.value for line in lines],
                                        store.licensee_ids(conn))
        errors += [RowError(lines[index].number, _reason(problem))
                   for index, problem in result.problems]
        if errors:
            raise InvalidInput(sorted(errors, key=lambda e: e.line))
        revenue.store(conn, reports, result)
        if result.problems:  # stored meanwhile with other content
            conn.rollback()
            raise InvalidInput([RowError(lines[index].number, _reason(problem))
                                for index, problem in result.problems])
        conn.commit()
    rprint(f"[green]imported revenue[/green]: {len(lines)} reports — {result.accepted} new, "
           f"{result.duplicates} already recorded")


def _reason(problem: revenue.Problem) -> str:
    where = f"{problem.field}: " if problem.field else ""
    return f"{where}{problem.detail} ({problem.reason})"
