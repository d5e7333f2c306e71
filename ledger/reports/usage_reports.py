"""What models used: transparency, suspense (unmatched) and unlicensed uses."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager

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
def _settings(conn: psycopg.Connection, **values: str) -> Iterator[None]:
    """Planner settings for the statements run inside, reset after them: what runs next in
    the transaction plans as usual. Without a transaction (autocommit), none."""
    if conn.autocommit:
        yield
        return
    for name, value in values.items():
        conn.execute(f"SET LOCAL {name} = '{value}'")
    yield
    for name in values:
        conn.execute(f"RESET {name}")


def in_index_order(conn: psycopg.Connection) -> AbstractContextManager[None]:
    """For a query over a licensee's works grouped by work: usage_work_tally_licensee
    hands them over in work order, so group them as they stream, in memory, rather than
    hash them all."""
    return _settings(conn, enable_hashagg="off", work_mem="32MB")


def _works_and_creators(conn: psycopg.Connection, params: dict) -> tuple[int, int]:
    with in_index_order(conn):
        return conn.execute(sql.WORKS_AND_CREATORS, params).fetchone()


def suspense(conn: psycopg.Connection, thresholds: dict) -> list[dict]:
    """Unmatched items, grouped by their identifier, the near-duplicate copies of one
    unregistered image or text on one line (``gather_copies``, within the auto-match
    ``thresholds``: ``ledger.matching.thresholds.params()``): held until the work is
    registered. The most used first, at most ``sql.SUSPENSE_LINES`` lines."""
    # The band keys of every fingerprint in suspense sorted and grouped in memory, not hashed
    # in batches spilled to disk; compiling (JIT) costs more than it saves here.
    with _settings(conn, work_mem="256MB", enable_hashagg="off", jit="off"):
        pairs = conn.execute(sql.SUSPENSE_PAIRS, thresholds).fetchall()
    hashes = sorted({v for kind, a, b, _ in pairs if kind == "pdq" for v in (a, b)})
    if hashes:
        sharp = {v for v, in conn.execute(sql.SUSPENSE_SHARP, {"values": hashes, **thresholds})}
        pairs = [p for p in pairs if p[0] != "pdq" or (p[1] in sharp and p[2] in sharp)]
    paired = sorted({v for _, a, b, _ in pairs for v in (a, b)})
    # Gathering takes at most one line away per fingerprint gathered: with that many lines
    # more, the report still has its length.
    groups = conn.cursor(row_factory=dict_row).execute(sql.SUSPENSE, {
        "lines": sql.SUSPENSE_LINES + len(paired), "paired": paired}).fetchall()
    return gather_copies(groups, pairs)[:sql.SUSPENSE_LINES]


def gather_copies(groups: list[dict], pairs: list[tuple[str, str, str, int]]) -> list[dict]:
    """Suspense lines with the near-duplicates of one item on one line. ``groups`` are the
    lines by identifier (``identifier, value, events, quantity, licensees, first_used,
    last_used``); ``pairs`` the fingerprints (kind, value, value, distance) within the
    auto-match threshold of each other.

    Taken from the most used down (then by value), a fingerprint joins the nearest line
    already started by one within the threshold of it (the more used of two as near), or
    starts its own. A line is named by the fingerprint that started it, and each copy is
    within the threshold of that one: copies are never chained from one to the next into
    a line of things that do not look alike. A line tells how many distinct fingerprints
    (``copies``) it gathers and the farthest one's distance (``max_distance``)."""
    near: dict[tuple[str, str], dict[str, int]] = {}
    for kind, a, b, distance in pairs:
        near.setdefault((kind, a), {})[b] = distance
        near.setdefault((kind, b), {})[a] = distance
    lines: list[dict] = []
    started: dict[tuple[str, str], int] = {}  # a line's fingerprint: its place in lines
    for group in sorted(groups, key=lambda g: (-g["events"], g["value"])):
        kind = group["identifier"]
        found = [(distance, started[(kind, value)])
                 for value, distance in near.get((kind, group["value"]), {}).items()
                 if (kind, value) in started]
        if not found:
            started[(kind, group["value"])] = len(lines)
            lines.append({**group, "copies": 1, "max_distance": None})
            continue
        distance, at = min(found)
        line = lines[at]
        line["events"] += group["events"]
        line["quantity"] += group["quantity"]
        line["licensees"] = sorted(set(line["licensees"]) | set(group["licensees"]))
        line["first_used"] = min(line["first_used"], group["first_used"])
        line["last_used"] = max(line["last_used"], group["last_used"])
        line["copies"] += 1
        line["max_distance"] = max(line["max_distance"] or 0, distance)
    return sorted(lines, key=lambda g: (-g["events"], g["value"]))


def unlicensed(conn: psycopg.Connection) -> list[dict]:
    """Matched uses no license covers (unlicensed) or that creators refused (opted_out)."""
    return conn.cursor(row_factory=dict_row).execute(sql.UNLICENSED).fetchall()
