"""The usage tally: events (and their gross and net) by licensee, model, outcome, purpose,
dataset, usage month and currency, kept as deltas in the transactions that change them, so
that transparency (its page's charts too) and status read a few rows instead of every
event.

- The usage work tally (below) counts matched events by work the same way.
- ``store.write`` adds the events it inserts (in the statement that inserts them); a
  re-evaluation subtracts each changed event's old evaluation and adds its new one.
- Writers only insert: two ingest writers never wait on each other's tally rows.
- ``compact`` folds the deltas into one row per key (Celery beat, every few minutes). It
  deletes the rows its snapshot sees and inserts their sums in one statement; rows
  committed meanwhile are left for the next time. A reader sees either the deltas or
  their sums, never both.
"""

from __future__ import annotations

import psycopg

KEY = ("licensee_id", "model", "outcome", "purpose", "dataset", "month", "currency")
_KEY = ", ".join(KEY)
_SUMS = "events, gross, net"
COMPACT_LOCK = 7262004
# The usage month (UTC) of an event's time, as the tally keys it.
MONTH = "CAST(date_trunc('month', {time} AT TIME ZONE 'UTC') AS date)"
_EVENT_KEY = ("{e}licensee_id, {e}model, {outcome}, {e}purpose, {e}dataset, "
              + MONTH.format(time="{e}time") + ", {currency}")

# What ``store.write`` inserts: parts of its insert statement, reading the rows the insert
# returns (``inserted``). The new rows also tell it how many events accrued.
ADD_INSERTED = f"""
INSERT INTO usage_tally ({_KEY}, {_SUMS})
SELECT {_EVENT_KEY.format(e="", outcome="outcome", currency="currency")},
       count(*), coalesce(sum(gross), 0), coalesce(sum(net), 0)
FROM inserted GROUP BY 1, 2, 3, 4, 5, 6, 7
RETURNING outcome, events
"""
# A re-evaluation's changes (``reevaluated`` joined to the events it changes): the old
# evaluation out, the new one in.
ADD_REEVALUATED = f"""
INSERT INTO usage_tally ({_KEY}, {_SUMS})
SELECT {_EVENT_KEY.format(e="e.", outcome="d.outcome", currency="d.currency")},
       sum(d.events), coalesce(sum(d.gross), 0), coalesce(sum(d.net), 0)
FROM reevaluated r JOIN usage_event e ON e.id = r.id
CROSS JOIN LATERAL (VALUES (r.old_outcome, r.old_currency, -1, -r.old_gross, -r.old_net),
                           (r.new_outcome, r.new_currency, 1, r.new_gross, r.new_net)
                   ) AS d(outcome, currency, events, gross, net)
WHERE d.outcome IS NOT NULL  -- an event stored before outcomes existed was never counted
GROUP BY 1, 2, 3, 4, 5, 6, 7
HAVING sum(d.events) <> 0 OR coalesce(sum(d.gross), 0) <> 0 OR coalesce(sum(d.net), 0) <> 0
"""
COMPACT = f"""
WITH gone AS (DELETE FROM usage_tally RETURNING {_KEY}, {_SUMS})
INSERT INTO usage_tally ({_KEY}, {_SUMS})
SELECT {_KEY}, sum(events), sum(gross), sum(net) FROM gone GROUP BY {_KEY}
HAVING sum(events) <> 0 OR sum(gross) <> 0 OR sum(net) <> 0
ORDER BY {_KEY}
"""
# What a tally built from scratch holds (``rebuild``; the reports benchmark's load).
RECOUNT = f"""
SELECT {_EVENT_KEY.format(e="", outcome="outcome", currency="currency")},
       count(*) AS events, coalesce(sum(gross), 0) AS gross, coalesce(sum(net), 0) AS net
FROM usage_event WHERE outcome IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7
"""


