"""Reading the usage tally (kept by ``ledger.matching.tally``): events, gross and net by
licensee, model, outcome, purpose, dataset, usage month and currency."""

from __future__ import annotations

import psycopg

from ledger.matching.sql import KEY
from ledger.reports import sql


def rows(conn: psycopg.Connection, licensee_id: int | None = None, model: str | None = None,
         by: tuple[str, ...] = ("outcome", "purpose", "dataset")) -> list[tuple]:
    """``(*by, events, gross, net)`` summed over the tally, for one licensee (and model) or
    for all; ``by`` names key columns."""
    if not set(by) <= set(KEY):
        raise ValueError(f"not columns of the usage tally's key: {sorted(set(by) - set(KEY))}")
    return conn.execute(sql.tally_rows(by), {"licensee": licensee_id, "model": model}).fetchall()


def counts(conn: psycopg.Connection, licensee_id: int | None = None, model: str | None = None
           ) -> list[tuple]:
    """``(outcome, purpose, dataset, events)`` summed over the tally."""
    return [r[:4] for r in rows(conn, licensee_id, model) if r[3]]
