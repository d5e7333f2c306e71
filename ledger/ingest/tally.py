"""The usage tally: event counts by licensee, model, outcome, purpose and dataset, kept as
deltas in the transactions that change them, so that transparency and status read a few
rows instead of every event.

- ``store.write`` adds the counts of the events it inserts (from its ``evaluated`` table);
  a re-evaluation adds −1 for each event's old outcome and +1 for its new one.
- Writers only insert: two ingest writers never wait on each other's tally rows.
- ``compact`` folds the deltas into one row per key (Celery beat, every few minutes). It
  deletes the rows its snapshot sees and inserts their sums in one statement; rows
  committed meanwhile are left for the next time. A reader sees either the deltas or
  their sums, never both.
"""

from __future__ import annotations

import psycopg

KEY = ("licensee_id", "model", "outcome", "purpose", "dataset")
_KEY = ", ".join(KEY)
COMPACT_LOCK = 7262004

# The counts of the events ``store.write`` has just inserted.
ADD_INSERTED = f"""
INSERT INTO usage_tally ({_KEY}, events)
SELECT {_KEY}, count(*) FROM evaluated GROUP BY {_KEY}
"""
# A re-evaluation's outcome changes (``reevaluated`` joined to the events it changes).
ADD_REEVALUATED = f"""
INSERT INTO usage_tally ({_KEY}, events)
SELECT e.licensee_id, e.model, d.outcome, e.purpose, e.dataset, sum(d.events)
FROM reevaluated r JOIN usage_event e ON e.id = r.id
CROSS JOIN LATERAL (VALUES (r.old_outcome, -1), (r.new_outcome, 1)) AS d(outcome, events)
WHERE r.old_outcome IS DISTINCT FROM r.new_outcome
  AND d.outcome IS NOT NULL  -- an event stored before outcomes existed was never counted
GROUP BY 1, 2, 3, 4, 5
HAVING sum(d.events) <> 0
"""
COMPACT = f"""
WITH gone AS (DELETE FROM usage_tally RETURNING {_KEY}, events)
INSERT INTO usage_tally ({_KEY}, events)
SELECT {_KEY}, sum(events) FROM gone GROUP BY {_KEY} HAVING sum(events) <> 0
ORDER BY {_KEY}
"""
# What a tally built from scratch holds (the migration's backfill; checks).
RECOUNT = f"""
SELECT {_KEY}, count(*) AS events FROM usage_event WHERE outcome IS NOT NULL
GROUP BY {_KEY}
"""


def compact(conn: psycopg.Connection) -> tuple[int, int]:
    """Fold the deltas into one row per key and commit: (rows before, rows after)."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (COMPACT_LOCK,))
    before = conn.execute("SELECT count(*) FROM usage_tally").fetchone()[0]
    after = conn.execute(COMPACT).rowcount
    conn.commit()
    return before, after


def rebuild(conn: psycopg.Connection) -> int:
    """Count the tally again from the events and commit: the repair for a tally that missed
    writes (say, workers on older code storing events during an upgrade). New events wait
    for it (a SHARE lock on usage_event); readers do not. The rows written."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (COMPACT_LOCK,))
    conn.execute("LOCK TABLE usage_event IN SHARE MODE")
    conn.execute("DELETE FROM usage_tally")
    written = conn.execute(f"INSERT INTO usage_tally ({_KEY}, events) {RECOUNT}").rowcount
    conn.commit()
    return written


def counts(conn: psycopg.Connection, licensee_id: int | None = None, model: str | None = None
           ) -> list[tuple]:
    """``(outcome, purpose, dataset, events)`` summed over the tally, for one licensee (and
    model) or for all."""
    return conn.execute("""
        SELECT outcome, purpose, dataset, sum(events)::bigint FROM usage_tally
        WHERE (%(licensee)s::integer IS NULL OR licensee_id = %(licensee)s)
          AND (%(model)s::text IS NULL OR model = %(model)s)
        GROUP BY 1, 2, 3 HAVING sum(events) <> 0
    """, {"licensee": licensee_id, "model": model}).fetchall()
