"""Re-evaluate stored events after the catalog or licenses change (contract §6).

Imports leave a ``catalog_change`` row (the outbox) in their own transaction. Draining it
re-evaluates every event the change could affect, in chunks: events whose outcome,
license, split or amounts differ get their old booking reversed and the new one booked,
in one balanced journal entry per chunk; the event keeps its original time, so held
uses are booked at the license and split in force when they happened (back-pay).
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg

from ledger.accounting import booking
from ledger.locks import CATALOG_LOCK
from ledger.ingest import tally
from ledger.matching.sql import evaluation
from ledger.reports import statement_lines

REEVALUATION_LOCK = 7262003
INPUTS = ("time", "licensee_id", "purpose", "quantity", "unit", "sha256", "url", "isrc", "iswc",
          "isbn", "doi", "c2pa", "phash", "simhash")
STATE = ("outcome", "work_id", "split_version_id", "license_id", "currency", "gross", "fee",
         "net")

CANDIDATES = """
SELECT e.id FROM usage_event e
WHERE e.id > %(after)s AND (
       e.work_id = ANY(%(works)s::integer[])
    -- a licensee's change: its matched events (an unmatched one stays unmatched) and
    -- any stored before events were evaluated
    OR (e.licensee_id = ANY(%(licensees)s::integer[])
        AND (e.work_id IS NOT NULL OR e.outcome IS NULL))
    OR e.work_id IN (SELECT v.work_id FROM split_version v JOIN split_share s
                     ON s.split_version_id = v.id WHERE s.creator_id = ANY(%(creators)s::integer[]))
    OR (cardinality(%(works)s::integer[]) > 0 AND e.outcome = 'unmatched'))
ORDER BY e.id LIMIT %(limit)s
"""

CREATE_CHANGED = f"""
CREATE TEMP TABLE IF NOT EXISTS reevaluated (
    id bigint, licensee_id integer,
    {", ".join(f"old_{c} {t}" for c, t in zip(STATE, ("text", "integer", "integer", "integer",
               "text", "numeric(38,9)", "numeric(38,9)", "numeric(38,9)"), strict=True))},
    {", ".join(f"new_{c} {t}" for c, t in zip(STATE, ("text", "integer", "integer", "integer",
               "text", "numeric(38,9)", "numeric(38,9)", "numeric(38,9)"), strict=True))},
    old_entry_id bigint
) ON COMMIT DELETE ROWS
"""
_SOURCE = f"(SELECT id, {', '.join(INPUTS)} FROM usage_event WHERE id = ANY(%(ids)s))"
FILL_CHANGED = f"""
INSERT INTO reevaluated
SELECT e.id, e.licensee_id, {", ".join(f"e.{c}" for c in STATE)}, {", ".join(f"n.{c}" for c in STATE)},
       e.entry_id
FROM usage_event e
JOIN ({evaluation(_SOURCE)}) AS n ON n.id = e.id
WHERE ({", ".join(f"e.{c}" for c in STATE)}) IS DISTINCT FROM ({", ".join(f"n.{c}" for c in STATE)})
"""
OLD_ACCRUED = ("(SELECT licensee_id, old_currency AS currency, old_split_version_id AS "
               "split_version_id, old_gross AS gross, old_fee AS fee, old_net AS net "
               "FROM reevaluated WHERE old_outcome = 'accrued')")
NEW_ACCRUED = ("(SELECT licensee_id, new_currency AS currency, new_split_version_id AS "
               "split_version_id, new_gross AS gross, new_fee AS fee, new_net AS net "
               "FROM reevaluated WHERE new_outcome = 'accrued')")
APPLY = f"""
UPDATE usage_event e SET {", ".join(f"{c} = r.new_{c}" for c in STATE)},
       entry_id = CASE WHEN r.new_outcome = 'accrued' THEN %(entry)s END,
       reevaluated_at = now()
