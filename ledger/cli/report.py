"""``royalty report …``: every report takes --format table|json|csv and --output FILE."""

from __future__ import annotations

import io
from pathlib import Path

import typer
from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table
from rich.text import Text

from ledger.cli import ingest
from ledger.cli.context import get_ledger
from ledger.cli.output import (
    Format, cell, dumps, emit, format_option, to_csv, working, write_output,
)
from ledger.reports import display, html, ledger_reports, series, usage_reports
from ledger.reports import statement as statements

app = typer.Typer(help="Reports for creators and operators.", no_args_is_help=True)
app.command("dead-letters")(ingest.dead_letters_report)

FORMAT = format_option()
PAGE_FORMAT = format_option(Format.table, Format.json, Format.csv, Format.html)
OUTPUT = typer.Option(None, "--output", "-o", help="Write to this file.")


def _write(text: str, output: Path | None) -> None:
    if output is not None:
        write_output(output, text)
    else:
        print(text, end="")


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
                 fmt: Format = PAGE_FORMAT, output: Path | None = OUTPUT) -> None:
    """What a licensee's model used: events by outcome, works, creators, purposes, datasets."""
    with get_ledger().connect() as conn, working(f"counting what {licensee} used …"):
        data = usage_reports.transparency(conn, licensee, model)
        extra = series.transparency_series(conn, licensee, model) if fmt is Format.html else {}
    if fmt is Format.html:
        _write(html.transparency_html(data, extra), output)
        return
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
    emit([{"method": k, "events": v, "max_distance": data["max_distance"].get(k)}
          for k, v in data["by_method"].items()], fmt, title="How matched")
    if data["refused_by_user"]:
        emit([{"user_id": k, "events": v} for k, v in data["refused_by_user"].items()], fmt,
             title="Refused: sent by a user that is not its producer")


def _flat(data: dict) -> dict:
    flat = {k: v for k, v in data.items() if not isinstance(v, dict)}
    for group in ("outcomes", "by_purpose", "by_dataset", "refused_by_user", "by_method",
                  "max_distance"):
        flat.update({f"{group}.{k}": v for k, v in data[group].items()})
    return flat


@app.command("suspense")
def suspense(fmt: Format = FORMAT, output: Path | None = OUTPUT) -> None:
    """Unmatched items by identifier, near-duplicate copies on one line: held until their
    work is registered."""
    from ledger.matching import thresholds

    with get_ledger().connect() as conn:
        with working("grouping unmatched items …"):
            rows = usage_reports.suspense(conn, thresholds.params())
        emit(rows, fmt, title="Suspense (unmatched items)", output=output)


@app.command("unlicensed")
def unlicensed(fmt: Format = FORMAT, output: Path | None = OUTPUT) -> None:
    """Unlicensed, opted-out and unpriced uses by licensee, model and work."""
    with get_ledger().connect() as conn:
        with working("grouping unlicensed uses …"):
            rows = usage_reports.unlicensed(conn)
        emit(rows, fmt, title="Unlicensed and opted-out uses", output=output)


@app.command("statement")
def statement(creator: str = typer.Option(..., help="Creator key."),
              period: str | None = typer.Option(
                  None, help="Booking month YYYY-MM (UTC); all time when omitted."),
              currency: str | None = typer.Option(
                  None, help="Currency of the statement (default: the creator's)."),
              fmt: Format = PAGE_FORMAT, output: Path | None = OUTPUT) -> None:
    """A creator's statement: balances and the lines behind what the ledger booked."""
    statements.period_bounds(period)  # a bad period is refused before connecting
    with get_ledger().connect() as conn, working(f"computing the statement of {creator} …"):
        data = statements.statement(conn, creator, period, currency)
        row = statements.creator_row(conn, creator)
        others = [c for c in statements.currencies(conn, row["id"]) if c != data["currency"]]
        details = statements.readers_details(conn, data) \
            if fmt in (Format.html, Format.table) else {}
        if fmt is Format.html:
            page = html.statement_html(data, series.statement_series(conn, data), row["name"],
                                       details)
    if fmt is Format.html:
        _write(page, output)
    elif fmt is Format.json:
        _write(dumps(data), output)
    elif fmt is Format.csv:  # one row per line, each naming its statement
        head = {k: data[k] for k in ("creator", "period", "currency")}
        rows = [{**head, **line} for line in data["lines"]]
        _write(to_csv(rows) or ",".join([*head, *statements.LINE_KEYS]) + "\n", output)
    else:
        console = Console(file=io.StringIO(), width=80, record=True) if output else Console()
        _statement_table(console, data, others, details)
        if output is not None:
            _write(console.export_text(), output)


