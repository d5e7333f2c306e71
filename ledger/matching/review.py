"""Review of near-duplicate candidates and creators' claims (contract §8).

A fingerprint in suspense whose nearest registered fingerprint lies beyond the auto-match
threshold but within the review threshold is *proposed*: one ``match_candidate`` per
(kind, value, work), nearest first. A creator's claim proposes the pairs it names. A
reviewer accepts (the identifier is added to the work, marked ``via`` review or claim, and
the events it affects are re-evaluated with back-pay) or rejects (the pair is never
proposed again). Every decision keeps who and when.
"""

from __future__ import annotations

from dataclasses import dataclass

import orjson
import psycopg
from psycopg.rows import dict_row

from ledger import locks
from ledger.catalog.identifiers import IDENTIFIER_KINDS, normalise_all, pairs
from ledger.errors import InvalidInput, RowError
from ledger.jsonl import Line
from ledger.matching import review_sql, thresholds


def propose(conn: psycopg.Connection) -> int:
    """Propose the fingerprints in suspense near a registered one, looking up only those
    not looked up before (``proposed_fingerprint``); how many candidates are new."""
    locks.hold(conn, locks.PROPOSAL_LOCK)
    conn.execute(review_sql.APPLY_STALE)
    return conn.execute(review_sql.PROPOSE, thresholds.params()).fetchone()[0]


def open_candidates(conn: psycopg.Connection, ids: list[int] | None = None) -> list[dict]:
    cur = conn.cursor(row_factory=dict_row)
    rows = cur.execute(review_sql.open_candidates(IDENTIFIER_KINDS), {"ids": ids}).fetchall()
    stakes: dict[int, list[dict]] = {}
    for stake in cur.execute(review_sql.candidate_stakes(IDENTIFIER_KINDS), {"ids": ids}):
        stakes.setdefault(stake["candidate_id"], []).append(stake)
    for row in rows:
        row["dispute"] = bool(row["matched_elsewhere"]) and row["method"] == "claim"
        row["gross"], row["net"] = _at_stake(stakes.get(row["id"], []))
    return rows


def _at_stake(stakes: list[dict]) -> tuple[str, str]:
    """What accepting would book, per currency ("0.009200000 USD"); uses a pool or revenue
    share prices at its period's close are counted beside it."""
    gross, net = [], []
    for stake in stakes:
        if stake["gross"] is not None:
            gross.append(f"{stake['gross']} {stake['currency']}")
            net.append(f"{stake['net']} {stake['currency']}")
        if stake["pooled"]:
            pooled = f"{stake['pooled']} pooled use(s) in {stake['currency']}"
            gross.append(pooled)
            net.append(pooled)
    return "; ".join(gross), "; ".join(net)


@dataclass(frozen=True)
class Decided:
    ids: list[int]
    works: list[str]


def accept(conn: psycopg.Connection, ids: list[int], by: str) -> Decided:
    """Accept open candidates: each identifier is added to its work. All or none; the
    caller commits and then re-evaluates (``reevaluation.drain``)."""
    locks.hold(conn, locks.CATALOG_LOCK)  # as an import: no batch is evaluated meanwhile
    rows = _decidable(conn, ids, "accept")
    errors = []
    for row in rows:
        owner = conn.execute(review_sql.IDENTIFIER_OWNER, {"kind": row["kind"],
                                                    "value": row["value"]}).fetchone()
        if owner is not None and owner[0] != row["work_id"]:
            errors.append(RowError(0, f"candidate {row['id']}: {row['kind']} {row['value']} "
                                      f"already belongs to work {owner[1]!r}"))
    taken = {}
    for row in rows:
        other = taken.setdefault((row["kind"], row["value"]), row)
        if other["work_id"] != row["work_id"]:
            errors.append(RowError(0, f"candidates {other['id']} and {row['id']} give "
                                      f"{row['kind']} {row['value']} to two works"))
    if errors:
        raise InvalidInput(errors)
    for row in rows:
        conn.execute(review_sql.ADD_ACCEPTED_IDENTIFIER, {
            "kind": row["kind"], "value": row["value"], "work": row["work_id"],
            "via": row["method"]})
    conn.execute(review_sql.DECIDE, {"status": "accepted", "by": by, "ids": ids})
    conn.execute(review_sql.RECORD_ACCEPTED_WORKS, {"works": sorted({r["work_id"] for r in rows})})
    return Decided(ids, sorted({r["work"] for r in rows}))


def reject(conn: psycopg.Connection, ids: list[int], by: str) -> Decided:
    rows = _decidable(conn, ids, "reject")
    conn.execute(review_sql.DECIDE, {"status": "rejected", "by": by, "ids": ids})
    conn.execute(review_sql.FORGET_REJECTED, {"ids": ids})
    return Decided(ids, sorted({r["work"] for r in rows}))


def _decidable(conn: psycopg.Connection, ids: list[int], verb: str) -> list[dict]:
    """The candidates, locked; ``InvalidInput`` with every reason one cannot be decided."""
    cur = conn.cursor(row_factory=dict_row)
    rows = cur.execute(review_sql.CANDIDATES_FOR_DECISION, {"ids": ids}).fetchall()
    for row in rows:
        row["work"] = row.pop("key")
    found = {r["id"] for r in rows}
    errors = [RowError(0, f"no candidate {i}") for i in sorted(set(ids) - found)]
    for row in rows:
        if row["status"] != "open":
            errors.append(RowError(0, f"candidate {row['id']} was already {row['status']} by "
                                      f"{row['decided_by']} at {row['decided_at']:%Y-%m-%d %H:%M}Z;"
                                      f" it cannot be {verb}ed"))
    if errors:
        raise InvalidInput(errors)
    return rows


