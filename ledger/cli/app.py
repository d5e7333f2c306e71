"""The ``royalty`` command: one Typer app, sub-apps per domain."""

from __future__ import annotations

import sys
from importlib import metadata

import typer
from rich.markup import escape

from ledger.cli import (
    catalog, db, demo, events, failures, fingerprints, ingest, matches, payouts, periods,
    producers, report,
)
from ledger.cli.context import err_console
from ledger.cli.inputs import argument_problems
from ledger.errors import InvalidInput, LedgerError, RowError

app = typer.Typer(name="royalty", no_args_is_help=True, pretty_exceptions_enable=False,
                  help="royalty-ledger: what AI used, who is owed, and paying them.")


def _print_version(value: bool) -> None:
    if not value:
        return
    try:
        version = metadata.version("royalty-ledger")
    except metadata.PackageNotFoundError:  # run from a checkout that was never installed
        version = "unknown (not installed)"
    typer.echo(f"royalty-ledger {version}")
    raise typer.Exit()


@app.callback()
def _options(version: bool = typer.Option(False, "--version", is_eager=True,
                                          callback=_print_version,
                                          help="Print the version and exit.")) -> None:
    """royalty-ledger: what AI used, who is owed, and paying them."""


app.add_typer(db.app, name="db")
app.command("import")(catalog.import_command)
app.add_typer(catalog.creators_app, name="creators")
app.add_typer(catalog.works_app, name="works")
app.add_typer(catalog.licensees_app, name="licensees")
app.add_typer(catalog.licenses_app, name="licenses")
app.command("emit")(ingest.emit_command)
app.command("worker")(ingest.worker_command)
app.command("status")(ingest.status_command)
app.add_typer(ingest.dead_letters_app, name="dead-letters")
app.add_typer(events.app, name="events")
app.add_typer(report.app, name="report")
app.add_typer(payouts.app, name="payouts")
app.add_typer(periods.app, name="periods")
app.add_typer(periods.revenue_app, name="revenue")
app.add_typer(payouts.webhooks_app, name="webhooks")
catalog.creators_app.command("onboard")(payouts.onboard_command)
catalog.creators_app.command("refresh")(payouts.refresh_command)
catalog.licensees_app.command("grant-producer")(producers.grant_producer)
catalog.licensees_app.command("revoke-producer")(producers.revoke_producer)
report.app.command("payouts")(payouts.report_payouts)
app.command("demo")(demo.demo)
app.command("fingerprint")(fingerprints.fingerprint_command)
app.add_typer(matches.matches_app, name="matches")
app.add_typer(matches.claims_app, name="claims")
app.command("lookup")(report.lookup_command)


def _usage_errors() -> tuple[type[Exception], ...]:
    """Typer ≥ 0.29 vendors its own click; catch both kinds of usage error."""
    import click

    kinds: list[type[Exception]] = [click.ClickException]
    try:
        from typer._click.exceptions import ClickException
    except ImportError:
        pass
    else:
        kinds.append(ClickException)
    return tuple(kinds)


_USAGE_ERRORS = _usage_errors()


def main() -> None:
    """Entry point: domain errors become exit codes and readable reasons."""
    try:
        if problems := argument_problems(sys.argv[1:]):
            raise InvalidInput([RowError(0, problem) for problem in problems])
        # Without standalone mode click hands back a `typer.Exit`'s code instead of exiting.
        code = app(standalone_mode=False)
    except InvalidInput as exc:
        _print_invalid(exc)
        sys.exit(exc.exit_code)
    except LedgerError as exc:
        err_console.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False)
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        err_console.print("aborted")
        sys.exit(1)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except _USAGE_ERRORS as exc:  # usage errors carry their own exit code (2)
        exc.message = failures.plain(exc.message)
        exc.show()
        sys.exit(exc.exit_code)
    except Exception as exc:
        failure = failures.explain(exc)
        if failure is None:
            raise
        err_console.print(f"[red]error:[/red] {escape(failure.message)}", highlight=False)
        sys.exit(failure.exit_code)
    sys.exit(code if isinstance(code, int) else 0)


def _print_invalid(exc: InvalidInput) -> None:
    """Rows of a file are listed under one verdict; a bad option (line 0) is said alone."""
    rows = [error for error in exc.errors if error.line > 0]
    for error in exc.errors:
        if error.line <= 0:
            err_console.print(f"[red]error:[/red] {escape(error.reason)}", highlight=False)
    if rows:
        err_console.print(f"[red]rejected: {len(rows)} problem(s); nothing was written[/red]")
        for error in rows:
            err_console.print(f"  {error}", markup=False, highlight=False)


if __name__ == "__main__":
    main()
