"""The usage tallies, kept (contract §7 reports read them instead of every event).

- ``usage_tally``: events (and their gross and net) by licensee, model, outcome, purpose,
  dataset, usage month and currency; ``usage_work_tally``: matched events (and those
  accrued) by licensee, model, work and split version.
- Both are kept as deltas in the transactions that change them: accrual adds the events
  it inserts (in the statement that inserts them, ``sql.insert_evaluated``); a
  re-evaluation subtracts each changed event's old evaluation and adds its new one.
  Writers only insert: two ingest writers never wait on each other's tally rows.
- ``compact`` folds the deltas into one row per key (Celery beat, every few minutes). It
  deletes the rows its snapshot sees and inserts their sums in one statement; rows
  committed meanwhile are left for the next time. A reader sees either the deltas or
  their sums, never both. ``ledger.reports.tallies`` reads them.
"""

from __future__ import annotations

import psycopg

from ledger import locks
from ledger.matching import sql


def compact(conn: psycopg.Connection) -> tuple[int, int]:
    """Fold both tallies' deltas into one row per key and commit: (rows before, rows
    after), the two tallies together."""
    locks.hold(conn, locks.TALLY_COMPACT_LOCK)
    before = conn.execute(sql.COUNT_TALLY_ROWS).fetchone()[0]
    conn.execute(sql.COMPACT)
    conn.execute(sql.COMPACT_WORKS)
    after = conn.execute(sql.COUNT_TALLY_ROWS).fetchone()[0]
    conn.commit()
    return before, after


def rebuild(conn: psycopg.Connection) -> int:
    """Count both tallies again from the events and commit: the repair for a tally that missed
    writes (say, workers on older code storing events during an upgrade). New events wait
    for it (a SHARE lock on usage_event); readers do not. The rows written."""
    locks.hold(conn, locks.TALLY_COMPACT_LOCK)
    conn.execute(sql.LOCK_EVENTS_FOR_RECOUNT)
    conn.execute(sql.EMPTY_TALLY)
    conn.execute(sql.EMPTY_WORK_TALLY)
    written = conn.execute(sql.REBUILD_TALLY).rowcount
    written += conn.execute(sql.REBUILD_WORK_TALLY).rowcount
    conn.commit()
    return written