def _statement_table(console: Console, data: dict, other_currencies: list[str],
                     details: dict) -> None:
    currency = data["currency"]
    console.print(f"[bold]Statement for {escape(data['creator'])}[/bold], "
                  f"{data['period'] or 'all time'}, in {currency}", highlight=False)
    figures = Table.grid(padding=(0, 2))
    figures.add_column()
    figures.add_column(justify="right")
    for label, key in (("Opening balance", "opening_balance"), ("Accrued", "accrued"),
                       ("Paid", "paid"), ("Closing balance", "closing_balance")):
        figures.add_row(label, display.money(data[key], currency),
                        style="bold" if key == "closing_balance" else None)
    console.print(figures)
    if other_currencies:
        console.print(f"Also has {', '.join(other_currencies)}: see --currency.",
                      style="dim", highlight=False)
    _payouts_table(console, details["payouts"], currency)
    if not data["lines"]:
        console.print("No amounts booked in this period.", style="dim")
        return
    # A field with one value on every line is said once, above the table: it stays
    # readable at 80 columns.
    shared = {key: data["lines"][0][key] for key in ("licensee", "model", "purpose", "unit")
              if len({cell(line[key]) for line in data["lines"]}) == 1}
    if shared:
        console.print("All lines: " + ", ".join(f"{k} {display.label(cell(v))}"
                                                for k, v in shared.items()),
                      highlight=False, markup=False)
    lines = Table(box=box.SIMPLE_HEAD, header_style="bold", show_edge=False,
                  collapse_padding=True)
    # Licensee, model and purpose in one column, as words: they wrap between, not inside.
    texts = [k for k in ("licensee", "model", "purpose") if k not in shared]
    lines.add_column("work", no_wrap=True, overflow="ellipsis", min_width=8, max_width=24)
    if texts:
        lines.add_column(" · ".join(texts), overflow="fold", min_width=10)
    # contract §8: how the events were matched, when any line was not matched exactly
    matched = any(line.get("match") not in (None, "exact") for line in data["lines"])
    if matched:
        lines.add_column("matched", overflow="fold", min_width=8)
    lines.add_column("used in", no_wrap=True)
    for name in ("events", "quantity", "rate", "amount"):  # numbers are never broken
        lines.add_column(name, justify="right", no_wrap=True)
    titles = details["titles"]
    for line in data["lines"]:
        unit = "" if "unit" in shared else f" {cell(line['unit'])}"
        rate = statements.rate(line)
        work = Text(cell(line["work"]))
        if line["work"] in titles:
            work.append(f"\n{titles[line['work']]}", style="dim")
        use = [Text(" ".join(display.label(cell(line[key])) for key in texts))] if texts else []
        lines.add_row(work, *use, *([cell(line.get("match"))] if matched else []),
                      cell(line["usage_period"]), display.count(line["events"]),
                      (display.count(line["quantity"]) + unit).strip(),
                      "" if rate is None else f"{rate:f}", display.money(line["amount"], currency),
                      style="red" if line["amount"] < 0 else None)
    lines.add_section()
    lines.add_row("total", *[""] * (bool(texts) + matched + 4),
                  display.money(data["accrued"], currency),
                  style="bold")
    console.print(lines)
    unit = f"{currency} per {shared['unit']}" if "unit" in shared else f"{currency} per unit"
    console.print(f"rate: your part in {unit} (amount = quantity × rate). "
                  + display.SUB_CENT_NOTE, style="dim", highlight=False)
    if any(line["events"] < 0 for line in data["lines"]):
        console.print("Negative lines reverse amounts booked earlier, after a re-evaluation.",
                      style="dim", highlight=False)


def _payouts_table(console: Console, payouts: list[dict], currency: str) -> None:
    if not payouts:
        console.print("No payouts in this period.", style="dim")
        return
    table = Table(title="Payouts", box=box.SIMPLE_HEAD, header_style="bold", show_edge=False)
    for name in ("date", "amount", "status", "transfer"):
        table.add_column(name, justify="right" if name == "amount" else "left", no_wrap=True)
    for payout in payouts:
        table.add_row(f"{payout['date']:%Y-%m-%d}", display.money(payout["amount"], currency),
                      payout["status"], payout["transfer"] or "")
    console.print(table)


def lookup_command(
    paths: list[Path] = typer.Argument(..., help="Files (or folders) to look up."),
    fmt: Format = FORMAT, output: Path | None = OUTPUT,
) -> None:
    """Was this file used? The works it matches (how, at what distance) and their use by
    licensee, model, purpose and dataset, with events and amounts."""
    from ledger.cli.fingerprints import _files, _one
    from ledger.errors import InvalidInput, RowError
    from ledger.matching import thresholds
    from ledger.reports import lookup

    files, problems = _files(paths)
    found = []
    for path in files:
        _, line, problem = _one(str(path))
        if line is None:
            problems.append((str(path), problem))
        else:
            found.append(line)
    if problems:
        raise InvalidInput([RowError(0, f"{p}: {reason}") for p, reason in problems])
    with get_ledger().connect() as conn, working("looking the files up …"):
        answers = [{"file": line["file"], **{k: line.get(k) for k in ("sha256", "pdq", "iscc")},
                    **lookup.lookup(conn, line, thresholds.params())} for line in found]
    if fmt is not Format.table:
        rows = answers if fmt is Format.json else [
            {"file": a["file"], **use} for a in answers for use in a["uses"]]
        emit(rows, fmt, output=output)
        return
    console = Console()
    for answer in answers:
        console.print(f"[bold]{answer['file']}[/bold]")
        if not answer["works"]:
            console.print("  matches no registered work")
        else:
            emit(answer["works"], fmt, title="Works it matches")
            if answer["uses"]:
                emit(answer["uses"], fmt, title="Their use")
            else:
                console.print("  no recorded use of them")
        if answer["in_suspense"]:
            emit(answer["in_suspense"], fmt, title="Used, not matched to a work (suspense)")
