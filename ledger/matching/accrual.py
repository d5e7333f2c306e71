"""Accrual of a stored batch: where a royalty is computed and booked as events arrive.

Ingest stages a batch and hands matching the relation of its new events; ``accrue``
evaluates them (match, license, outcome and amounts: ``sql.evaluation``), inserts them
into ``usage_event`` with their evaluation, adds them to the usage tallies, and books the
accrued ones in one balanced journal entry (``ledger.accounting.booking``), all in the
caller's transaction.
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from ledger import locks
from ledger.accounting import booking
from ledger.matching import sql, thresholds


@dataclass(frozen=True)
class Accrued:
    inserted: int  # events inserted (each with its outcome)
    accrued: int  # of them, those booked


def look_up(conn: psycopg.Connection, statement: str, params: dict) -> None:
    """Write the near candidates (``sql.NEAR_TABLE``) that ``statement``, a
    ``sql.fill_near``, finds for the evaluation that follows."""
    conn.execute(sql.CREATE_NEAR_TABLE)
    # Emptied by the commit; an earlier evaluation in the same transaction left its rows.
    if conn.execute(sql.NEAR_LEFT_OVER).fetchone()[0]:
        conn.execute(sql.EMPTY_NEAR_TABLE)
    conn.execute(statement, params)


def accrue(conn: psycopg.Connection, columns: tuple[str, ...], source: str,
           kinds: frozenset[str] | None = None) -> Accrued:
    """Evaluate, insert, tally and book the events of ``source`` (a parenthesised query of
    ``columns``, the stored event's own columns), matching only identifier ``kinds``.

    Should one of the events be stored already (``usage_event``'s unique identity), the
    statement is rolled back to before it and ``psycopg.errors.UniqueViolation`` raised,
    with nothing written: the caller deduplicates and calls again."""
    # Imports take this lock exclusively: the batch is evaluated against one catalog, and a
    # re-evaluation after an import sees every event evaluated before it.
    locks.hold(conn, locks.CATALOG_LOCK, shared=True)
    # the batch's fingerprint probes are sorted by band key in memory, not on disk
    conn.execute(sql.BATCH_WORK_MEM)
    conn.execute(sql.BATCH_NO_JIT)
    conn.execute(sql.CREATE_ACCRUED_TABLE)
    # Emptied by the commit (cheaper than a TRUNCATE per batch); an earlier batch of the same
    # transaction (replayed dead letters) left its rows.
    if conn.execute(sql.ACCRUED_LEFT_OVER).fetchone()[0]:
        conn.execute(sql.EMPTY_ACCRUED_TABLE)
    params = thresholds.params()
    near = sql.fill_near(source, kinds)
    if near:
        look_up(conn, near, params)
    entry_id = booking.next_entry_id(conn)
    conn.execute("SAVEPOINT accrue")
    try:
        tallied = conn.execute(sql.insert_evaluated(columns, source, kinds),
                               {"entry": entry_id, **params}).fetchall()
    except psycopg.errors.UniqueViolation:
        # rolled back to, a savepoint still stands: release it, or what follows would run
        # in it (and the journal would not see its entry as of this transaction)
        conn.execute("ROLLBACK TO SAVEPOINT accrue")
        conn.execute("RELEASE SAVEPOINT accrue")
        raise
    conn.execute("RELEASE SAVEPOINT accrue")
    inserted = sum(events for _, events in tallied)
    accrued = sum(events for outcome, events in tallied if outcome == "accrued")
    # pooled uses (pool, revenue share) are accrued with nothing to book until their period
    # closes: a batch of only those books no entry
    if accrued and conn.execute(sql.ACCRUED_LEFT_OVER).fetchone()[0]:
        booking.open_entry(conn, entry_id, "accrual", f"{accrued} usage events")
        booking.post(conn, entry_id, sql.ACCRUED_TABLE, 1)
    return Accrued(inserted, accrued)
