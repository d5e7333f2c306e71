"""Booking evaluated usage in the double-entry ledger, set-based (contract §5).

Per accrued event the licensee owes the gross, each creator is owed its part of the net
and the platform keeps the fee. Postings are aggregated per account for a whole batch;
every per-event amount stays on the event (gross, fee, net, split version), and each
creator's part of it is ``split_parts(net, split_version_id)``, the same rule (computed
for the whole batch at once by ``ledger.accounting.sql.split_parts_of``).
"""

from __future__ import annotations

import psycopg

from ledger.accounting import sql


def next_entry_id(conn: psycopg.Connection) -> int:
    """Reserve a journal entry id, so events can name their entry as they are inserted."""
    return conn.execute(sql.NEXT_ENTRY_ID).fetchone()[0]


def open_entry(conn: psycopg.Connection, entry_id: int, kind: str, memo: str) -> None:
    conn.execute(sql.OPEN_ENTRY, (entry_id, kind, memo))


def post(conn: psycopg.Connection, entry_id: int, rows: str, sign: int, *,
         with_shares: bool = False, params: dict | None = None) -> None:
    """Add the aggregated postings of ``rows`` (a table or subquery, whose own named
    parameters ``params`` gives) to an open entry."""
    conn.execute(sql.postings(rows, with_shares=with_shares),
                 {**(params or {}), "entry": entry_id, "sign": sign})


def post_groups(conn: psycopg.Connection, entry_id: int, groups: str, sign: int) -> None:
    """Add the postings of ``groups`` (``sql.grouped_postings``: events grouped by
    licensee, currency, split version and net, with their count and gross and fee sums)."""
    conn.execute(sql.grouped_postings(groups), {"entry": entry_id, "sign": sign})


def post_amounts(conn: psycopg.Connection, entry_id: int,
                 amounts: list[tuple[str, int, str, object]]) -> None:
    """Add postings of given amounts, ``(account kind, owner id, currency, amount)``
    (positive: debit), to an open entry; zero amounts are left out."""
    kinds, owners, currencies, values = (list(column) for column in zip(*amounts, strict=True))
    conn.execute(sql.POST_AMOUNTS, {"entry": entry_id, "kinds": kinds, "owners": owners,
                                    "currencies": currencies, "amounts": values})
