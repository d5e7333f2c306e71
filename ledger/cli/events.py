"""``royalty events``: look an event up, void events (issue 19)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich import print as rprint
from rich.console import Console

from ledger import jsonl
from ledger.cli.context import get_ledger
from ledger.cli.output import Format, cell, emit, format_option, write_output
from ledger.errors import InvalidInput, RowError
from ledger.matching.void import VoidRequest, void
from ledger.reports.events import event

app = typer.Typer(help="Usage events: look one up, void those that should not count.",
                  no_args_is_help=True)


@app.command("show")
def show(source: str = typer.Argument(..., metavar="SOURCE", help="The event's source."),
         event_id: str = typer.Argument(..., metavar="ID", help="The event's id, as sent."),
         fmt: Format = format_option(Format.table, Format.json),
         output: Path | None = typer.Option(None, "--output", "-o")) -> None:
    """An event: what was sent, outcome, match, amounts, re-evaluations, void."""
    with get_ledger().connect() as conn:
        data = event(conn, source, event_id)
    if fmt is Format.json:
        emit(data, fmt, output=output)
        return
    match, amounts = data["match"], data["amounts"]
    fields = [("source", data["source"]), ("id", data["id"]), ("time", data["time"]),
              ("received", data["received_at"]), ("licensee", data["licensee"]),
              ("purpose", data["purpose"]), ("activity", data["activity"]),
              ("model", data["model"]), ("run", data["run"]), ("dataset", data["dataset"]),
              ("quantity", f"{cell(data['quantity'])} {data['unit']}"), ("item", data["item"]),
              ("outcome", data["outcome"]),
              ("work", f"{match['work']} ({match['title']})" if match["work"] else None),
              ("license", match["license"]), ("currency", amounts["currency"]),
              ("gross", amounts["gross"]), ("fee", amounts["fee"]), ("net", amounts["net"]),
              *((f"part of {p['creator']}", p["amount"]) for p in amounts["creators"]),
              ("booked by entry", amounts["entry"])]
    if data["void"]:
        fields.append(("voided", f"{cell(data['void']['at'])}: {data['void']['reason']}"
                       + (f" (reversed by entry {data['void']['entry_id']})"
                          if data["void"]["entry_id"] else "")))
    console = Console(record=output is not None, width=100 if output else None)
    emit([{"field": k, "value": cell(v)} for k, v in fields if v not in (None, "", {})],
         Format.table, title=f"Event {data['source']} {data['id']}", console=console)
    if data["reevaluations"]:
        emit(data["reevaluations"], Format.table, title="Re-evaluations", console=console)
    if output is not None:
        write_output(output, console.export_text())


@app.command("void")
def void_command(
    source: str | None = typer.Argument(None, metavar="SOURCE",
                                        help="The events' source, as sent."),
    ids: list[str] | None = typer.Argument(None, metavar="ID...", help="Their ids."),
    reason: str | None = typer.Option(None, "--reason", help="Why (kept with each void)."),
    file: str | None = typer.Option(None, "--file", help="JSON Lines of "
                                    '{"source", "id", "reason"} (- for standard input); '
                                    "--reason is then the default reason."),
) -> None:
    """Void events: their bookings reversed by a new entry, never revived.

    Each event's outcome becomes voided, its booking is reversed by a new journal entry, it
    leaves the tallies, and a resend of it is a duplicate. All or none: with any unknown or
    voided event nothing is written (exit 2)."""
    requests = _requests(source, ids or [], reason, file)
    with get_ledger().connect() as conn:
        result = void(conn, requests)
        conn.commit()
    booked = (f"; {result.reversed} bookings reversed by journal entry {result.entry_id}"
              if result.reversed else "; none was booked, nothing to reverse")
    rprint(f"[green]voided {result.events} events[/green]{booked}")


def _requests(source: str | None, ids: list[str], reason: str | None,
              file: str | None) -> list[VoidRequest]:
    if file is not None:
        if source is not None:
            raise InvalidInput([RowError(0, "give SOURCE ID... or --file, not both")])
        return _read_file(file, reason)
    if source is None or not ids:
        raise InvalidInput([RowError(0, "give SOURCE and at least one ID, or --file F")])
    if reason is None:
        raise InvalidInput([RowError(0, "--reason is required: say why the events are void")])
    return [VoidRequest(source, event_id, reason) for event_id in ids]


def _read_file(file: str, default: str | None) -> list[VoidRequest]:
    with jsonl.open_input(file) as stream:
        lines, errors = jsonl.read_lines(stream)
    requests = []
    for line in lines:
        row = line.value
        if not isinstance(row, dict):
            errors.append(RowError(line.number, "expected an object "
                                   '{"source": …, "id": …, "reason": …}'))
            continue
        problems = [f"{key} must be a non-empty string" for key in ("source", "id")
                    if not isinstance(row.get(key), str) or not row[key]]
        given = row.get("reason", default)
        if not isinstance(given, str):
            problems.append("reason must be a string (or give --reason for every row)")
        unknown = sorted(set(row) - {"source", "id", "reason"})
        if unknown:
            problems.append(f"unknown field(s): {', '.join(unknown)}")
        errors += [RowError(line.number, p) for p in problems]
        if not problems:
            requests.append(VoidRequest(row["source"], row["id"], given, line.number))
    if errors:
        raise InvalidInput(sorted(errors, key=lambda e: e.line))
    if not requests:
        raise InvalidInput([RowError(0, f"{file}: no events to void (the file is empty)")])
    return requests
