"""One usage event as an operator looks it up (``royalty events show``): what was sent,
its outcome, what it matched, its amounts and each creator's part, its re-evaluations and
its void. Read-only."""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row

from ledger.errors import NotFound
from ledger.reports import sql


def event(conn: psycopg.Connection, source: str, event_id: str) -> dict:
    cur = conn.cursor(row_factory=dict_row)
    row = cur.execute(sql.EVENT, (source, event_id)).fetchone()
    if row is None:
        raise NotFound(f"no event {source} {event_id} (source and id as sent)")
    parts = []
    if row["net"] is not None and row["split_version_id"] is not None:
        parts = cur.execute(sql.EVENT_PARTS, (row["net"], row["split_version_id"])).fetchall()
    return {
        "source": row["source"], "id": row["id_"], "time": row["time"],
        "received_at": row["received_at"], "licensee": row["licensee"],
        "purpose": row["purpose"], "activity": row["activity"], "model": row["model"],
        "run": row["run"], "dataset": row["dataset"], "quantity": row["quantity"],
        "unit": row["unit"],
        "item": {k: row[k] for k in sql.IDENTIFIER_KINDS if row[k] is not None},
        "extensions": row["extensions"],
        "outcome": row["outcome"],
        "match": {"work": row["work"], "title": row["title"], "license": row["license"],
                  "split_from": row["split_from"] if row["has_split"] else None},
        "amounts": {"currency": row["currency"], "gross": row["gross"], "fee": row["fee"],
                    "net": row["net"], "creators": parts, "entry": row["entry_id"]},
        "reevaluations": cur.execute(sql.EVENT_REEVALUATIONS, (row["id"],)).fetchall(),
        "void": cur.execute(sql.EVENT_VOID, (row["id"],)).fetchone(),
    }
