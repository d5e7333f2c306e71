"""What models used: transparency, suspense (unmatched) and unlicensed uses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.rows import dict_row

from ledger.errors import NotFound
from ledger.ingest import tally
from ledger.ingest.status import OUTCOMES
from ledger.matching.rules import MATCH_PRIORITY


def licensee_id(conn: psycopg.Connection, key: str) -> int:
    row = conn.execute("SELECT id FROM licensee WHERE key = %s", (key,)).fetchone()
    if row is None:
        raise NotFound(f"no licensee {key!r}")
    return row[0]


_SCOPE = "licensee_id = %(licensee)s AND (%(model)s::text IS NULL OR model = %(model)s)"
# Events by outcome, purpose and dataset come from the usage tally (a few rows); the
# distinct works and creators from the usage work tally (a row per work, model and split
# version): an index-only scan of usage_work_tally_licensee, whose order makes the
# distinct (work, split version) pairs a streaming grouping.
_WORKS_CREATORS = f"""
WITH pairs AS MATERIALIZED (
    SELECT work_id, split_version_id FROM usage_work_tally WHERE {_SCOPE}
    GROUP BY 1, 2 HAVING sum(events) > 0
)
SELECT (SELECT count(DISTINCT work_id) FROM pairs),
       (SELECT count(DISTINCT s.creator_id) FROM split_share s
        WHERE s.split_version_id IN (SELECT split_version_id FROM pairs))
"""


def transparency(conn: psycopg.Connection, licensee: str, model: str | None = None) -> dict:
    """What a licensee's model used, for registered works (contract §7 shape)."""
    params = {"licensee": licensee_id(conn, licensee), "model": model}
    if not conn.autocommit:
        conn.execute("SET LOCAL jit = off")  # compiling costs more than it saves here
    outcomes: dict[str, int] = {}
    by_purpose: dict[str, int] = {}
    by_dataset: dict[str, int] = {}
    for outcome, purpose, dataset, events in tally.counts(conn, params["licensee"], model):
        for found, name in ((outcomes, outcome), (by_purpose, purpose),
                            (by_dataset, dataset or "(none)")):
            found[name] = found.get(name, 0) + events
    works, creators = _works_and_creators(conn, params)
    return {"licensee": licensee, "model": model, "events": sum(outcomes.values()),
            "outcomes": {name: outcomes.get(name, 0) for name in OUTCOMES},
            "works": works, "creators": creators, "by_purpose": dict(sorted(by_purpose.items())),
            "by_dataset": dict(sorted(by_dataset.items()))}


@contextmanager
def in_index_order(conn: psycopg.Connection) -> Iterator[None]:
    """For a query over a licensee's works grouped by work: usage_work_tally_licensee
    hands them over in work order, so group them as they stream, in memory, rather than
    hash them all. Only for that query: what runs next in the transaction hashes."""
    if conn.autocommit:
        yield
        return
    conn.execute("SET LOCAL enable_hashagg = off")
    conn.execute("SET LOCAL work_mem = '32MB'")
    yield
    conn.execute("RESET enable_hashagg")
    conn.execute("RESET work_mem")


def _works_and_creators(conn: psycopg.Connection, params: dict) -> tuple[int, int]:
    with in_index_order(conn):
        return conn.execute(_WORKS_CREATORS, params).fetchone()


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
