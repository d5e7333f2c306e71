"""The ledger side of a payout, two-phase: held when created, posted when the provider
confirms, released back to the creator when it fails or is reversed."""

from __future__ import annotations

from decimal import Decimal

import psycopg

from ledger.accounting import booking

# kind → (debit account, credit account); owner "creator" is the payout's creator.
MOVES = {
    "payout_hold": ("creator_payable", "payout_clearing"),
    "payout_post": ("payout_clearing", "payout_cash"),
    "payout_release": ("payout_clearing", "creator_payable"),
    "payout_reversal": ("payout_cash", "creator_payable"),
}


def record(conn: psycopg.Connection, kind: str, *, payout_id: int, creator_id: int,
           currency: str, amount: Decimal) -> int:
    """One balanced entry moving ``amount`` between the two accounts of ``kind``."""
    debit, credit = MOVES[kind]
    entry_id = booking.next_entry_id(conn)
    booking.open_entry(conn, entry_id, kind, f"payout {payout_id}")

    def owner(account: str) -> int:
        return creator_id if account == "creator_payable" else 0

    conn.execute("""
        INSERT INTO posting (entry_id, account_id, amount) VALUES
            (%(entry)s, ledger_account(%(debit)s, %(debit_owner)s, %(currency)s), %(amount)s),
            (%(entry)s, ledger_account(%(credit)s, %(credit_owner)s, %(currency)s), -%(amount)s)
    """, {"entry": entry_id, "debit": debit, "debit_owner": owner(debit), "credit": credit,
          "credit_owner": owner(credit), "currency": currency, "amount": amount})
    return entry_id
