"""Balances and the trial balance, straight from the journal."""

from __future__ import annotations

from decimal import Decimal

import psycopg
from psycopg.rows import dict_row

ACCRUAL_KINDS = ("accrual", "reevaluation")


def balances(conn: psycopg.Connection, creator: str | None = None) -> list[dict]:
    """Per creator and currency: accrued, paid, balance (contract §7)."""
    rows = conn.cursor(row_factory=dict_row).execute("""
        SELECT c.key AS creator, a.currency,
               coalesce(-sum(p.amount) FILTER (WHERE j.kind = ANY(%(accrual)s)), 0) AS accrued,
               coalesce(sum(p.amount) FILTER (WHERE NOT j.kind = ANY(%(accrual)s)), 0) AS paid,
               coalesce(-sum(p.amount), 0) AS balance
        FROM account a
        JOIN creator c ON c.id = a.owner_id
        JOIN posting p ON p.account_id = a.id
        JOIN journal_entry j ON j.id = p.entry_id
        WHERE a.kind = 'creator_payable' AND (%(creator)s::text IS NULL OR c.key = %(creator)s)
        GROUP BY c.key, a.currency
        ORDER BY c.key COLLATE "C", a.currency
    """, {"accrual": list(ACCRUAL_KINDS), "creator": creator}).fetchall()
    return [{k: (_money(v) if isinstance(v, Decimal) else v) for k, v in r.items()} for r in rows]


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("1e-9"))


def trial_balance(conn: psycopg.Connection) -> list[dict]:
    """Every account's debits, credits and balance; per currency the balances sum to 0."""
    rows = conn.cursor(row_factory=dict_row).execute("""
        SELECT * FROM (
        SELECT a.kind AS account, CASE a.kind
                   WHEN 'creator_payable' THEN (SELECT key FROM creator WHERE id = a.owner_id)
                   WHEN 'licensee_receivable' THEN (SELECT key FROM licensee WHERE id = a.owner_id)
                   ELSE 'platform' END AS owner,
               a.currency,
               coalesce(sum(p.amount) FILTER (WHERE p.amount > 0), 0) AS debit,
               coalesce(-sum(p.amount) FILTER (WHERE p.amount < 0), 0) AS credit,
               coalesce(sum(p.amount), 0) AS balance
        FROM account a JOIN posting p ON p.account_id = a.id
        GROUP BY a.id) AS accounts
        ORDER BY currency, account, owner COLLATE "C"
    """).fetchall()
    return [{k: (_money(v) if isinstance(v, Decimal) else v) for k, v in r.items()} for r in rows]


def currency_totals(rows: list[dict]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for row in rows:
        totals[row["currency"]] = totals.get(row["currency"], Decimal(0)) + row["balance"]
    return totals
