"""Balances and the trial balance, straight from the journal."""

from __future__ import annotations

from decimal import Decimal

import psycopg
from psycopg.rows import dict_row

from ledger.reports import sql
from ledger.reports.sql import ACCRUAL_KINDS



def balances(conn: psycopg.Connection, creator: str | None = None) -> list[dict]:
    """Per creator and currency: accrued, paid, balance (contract §7)."""
    rows = conn.cursor(row_factory=dict_row).execute(
        sql.BALANCES, {"accrual": list(ACCRUAL_KINDS), "creator": creator}).fetchall()
    return [{k: (_money(v) if isinstance(v, Decimal) else v) for k, v in r.items()} for r in rows]


def _money(value: Decimal) -> Decimal:
    return value.quantize(Decimal("1e-9"))


def trial_balance(conn: psycopg.Connection) -> list[dict]:
    """Every account's debits, credits and balance; per currency the balances sum to 0."""
    rows = conn.cursor(row_factory=dict_row).execute(sql.TRIAL_BALANCE).fetchall()
    return [{k: (_money(v) if isinstance(v, Decimal) else v) for k, v in r.items()} for r in rows]


def currency_totals(rows: list[dict]) -> dict[str, Decimal]:
    totals: dict[str, Decimal] = {}
    for row in rows:
        totals[row["currency"]] = totals.get(row["currency"], Decimal(0)) + row["balance"]
    return totals


def creator_totals(conn: psycopg.Connection) -> tuple[Decimal, Decimal]:
    """What the ledger booked to all creators and paid them, every currency together (the
    demo's single-currency summary)."""
    return conn.execute(sql.CREATOR_TOTALS).fetchone()


def back_paid_events(conn: psycopg.Connection) -> int:
    """Accrued events whose booking came from a re-evaluation (back-pay)."""
    return conn.execute(sql.BACK_PAID_EVENTS).fetchone()[0]
