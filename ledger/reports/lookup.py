"""A creator's question about a file (contract §8): was it used, by whom, for what, and
what did it earn? Read-only: the file's fingerprints come from the caller."""

from __future__ import annotations

import psycopg
from psycopg.rows import dict_row

from ledger.reports import sql


def lookup(conn: psycopg.Connection, identifiers: dict, thresholds: dict) -> dict:
    """The works ``identifiers`` (sha256, pdq, iscc) match, how and at what distance, and
    their use; and the uses still in suspense of the file or of copies of it."""
    params = {"sha256": identifiers.get("sha256"), "pdq": identifiers.get("pdq"),
              "iscc": identifiers.get("iscc"), **thresholds}
    cur = conn.cursor(row_factory=dict_row)
    works = cur.execute(sql.LOOKUP_WORKS, params).fetchall()
    keys = [w["work"] for w in works]
    ids = [i for _, i in conn.execute(sql.LOOKUP_WORK_IDS, (keys,))]
    uses = cur.execute(sql.LOOKUP_USES, {"works": ids, "keys": keys}).fetchall() if ids else []
    suspense = cur.execute(sql.LOOKUP_SUSPENSE, params).fetchall()
    return {"works": works, "uses": uses, "in_suspense": suspense}
