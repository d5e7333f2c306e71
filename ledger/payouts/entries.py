"""The ledger side of payouts, two-phase: held when created, posted when the provider
confirms, released back to the creator when it fails or is reversed. A batch of payouts
moving the same way shares one balanced entry (postings aggregated per account)."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

import psycopg

from ledger.accounting import booking
from ledger.payouts import sql

# kind → (debit account, credit account); "creator_payable" belongs to the payout's creator.
MOVES = {
    "payout_hold": ("creator_payable", "payout_clearing"),
    "payout_post": ("payout_clearing", "payout_cash"),
    "payout_release": ("payout_clearing", "creator_payable"),
    "payout_reversal": ("payout_cash", "creator_payable"),
}


@dataclass(frozen=True)
class Move:
    payout_id: int
    creator_id: int
    currency: str
    amount: Decimal


def record(conn: psycopg.Connection, kind: str, moves: list[Move]) -> int | None:
    """One balanced entry moving each payout's amount between the accounts of ``kind``."""
    if not moves:
        return None
    debit, credit = MOVES[kind]
    entry_id = booking.next_entry_id(conn)
    ids = [m.payout_id for m in moves]
    memo = f"payout {ids[0]}" if len(ids) == 1 else f"{len(ids)} payouts ({min(ids)}…{max(ids)})"
    booking.open_entry(conn, entry_id, kind, memo)
    conn.execute(sql.MOVE_POSTINGS, {"entry": entry_id, "debit": debit, "credit": credit,
                             "creators": [m.creator_id for m in moves],
                             "currencies": [m.currency for m in moves],
                             "amounts": [m.amount for m in moves]})
    return entry_id