FROM reevaluated r WHERE r.id = e.id
"""
RECORD = """
INSERT INTO event_reevaluation (event_id, entry_id, old_outcome, new_outcome, old_license_id,
                                new_license_id, old_net, new_net)
SELECT id, CASE WHEN old_outcome = 'accrued' OR new_outcome = 'accrued' THEN %(entry)s END,
       old_outcome, new_outcome, old_license_id, new_license_id, old_net, new_net
FROM reevaluated
"""


@dataclass
class Reevaluated:
    examined: int = 0
    changed: int = 0
    reversed: int = 0
    booked: int = 0
    changes: int = 0


def pending_changes(conn: psycopg.Connection) -> int:
    return conn.execute("SELECT count(*) FROM catalog_change WHERE processed_at IS NULL"
                        ).fetchone()[0]


def drain(conn: psycopg.Connection, *, chunk: int = 50_000) -> Reevaluated:
    """Handle every open catalog change; commits per chunk. Safe to run concurrently: a
    second caller waits for the first, then finds nothing left to do."""
    total = Reevaluated()
    conn.execute("SELECT pg_advisory_lock(%s)", (REEVALUATION_LOCK,))
    try:
        while True:
            changes = conn.execute(
                "SELECT id, work_ids, creator_ids, licensee_ids FROM catalog_change "
                "WHERE processed_at IS NULL ORDER BY id").fetchall()
            conn.commit()
            if not changes:
                return total
            scope = {"works": sorted({w for c in changes for w in c[1]}),
                     "creators": sorted({w for c in changes for w in c[2]}),
                     "licensees": sorted({w for c in changes for w in c[3]})}
            after = 0
            while True:
                ids = [r[0] for r in conn.execute(CANDIDATES, {**scope, "after": after,
                                                               "limit": chunk})]
                if not ids:
                    break
                _reevaluate_chunk(conn, ids, total)
                conn.commit()
                after = ids[-1]
            conn.execute("UPDATE catalog_change SET processed_at = now() WHERE id = ANY(%s)",
                         ([c[0] for c in changes],))
            conn.commit()
            total.changes += len(changes)
    finally:
        conn.rollback()
        conn.execute("SELECT pg_advisory_unlock(%s)", (REEVALUATION_LOCK,))
        conn.commit()


def _reevaluate_chunk(conn: psycopg.Connection, ids: list[int], total: Reevaluated) -> None:
    conn.execute("SELECT pg_advisory_xact_lock_shared(%s)", (CATALOG_LOCK,))
    conn.execute(CREATE_CHANGED)
    conn.execute("SELECT id FROM usage_event WHERE id = ANY(%s) FOR UPDATE", (ids,))
    changed = conn.execute(FILL_CHANGED, {"ids": ids}).rowcount
    total.examined += len(ids)
    if not changed:
        return
    reversed_, booked = conn.execute(
        "SELECT count(*) FILTER (WHERE old_outcome = 'accrued'), "
        "count(*) FILTER (WHERE new_outcome = 'accrued') FROM reevaluated").fetchone()
    entry_id = booking.next_entry_id(conn)
    if reversed_ or booked:
        booking.open_entry(conn, entry_id, "reevaluation",
                           f"re-evaluation: {reversed_} reversed, {booked} booked")
        if reversed_:
            booking.post(conn, entry_id, OLD_ACCRUED, -1)
        if booked:
            booking.post(conn, entry_id, NEW_ACCRUED, 1)
        statement_lines.add_reevaluated(conn, entry_id)
    conn.execute(APPLY, {"entry": entry_id})
    conn.execute(RECORD, {"entry": entry_id})
    conn.execute(tally.ADD_REEVALUATED)
    conn.execute(tally.ADD_REEVALUATED_WORKS)
    conn.execute("TRUNCATE reevaluated")
    total.changed += changed
    total.reversed += reversed_
    total.booked += booked
