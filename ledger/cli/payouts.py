"""``royalty payouts``, ``royalty creators onboard``, ``royalty webhooks serve`` and
``royalty report payouts``."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import typer
from psycopg.rows import dict_row
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from ledger.cli.context import err_console, get_ledger
from ledger.cli.output import Format, emit, format_option
from ledger.accounting.money import minor_exponent
from ledger.errors import ConfigurationError, InvalidInput, NotFound, RowError
from ledger.payouts import accounts, reconcile, service
from ledger.payouts.sandbox import LABEL
from ledger.reports import statement

app = typer.Typer(help="Pay creators (Stripe Connect, or the sandbox without a key).",
                  no_args_is_help=True)
webhooks_app = typer.Typer(help="The Stripe webhook endpoint.", no_args_is_help=True)
console = Console()


def _banner() -> None:
    provider = get_ledger().payout_provider
    if provider.sandbox:
        console.print(f"[bold yellow]{LABEL}[/bold yellow]: ROYALTY_STRIPE_API_KEY is not set")


@app.command("run")
def run_command(dry_run: bool = typer.Option(False, "--dry-run", help="Show who would be paid.")
                ) -> None:
    """Pay every creator whose balance reaches its threshold (floored to the minor unit)."""
    ledger = get_ledger()
    _banner()
    with ledger.connect() as conn:
        due = [c for c in service.candidates(conn, ledger.payout_provider,
                                             ledger.settings.payout_threshold) if not c.reason]
        conn.commit()
        with Progress(TextColumn("paying"), BarColumn(), MofNCompleteColumn(),
                      console=err_console, disable=dry_run) as progress:
            task = progress.add_task("payouts", total=len(due))
            summary = service.run(conn, ledger.payout_provider,
                                  threshold=ledger.settings.payout_threshold, dry_run=dry_run,
                                  progress=lambda _: progress.advance(task))
    if dry_run:
        emit([{"creator": c.creator, "currency": c.currency, "balance": c.balance,
               "would pay": c.amount} for c in summary.to_pay], Format.table,
             title="Dry run: would pay (nothing was sent)")
    else:
        rows = [{**line, "status": status} for status, lines in
                (("paid", summary.paid), ("failed", summary.failed),
                 ("in flight", summary.in_flight)) for line in lines]
        emit([{k: r[k] for k in ("creator", "currency", "amount", "status", "transfer",
                                 "reason")} for r in rows], Format.table,
             title=f"Payout run {summary.run_id or '-'} ({summary.provider})")
    totals: dict[str, object] = {}
    for line in summary.paid:
        totals[line["currency"]] = totals.get(line["currency"], 0) + line["amount"]
    console.print(f"paid {len(summary.paid)}, failed {len(summary.failed)}, in flight "
                  f"{len(summary.in_flight)}, not due {len(summary.skipped)}; total paid: "
                  + (", ".join(f"{v:f} {k}" for k, v in sorted(totals.items())) or "nothing"))


def _payout_rows(run: int | None = None) -> list[dict]:
    with get_ledger().connect() as conn:
        return conn.cursor(row_factory=dict_row).execute("""
            SELECT o.id AS payout, o.run_id AS run, c.key AS creator, o.currency, o.amount,
                   o.status, o.transfer_id AS transfer, o.created_at AS created, o.failure
            FROM payout o JOIN creator c ON c.id = o.creator_id
            WHERE %(run)s::bigint IS NULL OR o.run_id = %(run)s ORDER BY o.id""",
            {"run": run}).fetchall()


@app.command("list")
def list_command(run: int | None = typer.Option(None, help="Only this run."),
                 fmt: Format = format_option(),
                 output: Path | None = typer.Option(None, "--output", "-o")) -> None:
    """Every payout: run, creator, amount, status, transfer."""
    emit(_payout_rows(run), fmt, title="Payouts", output=output)


def report_payouts(run: int | None = typer.Option(None, help="Only this run."),
                   fmt: Format = format_option(),
                   output: Path | None = typer.Option(None, "--output", "-o")) -> None:
    """Payouts by run, creator and status."""
    emit(_payout_rows(run), fmt, title="Payouts", output=output)


@app.command("reconcile")
def reconcile_command(run: int | None = typer.Option(None, help="Only this run."),
                      period: str | None = typer.Option(None, help="Payouts made in YYYY-MM."),
                      fmt: Format = format_option()) -> None:
    """Compare the ledger's payouts with the provider's transfers; exit 1 if anything is off."""
    if run is not None and period is not None:
        raise InvalidInput([RowError(0, "give --run or --period, not both")])
    statement.period_bounds(period)  # a bad month is refused before connecting
    ledger = get_ledger()
    _banner()
    with ledger.connect() as conn:
        if run is not None and conn.execute(RUN_EXISTS, (run,)).fetchone() is None:
            raise NotFound(f"no payout run {run} (see `royalty payouts list`)")
        result = reconcile.reconcile(conn, ledger.payout_provider, run_id=run, period=period)
    if result.problems:
        emit([_in_major_units(p) for p in result.problems], fmt, title="Disagreements")
    console.print(f"checked {result.checked} payouts; settled {result.settled} in flight; "
                  f"applied {result.reversed} reversals; {len(result.problems)} disagreements")
    if not result.ok:
        raise typer.Exit(1)


RUN_EXISTS = "SELECT 1 FROM payout_run WHERE id = %s"


def _in_major_units(problem: dict) -> dict:
    """Reconcile compares minor units (Stripe's); show them as every other report does."""
    scale = Decimal(10) ** -minor_exponent(problem["currency"] or "USD")
    return {**problem, **{key: None if problem[key] is None else problem[key] * scale
                          for key in ("ledger_amount", "provider_amount")}}


def onboard_command(creator: str = typer.Argument(..., help="Creator key."),
                    return_url: str = typer.Option("https://royalty-ledger.example/onboarded"),
                    refresh_url: str = typer.Option("https://royalty-ledger.example/onboard")
                    ) -> None:
    """Create (or reuse) the creator's Connect account and print an onboarding link."""
    ledger = get_ledger()
    _banner()
    with ledger.connect() as conn:
        account_id, link = accounts.onboard(conn, ledger.payout_provider, creator,
                                            refresh_url=refresh_url, return_url=return_url)
    console.print(f"account {account_id}\nonboarding link: {link}", soft_wrap=True)


@webhooks_app.command("serve")
def serve(host: str = typer.Option("127.0.0.1"), port: int = typer.Option(8000)) -> None:
    """Serve POST /stripe/webhooks (and /healthz) with uvicorn."""
    import uvicorn

    from ledger.payouts.webhooks import create_app

    ledger = get_ledger()
    secret = ledger.settings.stripe_webhook_secret
    if not secret:
        raise ConfigurationError("ROYALTY_STRIPE_WEBHOOK_SECRET is not set: the webhook "
                                 "endpoint refuses to start without it")
    uvicorn.run(create_app(ledger.database_url, ledger.payout_provider, secret),
                host=host, port=port, log_level="info")
