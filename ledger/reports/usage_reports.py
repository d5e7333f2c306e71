"""What models used: transparency, suspense (unmatched) and unlicensed uses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg
from psycopg.rows import dict_row

from ledger.errors import NotFound
from ledger.matching.rules import OUTCOMES
from ledger.reports import sql, status, tallies


def licensee_id(conn: psycopg.Connection, key: str) -> int:
    row = conn.execute(sql.LICENSEE_ID, (key,)).fetchone()
    if row is None:
        raise NotFound(f"no licensee {key!r}")
    return row[0]


def transparency(conn: psycopg.Connection, licensee: str, model: str | None = None) -> dict:
    """What a licensee's model used, for registered works (contract §7 shape)."""
    params = {"licensee": licensee_id(conn, licensee), "model": model}
    if not conn.autocommit:
        conn.execute("SET LOCAL jit = off")  # compiling costs more than it saves here
    outcomes: dict[str, int] = {}
    by_purpose: dict[str, int] = {}
    by_dataset: dict[str, int] = {}
    for outcome, purpose, dataset, events in tallies.counts(conn, params["licensee"], model):
        for found, name in ((outcomes, outcome), (by_purpose, purpose),
                            (by_dataset, dataset or "(none)")):
            found[name] = found.get(name, 0) + events
    works, creators = _works_and_creators(conn, params)
    similar = conn.execute(sql.TRANSPARENCY_MATCHES, params).fetchall()
    matched = sum(v for k, v in outcomes.items() if k != "unmatched")
    by_method = {"exact": matched - sum(n for _, n, _ in similar),
                 **{method: n for method, n, _ in similar}}
    return {"licensee": licensee, "model": model, "events": sum(outcomes.values()),
            "outcomes": {name: outcomes.get(name, 0) for name in OUTCOMES},
            "works": works, "creators": creators, "by_purpose": dict(sorted(by_purpose.items())),
            "by_dataset": dict(sorted(by_dataset.items())),
            # contract §8: how the matched events were matched, and the largest distance
            "by_method": by_method,
            "max_distance": {method: d for method, _, d in similar if d is not None},
            # events reported in its name by someone not its producer (contract §11)
            "refused_by_user": status.refused_by_user(conn, licensee),
            # pooled uses (contract §9): awaiting their period's close, and what closed
            # periods allocated to them
            "awaiting_allocation": status.awaiting_allocation(conn, params["licensee"], model),
            "allocated": status.allocated(conn, params["licensee"], model)}


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
        return conn.execute(sql.WORKS_AND_CREATORS, params).fetchone()


def suspense(conn: psycopg.Connection) -> list[dict]:
    """Unmatched items, grouped by their identifier: held until the work is registered."""
    return conn.cursor(row_factory=dict_row).execute(sql.SUSPENSE).fetchall()


def unlicensed(conn: psycopg.Connection) -> list[dict]:
    """Matched uses no license covers (unlicensed) or that creators refused (opted_out)."""
    return conn.cursor(row_factory=dict_row).execute(sql.UNLICENSED).fetchall()
