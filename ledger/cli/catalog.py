"""``royalty import`` and the catalog listings (creators, works, licensees, licenses)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich import print as rprint

from ledger import jsonl
from ledger.catalog.kinds import ImportKind
from ledger.cli.context import err_console, get_ledger
from ledger.cli.output import Format, emit, format_option, working
from ledger.errors import InvalidInput, RowError

if TYPE_CHECKING:
    from ledger.imports import Plan


def _queries():  # noqa: ANN202 - the module ledger.catalog.queries
    """The catalog's queries, imported by the commands that use them (with SQLAlchemy):
    every other command starts without them."""
    from ledger.catalog import queries

    return queries


FORMAT = format_option()
OUTPUT = typer.Option(None, "--output", "-o", help="Write to this file instead of the terminal.")

creators_app = typer.Typer(help="Creators and their payout accounts.", no_args_is_help=True)
works_app = typer.Typer(help="Registered works.", no_args_is_help=True)
licensees_app = typer.Typer(help="Licensees (the AI companies).", no_args_is_help=True)
licenses_app = typer.Typer(help="Licenses in force and their terms.", no_args_is_help=True)


def import_command(
    kind: ImportKind = typer.Argument(..., help="What the file holds."),
    file: str = typer.Argument(..., help="JSON Lines file; - for standard input."),
) -> None:
    """Import creators, works, licensees or licenses: all rows or none (contract §4)."""
    from ledger.catalog.service import import_file

    ledger = get_ledger()
    with jsonl.open_input(file) as stream, working(f"importing {kind.value} …"):
        result = import_file(ledger.engine, kind, stream, after_commit=_request_reevaluation)
    rprint(f"[green]imported {result.kind}[/green]: {result.rows} rows — "
           f"{result.created} created, {result.updated} updated, {result.unchanged} unchanged")


def _request_reevaluation(plan: Plan) -> None:
    """Ask the workers to re-evaluate now; beat's periodic sweep is the safety net."""
    if not (plan.changed_work_ids or plan.changed_creator_ids or plan.changed_licensee_ids):
        return
    from workers import app as celery_app

    try:
        celery_app.send_task("royalty.reevaluate")
    except Exception as exc:  # noqa: BLE001 - the outbox row is committed; beat retries
        err_console.print(f"[yellow]note:[/yellow] re-evaluation queued for the next sweep "
                          f"({type(exc).__name__}: {exc})")


@creators_app.command("list")
def creators_list(fmt: Format = FORMAT, output: Path | None = OUTPUT) -> None:
    """Every creator, with currency, payout account (and when its state was last
    checked) and opt-outs."""
    with get_ledger().engine.connect() as conn:
        rows = _queries().list_creators(conn)
    if fmt is Format.table:
        rows = [{"creator": r["creator"], "name": r["name"], "currency": r["currency"],
                 "payout account": r["stripe_account"] or "",
                 "payouts": _payouts_state(r),
                 "last checked": (f"{r['account_checked_at']:%Y-%m-%d %H:%M} UTC"
                                  if r["account_checked_at"] else
                                  "never" if r["stripe_account"] else ""),
                 "opt out": r["opt_out"], "works": r["works"],
                 "retired": f"{r['retired_at']:%Y-%m-%d %H:%M} UTC" if r["retired_at"] else ""}
                for r in rows]
    emit(rows, fmt, title="Creators", output=output)


def _payouts_state(row: dict) -> str:
    if not row["stripe_account"]:
        return "no account"
    if row["account_checked_at"] is None:
        return "not checked yet"  # an imported account: fetched before the next run
    if row["payouts_enabled"]:
        return "enabled"
    return ("due: " + ", ".join(row["requirements_due"]) if row["requirements_due"]
            else "not enabled")


@works_app.command("list")
def works_list(limit: int = typer.Option(100, help="At most this many works."),
               fmt: Format = FORMAT, output: Path | None = OUTPUT) -> None:
    """Registered works (the first LIMIT by key)."""
    with get_ledger().engine.connect() as conn:
        emit(_queries().list_works(conn, limit), fmt, title="Works", output=output)


@works_app.command("show")
def works_show(work: str = typer.Argument(..., help="Work key."),
               fmt: Format = FORMAT, output: Path | None = OUTPUT) -> None:
    """One work: identifiers and every split version."""
    with get_ledger().engine.connect() as conn:
        data = _queries().show_work(conn, work)
    if fmt is not Format.table:
        emit(data, fmt, output=output)
        return
    rprint(f"[bold]{data['work']}[/bold] — {data['title']} ({data['kind'] or 'work'})")
    rprint(f"opt-out: {', '.join(data['opt_out']) or 'none'}")
    if data.get("retired_at"):
        rprint(f"retired: {data['retired_at']:%Y-%m-%d %H:%M} UTC (matches no use from then on)")
    emit([{"kind": k, "value": one} for k, v in data["identifiers"].items()
          for one in ([v] if isinstance(v, str) else v)], fmt,
         title="Identifiers")
    rows = [{"effective_from": v["effective_from"] or "beginning", "creator": s["creator"],
             "share": s["share"]} for v in data["splits"] for s in v["shares"]]
    emit(rows, fmt, title="Split versions")


