"""Series behind the HTML reports' charts: per month, model, work or licensee.

Money stays ``Decimal``; counts are ints. Months are ``YYYY-MM`` in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

import psycopg
from psycopg.rows import dict_row

from ledger.matching.rules import OUTCOMES
from ledger.reports import sql, tallies
from ledger.reports.sql import ACCRUAL_KINDS
from ledger.reports.usage_reports import in_index_order, licensee_id

NANO = Decimal("1e-9")


def sum_by(lines: Iterable[dict], key: str, value: str = "amount") -> dict:
    """Exact totals of ``value`` per ``key`` over statement lines, in first-seen order."""
    totals: dict = {}
    for line in lines:
        name = line.get(key)
        totals[name] = totals.get(name, 0) + line[value]
    return totals


def ledger_by_month(conn: psycopg.Connection, creator_id: int, currency: str) -> list[dict]:
    """What the ledger accrued for and paid to a creator per booking month (all time)."""
    rows = conn.cursor(row_factory=dict_row).execute(sql.LEDGER_BY_MONTH, {
        "creator": creator_id, "currency": currency, "accrual": list(ACCRUAL_KINDS)}).fetchall()
    return [{**r, "accrued": r["accrued"].quantize(NANO), "paid": r["paid"].quantize(NANO)}
            for r in rows]


def _params(conn: psycopg.Connection, licensee: str, model: str | None) -> dict:
    return {"licensee": licensee_id(conn, licensee), "model": model}


def _month(value: date) -> str:
    """A tally month as ``YYYY-MM``."""
    return value.strftime("%Y-%m")


def usage_by_month(conn: psycopg.Connection, licensee: str, model: str | None) -> list[dict]:
    """Events per usage month, by outcome (from the usage tally)."""
    params = _params(conn, licensee, model)
    months: dict[str, dict] = {}
    for month, outcome, events, _, _ in tallies.rows(conn, params["licensee"], model,
                                                   by=("month", "outcome")):
        if events:
            key = _month(month)
            months.setdefault(key, {"month": key, **dict.fromkeys(OUTCOMES, 0)})[outcome] = events
    return list(months.values())


def usage_by_model(conn: psycopg.Connection, licensee: str, model: str | None) -> list[dict]:
    """Events and accrued events per model, most used first (from the usage tally)."""
    params = _params(conn, licensee, model)
    models: dict[str, dict] = {}
    for name, outcome, events, _, _ in tallies.rows(conn, params["licensee"], model,
                                                  by=("model", "outcome")):
        found = models.setdefault(name or "(none)", {"model": name or "(none)", "events": 0,
                                                     "accrued": 0})
        found["events"] += events
        if outcome == "accrued":
            found["accrued"] += events
    ranked = sorted(models.values(), key=lambda m: (-m["events"], m["model"]))
    return [m for m in ranked if m["events"]][:30]


def top_works(conn: psycopg.Connection, licensee: str, model: str | None,
              limit: int = 15) -> list[dict]:
    """The registered works used most, with how many of those uses were licensed."""
    with in_index_order(conn):
        return conn.cursor(row_factory=dict_row).execute(
            sql.TOP_WORKS, {**_params(conn, licensee, model), "limit": limit}).fetchall()


def owed_by_month(conn: psycopg.Connection, licensee: str, model: str | None) -> list[dict]:
    """Royalties owed (gross of accrued uses) per usage month and currency (from the usage
    tally)."""
    params = _params(conn, licensee, model)
    found = [(currency, _month(month), gross, net, events)
             for outcome, month, currency, events, gross, net in tallies.rows(
                 conn, params["licensee"], model, by=("outcome", "month", "currency"))
             if outcome == "accrued" and events]
    return [{"month": month, "currency": currency, "gross": gross, "net": net, "events": events}
            for currency, month, gross, net, events in sorted(found)]


def transparency_series(conn: psycopg.Connection, licensee: str, model: str | None) -> dict:
    return {"by_month": usage_by_month(conn, licensee, model),
            "by_model": usage_by_model(conn, licensee, model),
            "top_works": top_works(conn, licensee, model),
            "owed_by_month": owed_by_month(conn, licensee, model)}


def statement_series(conn: psycopg.Connection, statement: dict) -> dict:
    creator_id = conn.execute(sql.CREATOR_ID, (statement["creator"],)).fetchone()[0]
    return {"ledger_by_month": ledger_by_month(conn, creator_id, statement["currency"])}


