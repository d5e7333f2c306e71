"""``royalty demo``: the whole flow on embedded defaults, narrated."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import typer
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from ledger.cli.context import get_ledger
from ledger.payouts.sandbox import LABEL
from ledger.reports import ledger_reports, usage_reports

console = Console()


def demo(out: Path = typer.Option(Path("out/demo"), help="Where the demo writes reports."),
         events: int = typer.Option(100_000, help="Usage events to generate.")) -> None:
    """Run the whole flow: catalog, licenses, usage through broker and worker, back-pay,
    a sandbox payout and the reports."""
    from ledger.demo import flow  # the catalog importers, Alembic: for this command only

    started = time.monotonic()
    ledger = get_ledger()
    where = (f"embedded PostgreSQL under {ledger.settings.home}" if ledger.database_is_embedded
             else "ROYALTY_DATABASE_URL")
    broker = ("embedded (kombu SQL transport on the same PostgreSQL)"
              if ledger.broker_is_embedded else "ROYALTY_BROKER_URL")
    console.print(Panel.fit(f"[bold]royalty-ledger demo[/bold]\ndatabase: {where}\n"
                            f"broker:   {broker}\npayouts:  {ledger.payout_provider.name}"))

    catalog = flow.default_catalog()
    flow.refuse_foreign_data(ledger, catalog)
    again = flow.late_works_registered(ledger, catalog)

    console.rule("1. catalog and licenses")
    flow.setup_catalog(ledger, catalog, console.print)
    if again:
        console.print("[dim]an earlier run registered every work: this run's events are "
                      "resent duplicates, and nothing is back-paid[/dim]")
    else:
        console.print(f"[dim]{flow.HELD_BACK} works are held back, to be registered after "
                      "their use[/dim]")

    console.rule("2. usage: producer → broker → worker → ledger")
    usage = flow.demo_usage(catalog, events)
    baseline = flow.received(ledger)
    with flow.worker(ledger, out / "worker.log") as process:
        with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                      TimeElapsedColumn(), console=console) as progress:
            published = progress.add_task("published", total=len(usage))
            stored = progress.add_task("stored   ", total=len(usage))
            flow.publish(ledger, usage, lambda n: progress.advance(published, n))

            def all_stored() -> bool:
                progress.update(stored, completed=flow.received(ledger) - baseline)
                return flow.received(ledger) - baseline >= len(usage)

            flow.wait_until(all_stored, "every event to be stored", 300, process)
        console.print(f"{len(usage)} events published and stored")
        console.print("[dim]on purpose, about 2% of them are resent (pipeline retries: counted "
                      "as duplicates, booked once) and 0.3% are bad (a malformed time, an "
                      "unregistered licensee): those become dead letters, kept with their "
                      "reason[/dim]")

        console.rule("3. works registered late: re-evaluated and back-paid" if not again
                     else "3. works registered late: already, by an earlier run")
        console.print(flow.register_late_works(ledger, catalog))
        from workers import app as celery_app

        celery_app.send_task("royalty.reevaluate")
        flow.wait_until(lambda: flow.outbox_empty(ledger), "the re-evaluation", 120, process)

    console.rule("4. deals: revenue reported, periods closed")
    runs = flow.close_periods(ledger)
    for run in runs:
        console.print(f"closed {run.license} {run.label}: {run.events:,} uses, pool "
                      f"{run.pool:,.2f}" + (f" ({run.revenue:,.2f} revenue reported)"
                                            if run.revenue is not None else "")
                      + (f", {run.unallocated:,.2f} unallocated" if run.unallocated else ""),
                      highlight=False)
    if not runs:
        console.print("every period that has ended was closed by an earlier run")

    console.rule("5. payouts")
    run = flow.pay(ledger)
    if run.sandbox:
        console.print(f"[bold yellow]{LABEL}[/bold yellow]")
    console.print(f"paid {len(run.paid)} creators; {len(run.skipped)} below their threshold")

    console.rule("6. reports")
    out.mkdir(parents=True, exist_ok=True)
    written = _write_reports(ledger, out)
    data = flow.summary(ledger)
    table = Table(title="Summary", show_header=False)
    for name, value in [*data["events"].items(), *data["outcomes"].items()]:
        table.add_row(name.replace("_", " "), f"{value:,}")
    table.add_row("back-paid events", f"{data['back_paid_events']:,}")
    booked = data["owed_to_creators"]
    table.add_row("booked for creators", f"{booked:,.2f} USD (exactly {booked:f})")
    table.add_row("paid to creators", f"{data['paid_to_creators']:.2f} USD"
                  + (" (sandbox)" if run.sandbox else ""))
    console.print(table)
    console.print(f"[green]done in {time.monotonic() - started:.0f}s[/green]")
    _next_steps(written, ledger.database_is_embedded)


def _next_steps(written: list[Path], embedded: bool) -> None:
    console.rule("what to open, what to try next")
    console.print("Open in a browser:")
    for path in written:
        if path.suffix == ".html":
            console.print(f"  {path}", highlight=False, soft_wrap=True)
    console.print("Try:", highlight=False)
    for command, what in (
            ("royalty status", "events received, duplicates, dead letters, outcomes"),
            ("royalty report dead-letters", "the deliberate bad events and why"),
            (f"royalty report statement --creator {_first_statement(written)}",
             "a creator's statement in the terminal"),
            ("royalty report unlicensed", "uses no license covers"),
            ("royalty payouts list", "the sandbox payouts"),
            ("royalty periods list", "the deals' periods: pools, revenue, allocations"),
            *((("royalty db stop", "stop the embedded PostgreSQL when done"),)
              if embedded else ())):
        command = command.replace("royalty", _program(), 1)
        console.print(f"  {command:<50} # {what}", highlight=False, markup=False,
                      soft_wrap=True)


def _first_statement(written: list[Path]) -> str:
    return next((p.stem.removeprefix("statement-") for p in written
                 if p.stem.startswith("statement-")), "c-0001")


def _program() -> str:
    """How this command was called, as the reader can type it again (``make demo`` runs
    ``.venv/bin/royalty``, which is not on the PATH)."""
    called = Path(sys.argv[0])
    if called.name == "royalty" and called.is_absolute() and called.is_relative_to(Path.cwd()):
        return str(called.relative_to(Path.cwd()))
    return "royalty"


def _write_reports(ledger, out: Path) -> list[Path]:  # noqa: ANN001
    """HTML pages a person opens: each licensee's transparency report, and the statements
    of the three best-earning creators; balances as JSON."""
    from ledger.cli.output import dumps
    from ledger.reports import html, series, statement

    written = []
    with ledger.connect() as conn:
        for licensee in ("acme-ai", "lumen-labs", "orbit-search", "kestrel-ai", "vista-chat"):
            data = usage_reports.transparency(conn, licensee)
            page = html.transparency_html(data, series.transparency_series(conn, licensee, None))
            written.append(_save(out / f"transparency-{licensee}.html", page))
        balances = ledger_reports.balances(conn)
        written.append(_save(out / "balances.json", dumps(balances)))
        top = sorted(balances, key=lambda r: r["accrued"], reverse=True)[:3]
        for row in top:
            data = statement.statement(conn, row["creator"], None, row["currency"])
            name = statement.creator_row(conn, row["creator"])["name"]
            page = html.statement_html(data, series.statement_series(conn, data), name,
                                       statement.readers_details(conn, data))
            written.append(_save(out / f"statement-{row['creator']}.html", page))
    return written


def _save(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path.resolve()
