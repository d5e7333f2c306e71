"""What models used: transparency, suspense (unmatched) and unlicensed uses."""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row

from ledger.errors import NotFound
from ledger.ingest.status import OUTCOMES
from ledger.matching.rules import MATCH_PRIORITY


def licensee_id(conn: psycopg.Connection, key: str) -> int:
    row = conn.execute("SELECT id FROM licensee WHERE key = %s", (key,)).fetchone()
    if row is None:
        raise NotFound(f"no licensee {key!r}")
    return row[0]


def transparency(conn: psycopg.Connection, licensee: str, model: str | None = None) -> dict:
    """What a licensee's model used, for registered works (contract §7 shape)."""
    params = {"licensee": licensee_id(conn, licensee), "model": model}
    scope = "licensee_id = %(licensee)s AND (%(model)s::text IS NULL OR model = %(model)s)"
    outcomes = dict(conn.execute(
        f"SELECT outcome, count(*) FROM usage_event WHERE {scope} GROUP BY outcome",
        params).fetchall())
    works, creators = conn.execute(f"""
        SELECT (SELECT count(DISTINCT work_id) FROM usage_event WHERE {scope}),
               (SELECT count(DISTINCT s.creator_id) FROM split_share s
                WHERE s.split_version_id IN (SELECT split_version_id FROM usage_event
                                             WHERE {scope}))
    """, params).fetchone()
    by_purpose = dict(conn.execute(
        f"SELECT purpose, count(*) FROM usage_event WHERE {scope} GROUP BY purpose ORDER BY 1",
        params).fetchall())
    by_dataset = dict(conn.execute(
        f"SELECT coalesce(dataset, '(none)'), count(*) FROM usage_event WHERE {scope} "
        f"GROUP BY 1 ORDER BY 1", params).fetchall())
    return {"licensee": licensee, "model": model, "events": sum(outcomes.values()),
            "outcomes": {name: outcomes.get(name, 0) for name in OUTCOMES},
            "works": works, "creators": creators, "by_purpose": by_purpose,
            "by_dataset": by_dataset}


_PRIMARY = "CASE " + " ".join(f"WHEN {k} IS NOT NULL THEN '{k}'" for k in MATCH_PRIORITY) + " END"
_VALUE = "COALESCE(" + ", ".join(MATCH_PRIORITY) + ")"


def suspense(conn: psycopg.Connection) -> list[dict]:
    """Unmatched items, grouped by their identifier: held until the work is registered."""
    return conn.cursor(row_factory=dict_row).execute(f"""
        SELECT {_PRIMARY} AS identifier, {_VALUE} AS value, count(*) AS events,
               sum(quantity) AS quantity,
               array_agg(DISTINCT l.key ORDER BY l.key) AS licensees,
               min(e.time) AS first_used, max(e.time) AS last_used
        FROM usage_event e JOIN licensee l ON l.id = e.licensee_id
        WHERE e.outcome = 'unmatched'
        GROUP BY 1, 2 ORDER BY count(*) DESC, 2 LIMIT 10000
    """).fetchall()


def unlicensed(conn: psycopg.Connection) -> list[dict]:
    """Matched uses no license covers (unlicensed) or that creators refused (opted_out)."""
    return conn.cursor(row_factory=dict_row).execute("""
        SELECT l.key AS licensee, coalesce(e.model, '') AS model, w.key AS work,
               e.outcome, e.purpose, count(*) AS events, sum(e.quantity) AS quantity
        FROM usage_event e JOIN licensee l ON l.id = e.licensee_id
        JOIN work w ON w.id = e.work_id
        WHERE e.outcome IN ('unlicensed', 'opted_out', 'unpriced')
        GROUP BY 1, 2, 3, 4, 5 ORDER BY 1, 2, 3, 4, 5
    """).fetchall()
