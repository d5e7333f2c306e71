"""Folding booked events into statement lines (``statement_line``), the write side of the
all-time statement, so that a statement reads its lines in order from one index instead
of grouping every event of the creator's works (``ledger.reports.statement_lines`` reads
them).

- ``fold`` (Celery beat) adds the standing events of booking entries (accrual and
  re-evaluation) not folded yet, for every creator, and records the entries in
  ``statement_folded``, in the same transaction. The first fold after the upgrade that
  brought these tables folds everything booked before it.
- A re-evaluation calls ``add_movements`` in its own transaction: it adds the new
  evaluations it books, takes away the old ones it reverses if their entry is folded, and
  records its own entry as folded. (An old evaluation whose entry is not folded yet was
  never added; that entry's fold will not see it, for the event no longer points to it.)
  ``fold`` and re-evaluations take turns (``REEVALUATION_LOCK``), so each sees what the
  other did.
"""

from __future__ import annotations

import psycopg

from ledger import locks
from ledger.accounting import sql


def fold(conn: psycopg.Connection, *, entries_per_commit: int = 20) -> int:
    """Fold every booking entry not folded yet into ``statement_line``, committing every
    ``entries_per_commit`` entries: the number of entries folded."""
    folded = 0
    while True:
        locks.hold(conn, locks.REEVALUATION_LOCK)
        entries = [r[0] for r in conn.execute(sql.NEXT_PENDING_ENTRIES, (entries_per_commit,))]
        if not entries:
            conn.commit()
            return folded
        conn.execute(sql.ADD_ENTRIES, {"entries": entries})
        conn.execute(sql.RECORD_FOLDED_ENTRIES, (entries,))
        conn.commit()
        folded += len(entries)


def add_movements(conn: psycopg.Connection, entry_id: int, add_lines: str,
                  params: dict | None = None) -> None:
    """A booking entry's movements, added to the lines as it is booked (``add_lines``:
    ``sql.add_lines`` of a query of the movements, whose named parameters ``params``
    gives), in the caller's transaction; the entry is recorded as folded."""
    conn.execute(add_lines, params)
    conn.execute(sql.RECORD_FOLDED_ENTRY, (entry_id,))
