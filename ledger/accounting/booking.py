"""Booking evaluated usage in the double-entry ledger, set-based (contract §5).

Per accrued event the licensee owes the gross, each creator is owed its part of the net
and the platform keeps the fee. Postings are aggregated per account for a whole batch;
every per-event amount stays on the event (gross, fee, net, split version), and each
creator's part of it is ``split_parts(net, split_version_id)``, the same rule (computed
here for the whole batch at once by ``splits.split_parts_of``).
"""

from __future__ import annotations

import psycopg

from ledger.accounting.splits import split_parts_of

# Aggregated postings of the rows of ``{rows}`` (columns licensee_id, currency,
# split_version_id, gross, fee, net, and with ``with_shares`` the split version's
# creator_ids and shares), signed: +1 books, -1 reverses. Accounts are looked up by a join;
# ``ledger_account`` creates the few that do not exist yet.
_POSTINGS = """
INSERT INTO posting (entry_id, account_id, amount)
SELECT %(entry)s, COALESCE(a.id, ledger_account(t.kind, t.owner_id, t.currency)), t.amount
FROM (
    SELECT 'licensee_receivable' AS kind, licensee_id AS owner_id, currency,
           %(sign)s * sum(gross) AS amount
    FROM {rows} AS r GROUP BY licensee_id, currency
    UNION ALL
    SELECT 'platform_revenue', 0, currency, -%(sign)s * sum(fee)
    FROM {rows} AS r GROUP BY currency
    UNION ALL
    SELECT 'creator_payable', p.creator_id, p.currency, -%(sign)s * sum(p.amount * p.events)
    FROM ({parts}) AS p
    GROUP BY p.creator_id, p.currency
) AS t
LEFT JOIN account a ON a.kind = t.kind AND a.owner_id = t.owner_id AND a.currency = t.currency
"""


def next_entry_id(conn: psycopg.Connection) -> int:
    """Reserve a journal entry id, so events can name their entry as they are inserted."""
    return conn.execute(
        "SELECT nextval(pg_get_serial_sequence('journal_entry', 'id'))").fetchone()[0]


def open_entry(conn: psycopg.Connection, entry_id: int, kind: str, memo: str) -> None:
    conn.execute("INSERT INTO journal_entry (id, kind, memo) VALUES (%s, %s, %s)",
                 (entry_id, kind, memo))


def post(conn: psycopg.Connection, entry_id: int, rows: str, sign: int, *,
         with_shares: bool = False) -> None:
    """Add the aggregated postings of ``rows`` (a table or subquery) to an open entry."""
    shares = ", max(creator_ids) AS creator_ids, max(shares) AS shares" if with_shares else ""
    groups = (f"SELECT split_version_id, currency, net, count(*) AS events{shares} "
              f"FROM {rows} AS r GROUP BY split_version_id, currency, net")
    parts = split_parts_of(groups, with_shares=with_shares)
    conn.execute(_POSTINGS.format(rows=rows, parts=parts), {"entry": entry_id, "sign": sign})
