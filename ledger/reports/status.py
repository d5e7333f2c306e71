"""What the ledger has received and what became of it (``royalty status``)."""

from __future__ import annotations

import psycopg

from ledger.matching.rules import OUTCOMES
from ledger.reports import sql, tallies


def counts(conn: psycopg.Connection) -> dict:
    received, accepted, duplicates = conn.execute(sql.BATCH_TOTALS).fetchone()
    dead_letters = conn.execute(sql.OPEN_DEAD_LETTER_COUNT).fetchone()[0]
    return {"events": {"received": int(received), "accepted": int(accepted),
                       "duplicates": int(duplicates), "dead_letters": int(dead_letters),
                       "pending": 0},
            "outcomes": outcome_counts(conn)}


def outcome_counts(conn: psycopg.Connection) -> dict:
    """Events by outcome, from the usage tally (not by counting every event)."""
    found: dict[str, int] = {}
    for outcome, _, _, events in tallies.counts(conn):
        found[outcome] = found.get(outcome, 0) + events
    return {name: int(found.get(name, 0)) for name in OUTCOMES}
