"""``royalty payouts``, ``royalty creators onboard``, ``royalty webhooks serve`` and
``royalty report payouts``."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

from ledger.cli.context import err_console, get_ledger
from ledger.cli.output import Format, emit, format_option
from ledger.accounting.money import minor_exponent
from ledger.errors import ConfigurationError, InvalidInput, LedgerError, NotFound, RowError
from ledger.payouts import accounts, reconcile, service
from ledger.payouts.sandbox import LABEL
from ledger.payouts.schedule import retry_note
from ledger.reports import statement

app = typer.Typer(help="Pay creators (Stripe Connect, or the sandbox without a key).",
                  no_args_is_help=True)
webhooks_app = typer.Typer(help="The Stripe webhook endpoint.", no_args_is_help=True)
console = Console()


def _banner(fmt: Format = Format.table) -> None:
    provider = get_ledger().payout_provider
    if provider.sandbox:  # on standard error when standard output is for scripts
        (console if fmt is Format.table else err_console).print(
            f"[bold yellow]{LABEL}[/bold yellow]: ROYALTY_STRIPE_API_KEY is not set")


def _not_paid(summary: service.RunSummary) -> list[dict]:
    return [{"creator": c.creator, "currency": c.currency, "balance": c.balance,
             "amount": c.amount, "reason": c.code, "detail": c.reason}
            for c in summary.skipped]


def _summary_line(summary: service.RunSummary) -> str:
    totals: dict[str, Decimal] = {}
    for line in summary.paid:
        totals[line["currency"]] = totals.get(line["currency"], Decimal(0)) + line["amount"]
    counts = summary.counts()
    reasons = ", ".join(f"{service.REASONS[code]} {n}" for code, n in counts.items())
    head = (f"dry run, nothing was sent: would pay {len(summary.to_pay)}" if summary.dry_run else
            f"paid {len(summary.paid)}, failed {len(summary.failed)}, in flight "
            f"{len(summary.in_flight)}")
    return (f"{head}, not paid {len(summary.skipped)}" + (f" ({reasons})" if reasons else "")
            + ("" if summary.dry_run else "; total paid: " + (", ".join(
                f"{v:f} {k}" for k, v in sorted(totals.items())) or "nothing")))


@app.command("run")
def run_command(dry_run: bool = typer.Option(False, "--dry-run", help="Show who would be paid."),
                fmt: Format = format_option(Format.table, Format.json)) -> None:
    """Pay every creator whose balance reaches its threshold (floored to the minor unit);
    say for every creator not paid why."""
    ledger = get_ledger()
    _banner(fmt)
    with Progress(TextColumn("paying"), BarColumn(), MofNCompleteColumn(),
                  console=err_console, disable=dry_run) as progress:
        task = progress.add_task("payouts", total=None)
        with ledger.connect() as conn:
            summary = service.run(
                conn, ledger.payout_provider, threshold=ledger.settings.payout_threshold,
                dry_run=dry_run, account_max_age=ledger.settings.payout_account_max_age,
                progress=lambda _: progress.advance(task),
                started=lambda n: progress.update(task, total=n))
    lines = [{**line, "status": status} for status, lines in
             (("paid", summary.paid), ("failed", summary.failed),
              ("in flight", summary.in_flight)) for line in lines]
    retry = _retry_note() if summary.in_flight else None
    if fmt is Format.json:
        emit({"run": summary.run_id, "provider": summary.provider, "sandbox": summary.sandbox,
              "dry_run": dry_run,
              "would_pay": [{"creator": c.creator, "currency": c.currency,
                             "balance": c.balance, "amount": c.amount}
                            for c in summary.to_pay] if dry_run else [],
              "payouts": lines, "retry": retry, "not_paid": _not_paid(summary),
              "counts": {"paid": len(summary.paid), "failed": len(summary.failed),
                         "in_flight": len(summary.in_flight),
                         "would_pay": len(summary.to_pay) if dry_run else 0,
                         "not_paid": summary.counts()}}, fmt)
        return
    if dry_run:
        emit([{"creator": c.creator, "currency": c.currency, "balance": c.balance,
               "would pay": c.amount} for c in summary.to_pay], Format.table,
             title="Dry run: would pay (nothing was sent)")
    else:
        emit([{k: r[k] for k in ("payout", "creator", "currency", "amount", "status",
                                 "transfer")} for r in lines], Format.table,
             title=f"Payout run {summary.run_id or '-'} ({summary.provider})")
        for r in lines:  # the reasons in full, one line each: a table cell would fold them
            if r["status"] != "paid":
                console.print(f"payout {r['payout']} ({r['creator']}, {r['amount']:f} "
                              f"{r['currency']}) {r['status']}: {r['reason']}",
                              soft_wrap=True, markup=False, highlight=False)
    if summary.skipped:
        emit([{"creator": c.creator, "currency": c.currency, "balance": c.balance,
               "why not paid": c.reason} for c in summary.skipped], Format.table,
             title="Not paid")
    console.print(_summary_line(summary), soft_wrap=True, markup=False, highlight=False)
    if retry:
        console.print(f"{len(summary.in_flight)} in flight: Stripe's answer is not known yet; "
                      f"looked at again (same payout, same key) by the {retry}",
                      soft_wrap=True, markup=False, highlight=False)


def _retry_note() -> str:
    return retry_note(get_ledger().settings.payout_schedule, datetime.now(UTC))


def _payout_rows(run: int | None = None) -> list[dict]:
    """Every payout; one still in flight says why (its last unclear answer) and when it is
    looked at again."""
    with get_ledger().connect() as conn:
        rows = service.list_payouts(conn, run)
    retry = _retry_note() if any(r["status"] == "submitted" for r in rows) else None
    for row in rows:
        in_flight = row["status"] == "submitted"
        row["in_flight"] = (row["failure"] or "no answer recorded yet") if in_flight else None
        row["retry"] = retry if in_flight else None
    return rows


def _emit_payouts(run: int | None, fmt: Format, output: Path | None) -> None:
    rows = _payout_rows(run)
    if fmt is not Format.table:
        emit(rows, fmt, title="Payouts", output=output)
        return
    # A table folds long text: the reason stays (it differs per payout), the retry note is
    # the same for all and is said once below.
    emit([{k: v for k, v in r.items() if k not in ("in_flight", "retry")} for r in rows],
         fmt, title="Payouts", output=output)
    retry = next((r["retry"] for r in rows if r["retry"]), None)
    if retry and output is None:
        console.print(f"in flight (failure column: why): looked at again by the {retry}",
                      soft_wrap=True, markup=False, highlight=False)


@app.command("list")
def list_command(run: int | None = typer.Option(None, help="Only this run."),
                 fmt: Format = format_option(),
                 output: Path | None = typer.Option(None, "--output", "-o")) -> None:
    """Every payout: run, creator, amount, status, transfer; why one is still in flight."""
    _emit_payouts(run, fmt, output)


def report_payouts(run: int | None = typer.Option(None, help="Only this run."),
                   fmt: Format = format_option(),
                   output: Path | None = typer.Option(None, "--output", "-o")) -> None:
    """Payouts by run, creator and status."""
    _emit_payouts(run, fmt, output)


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
        if run is not None and not service.run_exists(conn, run):
            raise NotFound(f"no payout run {run} (see `royalty payouts list`)")
        result = reconcile.reconcile(conn, ledger.payout_provider, run_id=run, period=period)
    if result.problems:
        emit([_in_major_units(p) for p in result.problems], fmt, title="Disagreements")
    console.print(f"checked {result.checked} payouts; settled {result.settled} in flight; "
                  f"applied {result.reversed} reversals; {len(result.problems)} disagreements")
    if not result.ok:
        raise typer.Exit(1)


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


def refresh_command(creators: list[str] | None = typer.Argument(
                        None, help="Creator keys; none: every creator with an account."),
                    fmt: Format = format_option(),
                    output: Path | None = typer.Option(None, "--output", "-o")) -> None:
    """Fetch creators' payout account states from the provider now (concurrently); exit 1
    when an account could not be fetched."""
    ledger = get_ledger()
    _banner(fmt)
    with Progress(TextColumn("checking accounts"), BarColumn(), MofNCompleteColumn(),
                  console=err_console) as progress, ledger.connect() as conn:
        task = progress.add_task("accounts", total=None)
        checked = accounts.refresh_creators(
            conn, ledger.payout_provider, list(creators or []),
            progress=lambda _: progress.advance(task),
            total=lambda n: progress.update(task, total=n))
    emit([{"creator": c.creator, "account": c.account, "payouts": c.payouts, "note": c.note}
          for c in checked], fmt, title="Payout accounts", output=output)
    failed = [c.creator for c in checked if c.failed]
    if failed:
        raise LedgerError(f"{len(failed)} account(s) could not be fetched: "
                          f"{', '.join(failed)}; their creators are not paid until they can")


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
