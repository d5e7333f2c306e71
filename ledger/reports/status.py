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
            "outcomes": outcome_counts(conn),
            "awaiting_allocation": awaiting_allocation(conn), "corrections": corrections(conn)}


def awaiting_allocation(conn: psycopg.Connection, licensee_id: int | None = None,
                        model: str | None = None) -> dict:
    """Accrued pool and revenue-share uses whose period has not closed (contract §9)."""
    events, quantity = conn.execute(sql.AWAITING_ALLOCATION,
                                    {"licensee": licensee_id, "model": model}).fetchone()
    return {"events": int(events), "quantity": quantity}


def allocated(conn: psycopg.Connection, licensee_id: int | None = None,
              model: str | None = None) -> dict:
    """What closed periods allocated, by currency: gross and the creators' net."""
    return {currency: {"events": int(events), "gross": gross, "net": net}
            for currency, gross, net, events in conn.execute(
                sql.ALLOCATED_BY_CURRENCY, {"licensee": licensee_id, "model": model})}


def corrections(conn: psycopg.Connection) -> dict:
    """What operators set aside: events voided, dead letters discarded (issue 19)."""
    return {"voided": int(conn.execute(sql.VOIDED_EVENTS).fetchone()[0]),
            "discarded_dead_letters": int(
                conn.execute(sql.DISCARDED_DEAD_LETTER_COUNT).fetchone()[0])}


def refused_by_user(conn: psycopg.Connection, licensee: str | None = None) -> dict[str, int]:
    """Events refused ``unauthorized_producer``, by the user_id they came with."""
    return {user or "(no user_id)": int(n) for user, n in
            conn.execute(sql.REFUSED_BY_USER, {"licensee": licensee})}


def outcome_counts(conn: psycopg.Connection) -> dict:
    """Events by outcome, from the usage tally (not by counting every event)."""
    found: dict[str, int] = {}
    for outcome, _, _, events in tallies.counts(conn):
        found[outcome] = found.get(outcome, 0) + events
    return {name: int(found.get(name, 0)) for name in OUTCOMES}