@licensees_app.command("list")
def licensees_list(fmt: Format = FORMAT, output: Path | None = OUTPUT) -> None:
    """Every licensee and how many licenses it holds."""
    with get_ledger().engine.connect() as conn:
        emit(_queries().list_licensees(conn), fmt, title="Licensees", output=output)


@licenses_app.command("list")
def licenses_list(licensee: str | None = typer.Option(None, help="Only this licensee."),
                  fmt: Format = FORMAT, output: Path | None = OUTPUT) -> None:
    """Licenses: scope, purposes, validity, rate and platform fee."""
    with get_ledger().engine.connect() as conn:
        rows = _queries().list_licenses(conn, licensee)
    if fmt is Format.table:
        rows = [{"license": r["license"], "licensee": r["licensee"],
                 "scope": r["scope"] if r["scope"] == "catalog" else
                 f"{r['scope']}: {', '.join(r['works'] or r['creators'])}",
                 "purposes": r["purposes"],
                 "valid": f"{r['valid_from']:%Y-%m-%d} → " + (
                     "open" if r["valid_until"] is None else f"{r['valid_until']:%Y-%m-%d}"),
                 "rate": describe_rate(r["rate"], r["currency"]),
                 "fee": r["platform_fee"],
                 "retired": f"{r['retired_at']:%Y-%m-%d %H:%M} UTC" if r["retired_at"] else ""}
                for r in rows]
    emit(rows, fmt, title="Licenses", output=output)


def describe_rate(rate: dict, currency: str) -> str:
    """A license's rate in words: 0.0023 USD/uses, 250000.00 USD per quarter (pool)…"""
    if rate["type"] == "pool":
        text = f"{rate['amount']} {currency} per {rate['period']} (pool, by {rate['unit']})"
    elif rate["type"] == "revenue_share":
        text = f"{rate['share']} of revenue per {rate['period']} (by {rate['unit']})"
    else:
        text = f"{rate['price']} {currency}/{rate['unit']}"
    if minimum := rate.get("minimum"):
        text += f", minimum {minimum['amount']} {currency} per {minimum['period']}"
    return text


AT = typer.Option(None, "--at", help="From when (RFC 3339 with a time zone, e.g. "
                  "2026-12-01T00:00:00Z); default: now.")


def _moment(given: str | None) -> datetime:
    if given is None:
        return datetime.now(UTC)
    try:
        moment = datetime.fromisoformat(given)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None or "T" not in given.upper():
        raise InvalidInput([RowError(0, f"--at {given!r} is not an RFC 3339 timestamp with a "
                                        "time zone (e.g. 2026-12-01T00:00:00Z)")])
    return moment


def _retire(what: str, key: str, planner) -> None:  # noqa: ANN001 - a planner of ledger.imports
    from ledger.imports import apply

    plan = apply(get_ledger().engine, planner, after_commit=_request_reevaluation)
    if plan.unchanged:
        rprint(f"{what} {key!r} was retired at that moment already: nothing changed")
        return
    rprint(f"[green]retired {what} {key!r}[/green]; the uses it no longer covers are "
           "re-evaluated by the workers (`royalty status` counts them as pending until then)")


@works_app.command("retire")
def works_retire(work: str = typer.Argument(..., help="Work key."), at: str | None = AT) -> None:
    """Retire a work: from --at on it matches no use; uses before stay as booked."""
    from ledger.catalog.importer import plan_work_retirement

    _retire("work", work, plan_work_retirement(work, _moment(at)))


@licenses_app.command("retire")
def licenses_retire(license: str = typer.Argument(..., help="License key."),  # noqa: A002
                    at: str | None = AT) -> None:
    """Retire a license: from --at on it covers no use; uses before stay as booked."""
    from ledger.licensing.importer import plan_license_retirement

    _retire("license", license, plan_license_retirement(license, _moment(at)))


@creators_app.command("retire")
def creators_retire(creator: str = typer.Argument(..., help="Creator key."),
                    at: str | None = AT) -> None:
    """Retire a creator and, at the same moment, every work its split then names."""
    from ledger.catalog.importer import plan_creator_retirement

    _retire("creator", creator, plan_creator_retirement(creator, _moment(at)))