# The usage work tally: matched events (and those accrued) by licensee, model, work and
# split version, kept the same way (added by the same writers, compacted and rebuilt with
# the usage tally). An event counts under the work and split version it is evaluated to.
WORK_KEY = ("licensee_id", "model", "work_id", "split_version_id")
_WORK_KEY = ", ".join(WORK_KEY)
_WORK_SUMS = "events, accrued"
ADD_INSERTED_WORKS = f"""
INSERT INTO usage_work_tally ({_WORK_KEY}, {_WORK_SUMS})
SELECT {_WORK_KEY}, count(*), count(*) FILTER (WHERE outcome = 'accrued')
FROM inserted WHERE work_id IS NOT NULL GROUP BY 1, 2, 3, 4
"""
ADD_REEVALUATED_WORKS = f"""
INSERT INTO usage_work_tally ({_WORK_KEY}, {_WORK_SUMS})
SELECT r.licensee_id, e.model, d.work_id, d.split_version_id, sum(d.events), sum(d.accrued)
FROM reevaluated r JOIN usage_event e ON e.id = r.id
CROSS JOIN LATERAL (
    VALUES (r.old_work_id, r.old_split_version_id, -1,
            CASE WHEN r.old_outcome = 'accrued' THEN -1 ELSE 0 END),
           (r.new_work_id, r.new_split_version_id, 1,
            CASE WHEN r.new_outcome = 'accrued' THEN 1 ELSE 0 END)
) AS d(work_id, split_version_id, events, accrued)
WHERE d.work_id IS NOT NULL
GROUP BY 1, 2, 3, 4
HAVING sum(d.events) <> 0 OR sum(d.accrued) <> 0
"""
# Only keys with more than one row are folded: the work tally has a row per work used,
# most of them folded already, and rewriting those would cost a full write each time.
COMPACT_WORKS = f"""
WITH split AS (
    SELECT unnest(array_agg(id)) AS id FROM usage_work_tally
    GROUP BY {_WORK_KEY} HAVING count(*) > 1
), gone AS (
    DELETE FROM usage_work_tally WHERE id IN (SELECT id FROM split)
    RETURNING {_WORK_KEY}, {_WORK_SUMS}
)
INSERT INTO usage_work_tally ({_WORK_KEY}, {_WORK_SUMS})
SELECT {_WORK_KEY}, sum(events), sum(accrued) FROM gone GROUP BY {_WORK_KEY}
HAVING sum(events) <> 0 OR sum(accrued) <> 0
ORDER BY licensee_id, work_id, split_version_id, model
"""
RECOUNT_WORKS = f"""
SELECT {_WORK_KEY}, count(*) AS events, count(*) FILTER (WHERE outcome = 'accrued') AS accrued
FROM usage_event WHERE work_id IS NOT NULL
GROUP BY 1, 2, 3, 4
"""


def compact(conn: psycopg.Connection) -> tuple[int, int]:
    """Fold both tallies' deltas into one row per key and commit: (rows before, rows
    after), the two tallies together."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (COMPACT_LOCK,))
    count = ("SELECT (SELECT count(*) FROM usage_tally) "
             "+ (SELECT count(*) FROM usage_work_tally)")
    before = conn.execute(count).fetchone()[0]
    conn.execute(COMPACT)
    conn.execute(COMPACT_WORKS)
    after = conn.execute(count).fetchone()[0]
    conn.commit()
    return before, after


def rebuild(conn: psycopg.Connection) -> int:
    """Count both tallies again from the events and commit: the repair for a tally that missed
    writes (say, workers on older code storing events during an upgrade). New events wait
    for it (a SHARE lock on usage_event); readers do not. The rows written."""
    conn.execute("SELECT pg_advisory_xact_lock(%s)", (COMPACT_LOCK,))
    conn.execute("LOCK TABLE usage_event IN SHARE MODE")
    conn.execute("DELETE FROM usage_tally")
    conn.execute("DELETE FROM usage_work_tally")
    written = conn.execute(f"INSERT INTO usage_tally ({_KEY}, {_SUMS}) {RECOUNT}").rowcount
    written += conn.execute(f"INSERT INTO usage_work_tally ({_WORK_KEY}, {_WORK_SUMS}) "
                            f"{RECOUNT_WORKS}").rowcount
    conn.commit()
    return written


def rows(conn: psycopg.Connection, licensee_id: int | None = None, model: str | None = None,
         by: tuple[str, ...] = ("outcome", "purpose", "dataset")) -> list[tuple]:
    """``(*by, events, gross, net)`` summed over the tally, for one licensee (and model) or
    for all; ``by`` names key columns."""
    assert set(by) <= set(KEY), by
    group = ", ".join(by)
    return conn.execute(f"""
        SELECT {group}, sum(events)::bigint, sum(gross), sum(net) FROM usage_tally
        WHERE (%(licensee)s::integer IS NULL OR licensee_id = %(licensee)s)
          AND (%(model)s::text IS NULL OR model = %(model)s)
        GROUP BY {group} HAVING sum(events) <> 0 OR sum(gross) <> 0 OR sum(net) <> 0
        ORDER BY {group}
    """, {"licensee": licensee_id, "model": model}).fetchall()


def counts(conn: psycopg.Connection, licensee_id: int | None = None, model: str | None = None
           ) -> list[tuple]:
    """``(outcome, purpose, dataset, events)`` summed over the tally."""
    return [r[:4] for r in rows(conn, licensee_id, model) if r[3]]
