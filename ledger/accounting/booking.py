"""Booking evaluated usage in the double-entry ledger, set-based (contract §5).

Per accrued event the licensee owes the gross, each creator is owed its part of the net
and the platform keeps the fee. Postings are aggregated per account for a whole batch;
every per-event amount stays on the event (gross, fee, net, split version), and each
creator's part of it is ``split_parts(net, split_version_id)``, the same rule.
"""

from __future__ import annotations

import psycopg

# Aggregated postings of the rows of ``{rows}`` (columns licensee_id, currency,
# split_version_id, gross, fee, net), signed: +1 books, -1 reverses.
_POSTINGS = """
INSERT INTO posting (entry_id, account_id, amount)
SELECT %(entry)s, ledger_account(kind, owner_id, currency), amount FROM (
    SELECT 'licensee_receivable' AS kind, licensee_id AS owner_id, currency,
           %(sign)s * sum(gross) AS amount
    FROM {rows} AS r GROUP BY licensee_id, currency
    UNION ALL
    SELECT 'platform_revenue', 0, currency, -%(sign)s * sum(fee)
    FROM {rows} AS r GROUP BY currency
    UNION ALL
    SELECT 'creator_payable', p.creator_id, g.currency, -%(sign)s * sum(p.amount * g.events)
    FROM (SELECT split_version_id, currency, net, count(*) AS events
          FROM {rows} AS r GROUP BY split_version_id, currency, net) AS g
    CROSS JOIN LATERAL split_parts(g.net, g.split_version_id) AS p
    GROUP BY p.creator_id, g.currency
) AS postings
"""


def next_entry_id(conn: psycopg.Connection) -> int:
    """Reserve a journal entry id, so events can name their entry as they are inserted."""
    return conn.execute(
        "SELECT nextval(pg_get_serial_sequence('journal_entry', 'id'))").fetchone()[0]


def open_entry(conn: psycopg.Connection, entry_id: int, kind: str, memo: str) -> None:
    conn.execute("INSERT INTO journal_entry (id, kind, memo) VALUES (%s, %s, %s)",
                 (entry_id, kind, memo))


def post(conn: psycopg.Connection, entry_id: int, rows: str, sign: int) -> None:
    """Add the aggregated postings of ``rows`` (a table or subquery) to an open entry."""
    conn.execute(_POSTINGS.format(rows=rows), {"entry": entry_id, "sign": sign})
