"""Re-evaluate stored events after the catalog or licenses change (contract §6): back-pay.

Imports leave a ``catalog_change`` row (the outbox) in their own transaction. Draining it
re-evaluates every event the change could affect, in chunks: events whose outcome,
license, split or amounts differ get their old booking reversed and the new one booked,
in one balanced journal entry per chunk; the event keeps its original time, so held
uses are booked at the license and split in force when they happened (back-pay).
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from ledger import locks
from ledger.accounting import booking, statement_lines
from ledger.matching import accrual, sql, thresholds


@dataclass
class Reevaluated:
    examined: int = 0
    changed: int = 0
    reversed: int = 0
    booked: int = 0
    changes: int = 0


def pending_changes(conn: psycopg.Connection) -> int:
    return conn.execute(sql.COUNT_OPEN_CHANGES).fetchone()[0]


def drain(conn: psycopg.Connection, *, chunk: int = 50_000) -> Reevaluated:
    """Handle every open catalog change; commits per chunk. Safe to run concurrently: a
    second caller waits for the first, then finds nothing left to do."""
    total = Reevaluated()
    locks.acquire(conn, locks.REEVALUATION_LOCK)
    try:
        while True:
            changes = conn.execute(sql.OPEN_CHANGES).fetchall()
            conn.commit()
            if not changes:
                return total
            scope = {"works": sorted({w for c in changes for w in c[1]}),
                     "creators": sorted({w for c in changes for w in c[2]}),
                     "licensees": sorted({w for c in changes for w in c[3]})}
            after = 0
            while True:
                ids = [r[0] for r in conn.execute(sql.CANDIDATES, {**scope, "after": after,
                                                                   "limit": chunk})]
                if not ids:
                    break
                _reevaluate_chunk(conn, ids, total)
                conn.commit()
                after = ids[-1]
            conn.execute(sql.CLOSE_CHANGES, ([c[0] for c in changes],))
            conn.commit()
            total.changes += len(changes)
    finally:
        conn.rollback()
        locks.release(conn, locks.REEVALUATION_LOCK)
        conn.commit()


def _reevaluate_chunk(conn: psycopg.Connection, ids: list[int], total: Reevaluated) -> None:
    locks.hold(conn, locks.CATALOG_LOCK, shared=True)
    conn.execute(sql.CREATE_REEVALUATED_TABLE)
    conn.execute(sql.LOCK_CHUNK, (ids,))
    params = {"ids": ids, **thresholds.params()}
    accrual.look_up(conn, sql.FILL_REEVALUATED_NEAR, params)
    changed = conn.execute(sql.FILL_REEVALUATED, params).rowcount
    total.examined += len(ids)
    if not changed:
        return
    reversed_, booked = conn.execute(sql.COUNT_REEVALUATED).fetchone()
    entry_id = booking.next_entry_id(conn)
    if reversed_ or booked:
        booking.open_entry(conn, entry_id, "reevaluation",
                           f"re-evaluation: {reversed_} reversed, {booked} booked")
        if reversed_:
            booking.post(conn, entry_id, sql.OLD_ACCRUED, -1)
        if booked:
            booking.post(conn, entry_id, sql.NEW_ACCRUED, 1)
        statement_lines.add_movements(conn, entry_id, sql.ADD_REEVALUATED_LINES)
    conn.execute(sql.APPLY, {"entry": entry_id})
    conn.execute(sql.RECORD, {"entry": entry_id})
    conn.execute(sql.ADD_REEVALUATED)
    conn.execute(sql.ADD_REEVALUATED_WORKS)
    conn.execute(sql.EMPTY_REEVALUATED_TABLE)
    total.changed += changed
    total.reversed += reversed_
    total.booked += booked
