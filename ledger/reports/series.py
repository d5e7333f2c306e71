"""Series behind the HTML reports' charts: per month, model, work or licensee.

Money stays ``Decimal``; counts are ints. Months are ``YYYY-MM`` in UTC.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from decimal import Decimal

import psycopg
from psycopg.rows import dict_row

from ledger.ingest import tally
from ledger.ingest.status import OUTCOMES
from ledger.reports.ledger_reports import ACCRUAL_KINDS
from ledger.reports.usage_reports import in_index_order, licensee_id

NANO = Decimal("1e-9")
_SCOPE = "e.licensee_id = %(licensee)s AND (%(model)s::text IS NULL OR e.model = %(model)s)"


def sum_by(lines: Iterable[dict], key: str, value: str = "amount") -> dict:
    """Exact totals of ``value`` per ``key`` over statement lines, in first-seen order."""
    totals: dict = {}
    for line in lines:
        name = line.get(key)
        totals[name] = totals.get(name, 0) + line[value]
    return totals


def ledger_by_month(conn: psycopg.Connection, creator_id: int, currency: str) -> list[dict]:
    """What the ledger accrued for and paid to a creator per booking month (all time)."""
    rows = conn.cursor(row_factory=dict_row).execute("""
        SELECT to_char(j.created_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
               coalesce(-sum(p.amount) FILTER (WHERE j.kind = ANY(%(accrual)s)), 0) AS accrued,
               coalesce(sum(p.amount) FILTER (WHERE NOT j.kind = ANY(%(accrual)s)), 0) AS paid
        FROM account a JOIN posting p ON p.account_id = a.id
        JOIN journal_entry j ON j.id = p.entry_id
        WHERE a.kind = 'creator_payable' AND a.owner_id = %(creator)s
          AND a.currency = %(currency)s
        GROUP BY 1 ORDER BY 1
    """, {"creator": creator_id, "currency": currency, "accrual": list(ACCRUAL_KINDS)}).fetchall()
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
    for month, outcome, events, _, _ in tally.rows(conn, params["licensee"], model,
                                                   by=("month", "outcome")):
        if events:
            key = _month(month)
            months.setdefault(key, {"month": key, **dict.fromkeys(OUTCOMES, 0)})[outcome] = events
    return list(months.values())


def usage_by_model(conn: psycopg.Connection, licensee: str, model: str | None) -> list[dict]:
    """Events and accrued events per model, most used first (from the usage tally)."""
    params = _params(conn, licensee, model)
    models: dict[str, dict] = {}
    for name, outcome, events, _, _ in tally.rows(conn, params["licensee"], model,
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
        return conn.cursor(row_factory=dict_row).execute(f"""
            SELECT w.key AS work, w.title, t.events, t.accrued
            FROM (SELECT e.work_id, CAST(sum(e.events) AS bigint) AS events,
                         CAST(sum(e.accrued) AS bigint) AS accrued
                  FROM usage_work_tally e WHERE {_SCOPE}
                  GROUP BY e.work_id HAVING sum(e.events) > 0) AS t
            JOIN work w ON w.id = t.work_id
            ORDER BY t.events DESC, w.key COLLATE "C" LIMIT %(limit)s
        """, {**_params(conn, licensee, model), "limit": limit}).fetchall()


def owed_by_month(conn: psycopg.Connection, licensee: str, model: str | None) -> list[dict]:
    """Royalties owed (gross of accrued uses) per usage month and currency (from the usage
    tally)."""
    params = _params(conn, licensee, model)
    found = [(currency, _month(month), gross, net, events)
             for outcome, month, currency, events, gross, net in tally.rows(
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
    creator_id = conn.execute("SELECT id FROM creator WHERE key = %s",
                              (statement["creator"],)).fetchone()[0]
    return {"ledger_by_month": ledger_by_month(conn, creator_id, statement["currency"])}