# --- Claims -----------------------------------------------------------------------------

_CLAIM_FIELDS = {"claim", "creator", "work", "identifiers", "note"}


def import_claims(conn: psycopg.Connection, lines: list[Line], by: str | None) -> tuple[int, int]:
    """File creators' claims (all or none): each becomes a candidate per identifier.
    Returns (claims filed, claims unchanged); ``InvalidInput`` with every bad line."""
    errors: list[RowError] = []
    good: list[tuple[int, dict, dict]] = []
    shapeless: list[tuple[int, dict, list[str]]] = []
    for line in lines:
        row = line.value
        if not isinstance(row, dict):
            errors.append(RowError(line.number, "a claim must be a JSON object"))
            continue
        problems = [f"unknown field {k!r}" for k in sorted(set(row) - _CLAIM_FIELDS)]
        for key in ("claim", "creator", "work"):
            if not isinstance(row.get(key), str) or not row.get(key):
                problems.append(f"{key} must be a non-empty string")
        if row.get("note") is not None and not isinstance(row.get("note"), str):
            problems.append("note must be a string")
        identifiers, bad = normalise_all(row.get("identifiers"))
        problems += bad
        if problems:
            shapeless.append((line.number, row, problems))
        else:
            good.append((line.number, row, identifiers))
    keys = [row["claim"] for _, row, _ in good]
    named = [r for _, r, _ in good + shapeless]
    creators = dict(conn.execute(review_sql.CREATOR_IDS, (
        [r["creator"] for r in named if isinstance(r.get("creator"), str)],)))
    works = dict(conn.execute(review_sql.WORK_IDS, (
        [r["work"] for r in named if isinstance(r.get("work"), str)],)))
    for number, row, problems in shapeless:  # every reason, the unknown names too
        for key, known in (("creator", creators), ("work", works)):
            if isinstance(row.get(key), str) and row[key] and row[key] not in known:
                problems.append(f"unknown {key} {row[key]!r}")
        errors.extend(RowError(number, p) for p in problems)
    authors: dict[int, set[int]] = {}
    for work_id, creator_id in conn.execute(review_sql.CREATORS_OF_WORK, (list(works.values()),)):
        authors.setdefault(work_id, set()).add(creator_id)
    filed = {k: (c, w, i) for k, c, w, i in conn.execute(review_sql.CLAIM_KEYS, (keys,))}
    flat = [(k, v, works.get(r["work"])) for _, r, i in good for k, v in pairs(i)]
    decided = {(k, v, w): (status, who) for k, v, w, status, who in conn.execute(
        review_sql.DECIDED_PAIRS, {"kinds": [p[0] for p in flat],
                                   "values": [p[1] for p in flat],
                                   "works": [p[2] for p in flat]})}
    new, unchanged, seen = [], 0, {}
    for number, row, identifiers in good:
        creator_id, work_id = creators.get(row["creator"]), works.get(row["work"])
        problems = []
        if creator_id is None:
            problems.append(f"unknown creator {row['creator']!r}")
        if work_id is None:
            problems.append(f"unknown work {row['work']!r}")
        if creator_id and work_id and creator_id not in authors.get(work_id, set()):
            problems.append(f"creator {row['creator']!r} is not in the splits of work "
                            f"{row['work']!r}")
        if row["claim"] in seen:
            problems.append(f"claim {row['claim']!r} is also on line {seen[row['claim']]}")
        seen[row["claim"]] = number
        previous = filed.get(row["claim"])
        if previous is not None:
            if previous == (creator_id, work_id, _jsonable(identifiers)) and not problems:
                unchanged += 1  # filed before as it is: a no-op
                continue
            problems.append(f"claim {row['claim']!r} was filed before with other content")
        for kind, value in pairs(identifiers):
            if (kind, value, work_id) in decided:
                status, who = decided[(kind, value, work_id)]
                problems.append(f"identifiers.{kind}: {value} was already {status} for work "
                                f"{row['work']!r} by {who}")
        if problems:
            errors.extend(RowError(number, p) for p in problems)
        else:
            new.append((row, creator_id, work_id, identifiers))
    if errors:
        raise InvalidInput(sorted(errors, key=lambda e: e.line))
    for row, creator_id, work_id, identifiers in new:
        claim_id = conn.execute(review_sql.INSERT_CLAIM, {
            "key": row["claim"], "creator": creator_id, "work": work_id,
            "identifiers": orjson.dumps(_jsonable(identifiers)).decode(),
            "note": row.get("note"), "by": by or row["creator"]}).fetchone()[0]
        for kind, value in pairs(identifiers):
            conn.execute(review_sql.CLAIM_CANDIDATE, {"kind": kind, "value": value,
                                                      "work": work_id, "claim": claim_id})
    return len(new), unchanged


def _jsonable(identifiers: dict) -> dict:
    return {k: (v if isinstance(v, str) else list(v)) for k, v in identifiers.items()}
