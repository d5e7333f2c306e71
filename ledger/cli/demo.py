"""``royalty demo``: the whole flow on embedded defaults, narrated."""

from __future__ import annotations

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

    console.rule("1. catalog and licenses")
    catalog = flow.default_catalog()
    flow.setup_catalog(ledger, catalog, console.print)
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

        console.rule("3. works registered late: re-evaluated and back-paid")
        console.print(flow.register_late_works(ledger, catalog))
        from workers import app as celery_app

        celery_app.send_task("royalty.reevaluate")
        flow.wait_until(lambda: flow.outbox_empty(ledger), "the re-evaluation", 120, process)

    console.rule("4. payouts")
    run = flow.pay(ledger)
    if run.sandbox:
        console.print(f"[bold yellow]{LABEL}[/bold yellow]")
    console.print(f"paid {len(run.paid)} creators; {len(run.skipped)} below their threshold")

    console.rule("5. reports")
    out.mkdir(parents=True, exist_ok=True)
    written = _write_reports(ledger, out)
    data = flow.summary(ledger)
    table = Table(title="Summary", show_header=False)
    for name, value in [*data["events"].items(), *data["outcomes"].items()]:
        table.add_row(name.replace("_", " "), f"{value:,}")
    table.add_row("back-paid events", f"{data['back_paid_events']:,}")
    table.add_row("booked for creators", f"{data['owed_to_creators']:.9f} USD")
    table.add_row("paid to creators", f"{data['paid_to_creators']:.2f} USD"
                  + (" (sandbox)" if run.sandbox else ""))
    console.print(table)
    for path in written:
        console.print(f"report: {path}")
    console.print(f"[green]done in {time.monotonic() - started:.0f}s[/green]")


def _write_reports(ledger, out: Path) -> list[Path]:  # noqa: ANN001
    """HTML pages a person opens: each licensee's transparency report, and the statements
    of the three best-earning creators; balances as JSON."""
    from ledger.cli.output import dumps
    from ledger.reports import html, series, statement

    written = []
    with ledger.connect() as conn:
        for licensee in ("acme-ai", "lumen-labs", "orbit-search"):
            data = usage_reports.transparency(conn, licensee)
            page = html.transparency_html(data, series.transparency_series(conn, licensee, None))
            written.append(_save(out / f"transparency-{licensee}.html", page))
        balances = ledger_reports.balances(conn)
        written.append(_save(out / "balances.json", dumps(balances)))
        top = sorted(balances, key=lambda r: r["accrued"], reverse=True)[:3]
        for row in top:
            data = statement.statement(conn, row["creator"], None, row["currency"])
            name = statement.creator_row(conn, row["creator"])["name"]
            page = html.statement_html(data, series.statement_series(conn, data), name)
            written.append(_save(out / f"statement-{row['creator']}.html", page))
    return written


def _save(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path.resolve()
