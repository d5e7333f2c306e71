"""Every statement of matching: the set-based evaluation of usage events (match, split
version, opt-outs, license, outcome and amounts; contract §4-§6), the insert that stores a
staged batch with its evaluation, the usage tallies, re-evaluation and voids. Review and
claims have theirs in ``ledger.matching.review_sql``.

These statements are the production form of the rules in ``ledger.matching.rules`` and
``ledger.accounting.money``, the reference model; the Hypothesis tests in
``tests/ledger/matching`` hold the SQL to them.

``evaluation(source, kinds)`` reads a relation with columns ``time, licensee_id, purpose,
quantity, unit`` and one column per identifier kind, and yields its columns and:
``work_id, split_version_id, license_id, outcome, currency, gross, fee, net`` and the
split version's ``creator_ids, shares`` (for booking without reading it again).
"""

from __future__ import annotations

from functools import cache

from ledger.accounting.sql import add_lines, movements
from ledger.matching.rules import MATCH_PRIORITY, PDQ_BANDS, PDQ_KEY_BASE, PDQ_KEY_SPAN

# The temporary table of a re-evaluation chunk's changed events (created below with its
# columns by ``CREATE_REEVALUATED_TABLE``); the tallies and the statement lines read it.
REEVALUATED_TABLE = "reevaluated"

# --- Evaluation -------------------------------------------------------------------------

_TEMPLATE = """
SELECT src.*, m.work_id, m.match_method, m.match_distance,
       sv.id AS split_version_id, lic.id AS license_id,
       CASE WHEN m.work_id IS NULL THEN 'unmatched'
            WHEN lic.id IS NULL THEN CASE WHEN covers(sv.opt_out, src.purpose) THEN 'opted_out'
                                          ELSE 'unlicensed' END
            WHEN lic.rate_unit <> src.unit THEN 'unpriced'
            ELSE 'accrued' END AS outcome,
       lic.currency,
       priced.gross, priced.fee, CAST(priced.gross - priced.fee AS numeric(38, 9)) AS net,
       sv.creator_ids, sv.shares
FROM {source} AS src
{joins}
CROSS JOIN LATERAL ({match}) AS m
LEFT JOIN LATERAL (
    -- opt_out: the work's and the split's creators' opt-outs together (kept by triggers)
    SELECT v.id, v.opt_out, v.creator_ids, v.shares FROM split_version v
    WHERE v.work_id = m.work_id AND v.effective_from <= src.time
    ORDER BY v.effective_from DESC LIMIT 1) AS sv ON true
LEFT JOIN LATERAL (
    SELECT l.id, l.rate_unit, l.rate_type, l.price, l.platform_fee, l.currency
    FROM license l
    WHERE m.work_id IS NOT NULL
      AND l.licensee_id = src.licensee_id
      AND l.valid_from <= src.time AND (l.valid_until IS NULL OR src.time < l.valid_until)
      AND (l.retired_at IS NULL OR src.time < l.retired_at)
      AND covers(l.purposes, src.purpose)
      AND CASE l.scope_kind
            WHEN 'works' THEN EXISTS (
                SELECT 1 FROM license_scope_work sw
                WHERE sw.license_id = l.id AND sw.work_id = m.work_id)
            WHEN 'creators' THEN NOT EXISTS (
                SELECT 1 FROM split_share s
                WHERE s.split_version_id = sv.id AND NOT EXISTS (
                    SELECT 1 FROM license_scope_creator sc
                    WHERE sc.license_id = l.id AND sc.creator_id = s.creator_id))
            ELSE NOT covers(sv.opt_out, src.purpose) END
    ORDER BY CASE l.scope_kind WHEN 'works' THEN 3 WHEN 'creators' THEN 2 ELSE 1 END DESC,
             l.key COLLATE "C"
    LIMIT 1) AS lic ON true
-- Each product is a column of its own (OFFSET 0) before it is rounded: round_half_even,
-- a SQL function, is inlined only when its argument is that cheap (given an expression,
-- it runs as a function call per event), and the product is computed once.
LEFT JOIN LATERAL (
    SELECT g.gross, CAST(round_half_even(f.x, 9) AS numeric(38, 9)) AS fee
    FROM (SELECT CAST(round_half_even(p.x, 9) AS numeric(38, 9)) AS gross
          FROM (SELECT src.quantity * lic.price AS x OFFSET 0) AS p OFFSET 0) AS g
    CROSS JOIN LATERAL (SELECT g.gross * lic.platform_fee AS x OFFSET 0) AS f
    -- a pool or revenue-share use is accrued unpriced: its amount comes at its period's
    -- close (ledger.periods)
    WHERE lic.id IS NOT NULL AND lic.rate_unit = src.unit AND lic.rate_type = 'per_unit'
    OFFSET 0) AS priced ON true
"""


# An exact kind's probe: the work that holds the item's value (the primary key), and how
# that identifier came to it.
_EXACT = """(SELECT i.work_id, coalesce(i.via, 'exact') AS match_method,
        CAST(NULL AS integer) AS match_distance
 FROM work_identifier i WHERE i.kind = '{kind}' AND i.value = src.{kind}
   AND (i.retired_at IS NULL OR src.time < i.retired_at))"""
# An ISCC's Instance-Code is exact (contract §8): the same bytes.
# The work key that breaks ties is read per candidate (a scalar subquery): as a join, a
# planner that expects many candidates merges with the whole work table instead.
_KEY_OF = '(SELECT w.key FROM work w WHERE w.id = {work}) COLLATE "C"'
_INSTANCE = """(SELECT i.work_id, coalesce(i.via, 'exact'), CAST(NULL AS integer)
 FROM work_identifier i
 WHERE src.iscc IS NOT NULL AND i.instance = iscc_instance(src.iscc) AND i.kind = 'iscc'
   AND (i.retired_at IS NULL OR src.time < i.retired_at)
 ORDER BY """ + _KEY_OF.format(work="i.work_id") + """ LIMIT 1)"""
# The nearest registered fingerprint within its kind's auto-match threshold: candidates are
# those sharing a band with the item's (fingerprint_band: 14 index ranges, the bits read
# from the index itself), never a scan of the catalog; ties by distance, then kind (pdq before
# iscc), then work key in code-point order. A PDQ hash of quality below 50 is never matched
# by similarity.
#
# The candidates are gathered once per batch (``fill_near``), for each distinct fingerprint of
# it: its bits and band keys decoded once, and the batch's probes run a band position at a
# time, in key order (``BAND_CANDIDATES``). Each candidate (work, method,
# distance) is kept once, with the work's key and retirement; an event then picks, among
# its fingerprints' candidates, the nearest not retired at its time (``_SIMILAR``).
_QUALITY_OK = """coalesce(CAST(CAST(src.extensions AS jsonb) #>> '{item,pdq_quality}'
                       AS integer), 100) >= %(min_pdq_quality)s"""


def pdq_keys(bits: str) -> str:
    """pdq_keys' keys (migration 0022) of ``bits``, a hash's bits decoded once: inline,
    at a third of the function's cost."""
    keys, offset = [], 1
    for i, width in enumerate(PDQ_BANDS):
        keys.append(f"{PDQ_KEY_BASE + i * PDQ_KEY_SPAN} + CAST(CAST(substring({bits} FROM {offset} "
                    f"FOR {width}) AS bit({width})) AS integer)")
        offset += width
    return "ARRAY[" + ",\n      ".join(keys) + "]"


# A fingerprint's bits, padded to 256 as fingerprint_band's are (an ISCC Content-Code's 64).
PADDED_BITS = {"pdq": "CAST(pdq_bits({value}) AS bit varying)",
               "iscc": "CAST(iscc_content({value}) AS bit varying)"
                       " || CAST(repeat('0', 192) AS bit varying)"}
# The registered fingerprints sharing a band with each row of ``{fingerprints}`` (numbered
# ``n``, with ``kind``, ``bits``, ``reach`` and band keys ``bands``) within its reach: a
# probe of fingerprint_band's index per band key, the bits read from the index itself.
# A PDQ band position at a time: its key range names one part of the table (planned
# against that part alone, an index a level shallower than the whole), probed in key order
# (neighbouring probes read the same index pages). Review proposes through it too.
# OFFSET 0: a probe of the index per band key, never a join with the whole part.
_PROBED = """
CROSS JOIN LATERAL (
    SELECT b.work_id, b.via, bit_count(b.bits # p.bits) AS distance
    FROM fingerprint_band b
    WHERE b.band = p.band AND {within} AND bit_count(b.bits # p.bits) <= p.reach
    OFFSET 0) AS b"""
_PDQ_POSITION = """SELECT p.n, b.work_id, b.via, b.distance
FROM (SELECT f.n, f.bits, f.reach, f.bands[{position}] AS band FROM {{fingerprints}} AS f
      WHERE f.kind = 'pdq' ORDER BY band OFFSET 0) AS p""" + _PROBED
_ISCC_BANDS = """SELECT p.n, b.work_id, b.via, b.distance
FROM (SELECT f.n, f.bits, f.reach, k.band
      FROM {{fingerprints}} AS f CROSS JOIN LATERAL unnest(f.bands) AS k(band)
      WHERE f.kind = 'iscc' ORDER BY k.band OFFSET 0) AS p""" + _PROBED


def _pdq_position(i: int) -> str:
    low = PDQ_KEY_BASE + i * PDQ_KEY_SPAN
    return _PDQ_POSITION.format(position=i + 1,
                                within=f"b.band >= {low} AND b.band < {low + PDQ_KEY_SPAN}")


BAND_CANDIDATES = ("SELECT DISTINCT u.n, u.work_id, nullif(u.via, '') AS via, u.distance\nFROM ("
                   + "\n UNION ALL\n".join(
                       [_pdq_position(i) for i in range(len(PDQ_BANDS))]
                       + [_ISCC_BANDS.format(within=f"b.band < {PDQ_KEY_BASE}")])
                   + ") AS u")
# Each distinct fingerprint of the batch, with its bits and band keys.
_FINGERPRINTS = {
    "pdq": """SELECT 'pdq' AS kind, d.value, d.bits, CAST(%(match_pdq)s AS integer) AS reach,
       """ + pdq_keys("d.bits") + """ AS bands
FROM (SELECT d.value, """ + PADDED_BITS["pdq"].format(value="d.value") + """ AS bits
      FROM (SELECT DISTINCT src.pdq AS value FROM {source} AS src
            WHERE src.pdq IS NOT NULL AND {quality} AND NOT {exact}) AS d OFFSET 0) AS d""",
    "iscc": """SELECT 'iscc' AS kind, d.value, """ + PADDED_BITS["iscc"].format(value="d.value")
    + """ AS bits,
       CAST(%(match_iscc)s AS integer) AS reach, iscc_keys(d.value) AS bands
FROM (SELECT DISTINCT src.iscc AS value FROM {source} AS src
      WHERE src.iscc IS NOT NULL AND NOT {exact}) AS d""",
}
# The batch's near candidates: a row per distinct fingerprint with a candidate, written by
# ``fill_near`` before the evaluation reads it. A table, not a CTE of the evaluation: the
# planner sized such a CTE from the product of its filters' guesses (often one row) and
# joined it to the batch once per event; a table it sizes from its pages. It is joined on
# the value alone (a PDQ hash's 64 hex digits never equal an 'ISCC:' code), as a filter on
# the kind would be guessed at 0.5 % of the rows again.
NEAR_TABLE = "near_candidate"
CREATE_NEAR_TABLE = f"""
CREATE TEMP TABLE IF NOT EXISTS {NEAR_TABLE} (
    value text COLLATE "C" PRIMARY KEY, kind text NOT NULL, work_ids integer[] NOT NULL,
    methods text[] NOT NULL, distances bigint[] NOT NULL, keys text[] NOT NULL,
    retired timestamptz[] NOT NULL
) ON COMMIT DELETE ROWS
"""
NEAR_LEFT_OVER = f"SELECT EXISTS (SELECT FROM {NEAR_TABLE})"
EMPTY_NEAR_TABLE = f"TRUNCATE {NEAR_TABLE}"
# The fingerprints numbered: the probes and their candidates carry the number, not the value
# (narrower rows to sort), and the value is joined back once per candidate.
_FILL_NEAR = """WITH fingerprints AS MATERIALIZED (
    SELECT row_number() OVER () AS n, f.* FROM ({fingerprints}) AS f
)
INSERT INTO """ + NEAR_TABLE + """ (kind, value, work_ids, methods, distances, keys, retired)
SELECT d.kind, d.value, array_agg(c.work_id), array_agg(coalesce(c.via, d.kind)),
       array_agg(c.distance), array_agg(w.key), array_agg(w.retired_at)
FROM (""" + BAND_CANDIDATES.format(fingerprints="fingerprints") + """) AS c
JOIN fingerprints AS d ON d.n = c.n
-- a key look-up per candidate: as a join, a planner that expects many candidates
-- hashes the whole work table instead
CROSS JOIN LATERAL (SELECT w.key, w.retired_at FROM work w WHERE w.id = c.work_id
                    OFFSET 0) AS w
GROUP BY d.kind, d.value"""
_CANDIDATES = {
    "pdq": """SELECT u.*, 1 AS rank
    FROM unnest(np.work_ids, np.methods, np.distances, np.keys, np.retired)
         AS u(work_id, method, distance, key, retired_at)
    WHERE np.value IS NOT NULL AND """ + _QUALITY_OK,
    "iscc": """SELECT u.*, 2 AS rank FROM unnest(ni.work_ids, ni.methods, ni.distances, ni.keys, ni.retired)
         AS u(work_id, method, distance, key, retired_at)""",
}
# a retired work matches no use from its retirement on
_SIMILAR = """(SELECT c.work_id, c.method, c.distance FROM (
    {candidates}) AS c
 WHERE c.retired_at IS NULL OR src.time < c.retired_at
 ORDER BY c.distance, c.rank, c.key COLLATE "C" LIMIT 1)"""
_NEAR_JOINS = {"pdq": f"LEFT JOIN {NEAR_TABLE} AS np ON np.value = src.pdq",
               "iscc": f"LEFT JOIN {NEAR_TABLE} AS ni ON ni.value = src.iscc"}
_NONE = "(SELECT CAST(NULL AS integer), CAST(NULL AS text), CAST(NULL AS integer))"


def evaluation_matched_by(source: str, match: str) -> str:
    """The evaluation of ``source`` with its match decided by ``match`` (a query of
    ``work_id, match_method, match_distance`` that may read ``src``): what an event would
    book if matched so."""
    return _TEMPLATE.format(source=source, joins="", match=match)


def _exact_probes(kinds: frozenset[str] | None) -> list[str]:
    """One index probe per exact kind, in priority order (an ISCC's Instance-Code last)."""
    probes = [_EXACT.format(kind=kind) for kind in MATCH_PRIORITY if kinds is None or kind in kinds]
    if kinds is None or "iscc" in kinds:
        probes.append(_INSTANCE)
    return probes


def _fingerprinted(kinds: frozenset[str] | None) -> list[str]:
    return [k for k in ("pdq", "iscc") if kinds is None or k in kinds]


@cache
def fill_near(source: str, kinds: frozenset[str] | None = None) -> str | None:
    """The statement that writes ``NEAR_TABLE`` for the evaluation of the same ``source``
    and ``kinds`` (``CREATE_NEAR_TABLE`` first, emptied); None when no fingerprint kind is
    matched. Its parameters: the thresholds of ``thresholds()``."""
    fingerprinted = _fingerprinted(kinds)
    if not fingerprinted:
        return None
    # A fingerprint is looked up only for events that no exact identifier matches: an item
    # that carries its sha256 and its PDQ hash costs one index probe, not fifteen.
    exact = _exact_probes(kinds)
    matched = "(" + " OR ".join(f"EXISTS {probe}" for probe in exact) + ")" if exact else "false"
    return _FILL_NEAR.format(fingerprints="\n UNION ALL\n".join(
        _FINGERPRINTS[k].format(source=source, quality=_QUALITY_OK, exact=matched)
        for k in fingerprinted))


@cache
def evaluation(source: str, kinds: frozenset[str] | None = None) -> str:
    """The evaluation query over ``source`` (a table name or a parenthesised subquery).
    With ``kinds``, only those identifier kinds are matched (a batch in which no event has
    a DOI, say, skips the DOI lookup); without, every kind. When a fingerprint kind is
    matched, ``fill_near(source, kinds)`` must have run first in the transaction.
    Its parameters: the thresholds of ``thresholds()``."""
    # One index probe per kind, in priority order, then the fingerprints: the first branch
    # with a row decides (a LIMIT over UNION ALL runs its branches in order, stopping at the
    # first row). As joins, a planner that thinks the batch is small may scan the whole
    # identifier table once per event instead.
    branches = _exact_probes(kinds)
    fingerprinted = _fingerprinted(kinds)
    if fingerprinted:
        branches.append(_SIMILAR.format(candidates="\n    UNION ALL\n    ".join(
            _CANDIDATES[k] for k in fingerprinted)))
    branches.append(_NONE)
    match = ("SELECT * FROM (" + "\n UNION ALL ".join(branches)
             + ") AS probes (work_id, match_method, match_distance) LIMIT 1")
    return _TEMPLATE.format(source=source, match=match,
                            joins="\n".join(_NEAR_JOINS[k] for k in fingerprinted))


# --- Accrual of a staged batch ----------------------------------------------------------

EVALUATED = ("outcome", "work_id", "split_version_id", "license_id", "currency", "gross", "fee",
             "net", "match_method", "match_distance")
# What the tallies need of each inserted event (their keys and sums).
RETURNED = ("licensee_id", "model", "purpose", "dataset", "time", "outcome", "work_id",
            "split_version_id", "currency", "gross", "fee", "net")
# The temporary table of a batch's accrued events, for the booking: what the booking needs
# of each (``ACCRUED_COLUMNS``). Emptied by the commit.
ACCRUED_TABLE = "evaluated"
ACCRUED_COLUMNS = ("licensee_id", "split_version_id", "currency", "gross", "fee", "net")
CREATE_ACCRUED_TABLE = f"""
CREATE TEMP TABLE IF NOT EXISTS {ACCRUED_TABLE} ON COMMIT DELETE ROWS AS
SELECT {", ".join(ACCRUED_COLUMNS)} FROM usage_event WITH NO DATA
"""
BATCH_WORK_MEM = "SET LOCAL work_mem = '64MB'"
# Compiling (JIT) a batch's statement costs more time than it saves.
BATCH_NO_JIT = "SET LOCAL jit = off"
ACCRUED_LEFT_OVER = f"SELECT EXISTS (SELECT FROM {ACCRUED_TABLE})"
EMPTY_ACCRUED_TABLE = f"TRUNCATE {ACCRUED_TABLE}"


@cache
def insert_evaluated(columns: tuple[str, ...], source: str,
                     kinds: frozenset[str] | None = None) -> str:
    """Evaluate the events of ``source`` (a parenthesised query of ``columns``, the stored
    event's own columns), matching only identifier ``kinds``; insert them into
    ``usage_event`` with their evaluation and the journal entry ``%(entry)s`` of the
    accrued ones; add them to both tallies and keep the accrued ones in
    ``ACCRUED_TABLE``: one statement, so the events' full rows are written once, to
    ``usage_event`` only, and what the rest needs of them is read once. It returns the
    usage tally's new rows (outcome, events): every inserted event is counted there once."""
    column_list = ", ".join(columns)
    return f"""
WITH inserted AS (
    INSERT INTO usage_event ({column_list}, {", ".join(EVALUATED)}, entry_id)
    SELECT {column_list}, {", ".join(EVALUATED)},
           CASE WHEN outcome = 'accrued' AND gross IS NOT NULL
                THEN CAST(%(entry)s AS bigint) END
    FROM ({evaluation(source, kinds)}) AS batch
    RETURNING {", ".join(RETURNED)}
), tallied AS ({ADD_INSERTED}
), works AS ({ADD_INSERTED_WORKS}
), accrued AS (
    INSERT INTO {ACCRUED_TABLE} ({", ".join(ACCRUED_COLUMNS)})
    SELECT {", ".join(ACCRUED_COLUMNS)} FROM inserted
    WHERE outcome = 'accrued' AND gross IS NOT NULL
)
SELECT outcome, events FROM tallied
"""


# --- Usage tallies ----------------------------------------------------------------------

KEY = ("licensee_id", "model", "outcome", "purpose", "dataset", "month", "currency")
_KEY = ", ".join(KEY)
_SUMS = "events, gross, net"
# The usage month (UTC) of an event's time, as the tally keys it.
MONTH = "CAST(date_trunc('month', {time} AT TIME ZONE 'UTC') AS date)"
_EVENT_KEY = ("{e}licensee_id, {e}model, {outcome}, {e}purpose, {e}dataset, "
              + MONTH.format(time="{e}time") + ", {currency}")

# What ``store.write`` inserts: parts of its insert statement, reading the rows the insert
# returns (``inserted``). The new rows also tell it how many events accrued.
ADD_INSERTED = f"""
INSERT INTO usage_tally ({_KEY}, {_SUMS})
SELECT {_EVENT_KEY.format(e="", outcome="outcome", currency="currency")},
       count(*), coalesce(sum(gross), 0), coalesce(sum(net), 0)
FROM inserted GROUP BY 1, 2, 3, 4, 5, 6, 7
RETURNING outcome, events
"""
# A re-evaluation's changes (``reevaluated`` joined to the events it changes): the old
# evaluation out, the new one in.
ADD_REEVALUATED = f"""
INSERT INTO usage_tally ({_KEY}, {_SUMS})
SELECT {_EVENT_KEY.format(e="e.", outcome="d.outcome", currency="d.currency")},
       sum(d.events), coalesce(sum(d.gross), 0), coalesce(sum(d.net), 0)
FROM {REEVALUATED_TABLE} r JOIN usage_event e ON e.id = r.id
CROSS JOIN LATERAL (VALUES (r.old_outcome, r.old_currency, -1, -r.old_gross, -r.old_net),
                           (r.new_outcome, r.new_currency, 1, r.new_gross, r.new_net)
                   ) AS d(outcome, currency, events, gross, net)
WHERE d.outcome IS NOT NULL  -- an event stored before outcomes existed was never counted
GROUP BY 1, 2, 3, 4, 5, 6, 7
HAVING sum(d.events) <> 0 OR coalesce(sum(d.gross), 0) <> 0 OR coalesce(sum(d.net), 0) <> 0
"""
COMPACT = f"""
WITH gone AS (DELETE FROM usage_tally RETURNING {_KEY}, {_SUMS})
INSERT INTO usage_tally ({_KEY}, {_SUMS})
SELECT {_KEY}, sum(events), sum(gross), sum(net) FROM gone GROUP BY {_KEY}
HAVING sum(events) <> 0 OR sum(gross) <> 0 OR sum(net) <> 0
ORDER BY {_KEY}
"""
# What a tally built from scratch holds (``rebuild``; the reports benchmark's load).
RECOUNT = f"""
SELECT {_EVENT_KEY.format(e="", outcome="outcome", currency="currency")},
       count(*) AS events, coalesce(sum(gross), 0) AS gross, coalesce(sum(net), 0) AS net
FROM usage_event WHERE outcome IS NOT NULL AND outcome <> 'voided'
GROUP BY 1, 2, 3, 4, 5, 6, 7
"""


# The usage work tally: matched events (and those accrued) by licensee, model, work and
# split version, kept the same way (added by the same writers, compacted and rebuilt with
# the usage tally). An event counts under the work and split version it is evaluated to.
WORK_KEY = ("licensee_id", "model", "work_id", "split_version_id")
_WORK_KEY = ", ".join(WORK_KEY)
_WORK_SUMS = "events, accrued"
ADD_INSERTED_WORKS = f"""
INSERT INTO usage_work_tally ({_WORK_KEY}, {_WORK_SUMS})
SELECT {_WORK_KEY}, count(*), count(*) FILTER (WHERE outcome = 'accrued')
FROM inserted WHERE work_id IS NOT NULL GROUP BY 1, 2, 3, 4
"""
ADD_REEVALUATED_WORKS = f"""
INSERT INTO usage_work_tally ({_WORK_KEY}, {_WORK_SUMS})
SELECT r.licensee_id, e.model, d.work_id, d.split_version_id, sum(d.events), sum(d.accrued)
FROM {REEVALUATED_TABLE} r JOIN usage_event e ON e.id = r.id
CROSS JOIN LATERAL (
    VALUES (r.old_work_id, r.old_split_version_id, -1,
            CASE WHEN r.old_outcome = 'accrued' THEN -1 ELSE 0 END),
           (r.new_work_id, r.new_split_version_id, 1,
            CASE WHEN r.new_outcome = 'accrued' THEN 1 ELSE 0 END)
) AS d(work_id, split_version_id, events, accrued)
WHERE d.work_id IS NOT NULL
GROUP BY 1, 2, 3, 4
HAVING sum(d.events) <> 0 OR sum(d.accrued) <> 0
"""
# Only keys with more than one row are folded: the work tally has a row per work used,
# most of them folded already, and rewriting those would cost a full write each time.
COMPACT_WORKS = f"""
WITH split AS (
    SELECT unnest(array_agg(id)) AS id FROM usage_work_tally
    GROUP BY {_WORK_KEY} HAVING count(*) > 1
), gone AS (
    DELETE FROM usage_work_tally WHERE id IN (SELECT id FROM split)
    RETURNING {_WORK_KEY}, {_WORK_SUMS}
)
INSERT INTO usage_work_tally ({_WORK_KEY}, {_WORK_SUMS})
SELECT {_WORK_KEY}, sum(events), sum(accrued) FROM gone GROUP BY {_WORK_KEY}
HAVING sum(events) <> 0 OR sum(accrued) <> 0
ORDER BY licensee_id, work_id, split_version_id, model
"""
RECOUNT_WORKS = f"""
SELECT {_WORK_KEY}, count(*) AS events, count(*) FILTER (WHERE outcome = 'accrued') AS accrued
FROM usage_event WHERE work_id IS NOT NULL AND outcome IS DISTINCT FROM 'voided'
GROUP BY 1, 2, 3, 4
"""

COUNT_TALLY_ROWS = ("SELECT (SELECT count(*) FROM usage_tally) "
                    "+ (SELECT count(*) FROM usage_work_tally)")
LOCK_EVENTS_FOR_RECOUNT = "LOCK TABLE usage_event IN SHARE MODE"
EMPTY_TALLY = "DELETE FROM usage_tally"
EMPTY_WORK_TALLY = "DELETE FROM usage_work_tally"
REBUILD_TALLY = f"INSERT INTO usage_tally ({_KEY}, {_SUMS}) {RECOUNT}"
REBUILD_WORK_TALLY = f"INSERT INTO usage_work_tally ({_WORK_KEY}, {_WORK_SUMS}) {RECOUNT_WORKS}"


# --- Re-evaluation ----------------------------------------------------------------------

INPUTS = ("time", "licensee_id", "purpose", "quantity", "unit", "sha256", "url", "isrc", "iswc",
          "isbn", "doi", "c2pa", "phash", "simhash", "pdq", "iscc", "extensions")
STATE = ("outcome", "work_id", "split_version_id", "license_id", "currency", "gross", "fee",
         "net", "match_method", "match_distance")
_STATE_TYPES = ("text", "integer", "integer", "integer", "text", "numeric(38,9)", "numeric(38,9)",
                "numeric(38,9)", "text", "integer")

# A voided event is never evaluated again (nor is it revived by a trigger-refused update).
CANDIDATES = """
SELECT e.id FROM usage_event e
WHERE e.id > %(after)s AND e.outcome IS DISTINCT FROM 'voided' AND (
       e.work_id = ANY(%(works)s::integer[])
    -- a licensee's change: its matched events (an unmatched one stays unmatched) and
    -- any stored before events were evaluated
    OR (e.licensee_id = ANY(%(licensees)s::integer[])
        AND (e.work_id IS NOT NULL OR e.outcome IS NULL))
    OR e.work_id IN (SELECT v.work_id FROM split_version v JOIN split_share s
                     ON s.split_version_id = v.id WHERE s.creator_id = ANY(%(creators)s::integer[]))
    OR (cardinality(%(works)s::integer[]) > 0 AND e.outcome = 'unmatched'))
ORDER BY e.id LIMIT %(limit)s
"""

# Each changed event's old and new evaluation (``STATE``) and the entry that booked the old
# one; emptied by the commit.
CREATE_REEVALUATED_TABLE = f"""
CREATE TEMP TABLE IF NOT EXISTS {REEVALUATED_TABLE} (
    id bigint, licensee_id integer,
    {", ".join(f"old_{c} {t}" for c, t in zip(STATE, _STATE_TYPES, strict=True))},
    {", ".join(f"new_{c} {t}" for c, t in zip(STATE, _STATE_TYPES, strict=True))},
    old_entry_id bigint
) ON COMMIT DELETE ROWS
"""
_SOURCE = f"(SELECT id, {', '.join(INPUTS)} FROM usage_event WHERE id = ANY(%(ids)s))"
FILL_REEVALUATED_NEAR = fill_near(_SOURCE)
FILL_REEVALUATED = f"""
INSERT INTO {REEVALUATED_TABLE}
SELECT e.id, e.licensee_id, {", ".join(f"e.{c}" for c in STATE)}, {", ".join(f"n.{c}" for c in STATE)},
       e.entry_id
FROM usage_event e
JOIN ({evaluation(_SOURCE)}) AS n ON n.id = e.id
WHERE e.outcome IS DISTINCT FROM 'voided'
  AND ({", ".join(f"e.{c}" for c in STATE)}) IS DISTINCT FROM ({", ".join(f"n.{c}" for c in STATE)})
"""
OLD_ACCRUED = ("(SELECT licensee_id, old_currency AS currency, old_split_version_id AS "
               "split_version_id, old_gross AS gross, old_fee AS fee, old_net AS net "
               "FROM " + REEVALUATED_TABLE + " WHERE old_outcome = 'accrued' "
               "AND old_gross IS NOT NULL)")
NEW_ACCRUED = ("(SELECT licensee_id, new_currency AS currency, new_split_version_id AS "
               "split_version_id, new_gross AS gross, new_fee AS fee, new_net AS net "
               "FROM " + REEVALUATED_TABLE + " WHERE new_outcome = 'accrued' "
               "AND new_gross IS NOT NULL)")
APPLY = f"""
UPDATE usage_event e SET {", ".join(f"{c} = r.new_{c}" for c in STATE)},
       entry_id = CASE WHEN r.new_outcome = 'accrued' AND r.new_gross IS NOT NULL
                       THEN %(entry)s END,
       reevaluated_at = now()
FROM {REEVALUATED_TABLE} r WHERE r.id = e.id
"""
RECORD = f"""
INSERT INTO event_reevaluation (event_id, entry_id, old_outcome, new_outcome, old_license_id,
                                new_license_id, old_net, new_net)
SELECT id, CASE WHEN (old_outcome = 'accrued' AND old_gross IS NOT NULL)
                 OR (new_outcome = 'accrued' AND new_gross IS NOT NULL) THEN %(entry)s END,
       old_outcome, new_outcome, old_license_id, new_license_id, old_net, new_net
FROM {REEVALUATED_TABLE}
"""
LOCK_CHUNK = "SELECT id FROM usage_event WHERE id = ANY(%s) FOR UPDATE"
COUNT_REEVALUATED = (
    f"SELECT count(*) FILTER (WHERE old_outcome = 'accrued' AND old_gross IS NOT NULL), "
    f"count(*) FILTER (WHERE new_outcome = 'accrued' AND new_gross IS NOT NULL) "
    f"FROM {REEVALUATED_TABLE}")
EMPTY_REEVALUATED_TABLE = f"TRUNCATE {REEVALUATED_TABLE}"
OPEN_CHANGES = ("SELECT id, work_ids, creator_ids, licensee_ids FROM catalog_change "
                "WHERE processed_at IS NULL ORDER BY id")
COUNT_OPEN_CHANGES = "SELECT count(*) FROM catalog_change WHERE processed_at IS NULL"
CLOSE_CHANGES = "UPDATE catalog_change SET processed_at = now() WHERE id = ANY(%s)"
# The statement-line movements of a chunk: each old accrued evaluation out (when its entry
# is folded; one not folded yet was never added), each new one in.
ADD_REEVALUATED_LINES = add_lines(f"""
SELECT {movements(work="r.old_work_id", split="r.old_split_version_id", net="r.old_net",
                  currency="r.old_currency", sign=-1)}
FROM {REEVALUATED_TABLE} r JOIN usage_event e ON e.id = r.id
WHERE r.old_outcome = 'accrued' AND r.old_gross IS NOT NULL
  AND EXISTS (SELECT 1 FROM statement_folded f WHERE f.entry_id = r.old_entry_id)
UNION ALL
SELECT {movements(work="r.new_work_id", split="r.new_split_version_id", net="r.new_net",
                  currency="r.new_currency", sign=1)}
FROM {REEVALUATED_TABLE} r JOIN usage_event e ON e.id = r.id
WHERE r.new_outcome = 'accrued' AND r.new_gross IS NOT NULL
""")


# --- Voids ------------------------------------------------------------------------------

# The events named by (source, id), in the order given, with their state: no id for an
# event that does not exist.
EVENTS_NAMED = """
SELECT f.n, e.id FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS f(source, event_id, n)
LEFT JOIN usage_event e ON e.source = f.source COLLATE "C" AND e.event_id = f.event_id COLLATE "C"
ORDER BY f.n
"""
# Read once the events are locked: whether each is voided already, and when and why.
VOID_STATES = """
SELECT e.id, e.outcome, v.voided_at, v.reason FROM usage_event e
LEFT JOIN event_void v ON v.event_id = e.id WHERE e.id = ANY(%s)
"""
# A void as a re-evaluation whose new outcome is ``voided``: the old evaluation is
# reversed (``OLD_ACCRUED``, ``ADD_REEVALUATED_LINES``), and the event keeps the match and
# amounts it had, for the record; ``APPLY`` and ``RECORD`` then write it as for any change.
FILL_VOIDED = f"""
INSERT INTO {REEVALUATED_TABLE}
SELECT e.id, e.licensee_id, {", ".join(f"e.{c}" for c in STATE)},
       'voided', {", ".join(f"e.{c}" for c in STATE[1:])}, e.entry_id
FROM usage_event e WHERE e.id = ANY(%(ids)s) AND e.outcome IS DISTINCT FROM 'voided'
"""
# A voided event leaves both tallies: its old evaluation out, nothing in.
VOID_TALLY = f"""
INSERT INTO usage_tally ({_KEY}, {_SUMS})
SELECT {_EVENT_KEY.format(e="e.", outcome="r.old_outcome", currency="r.old_currency")},
       -count(*), -coalesce(sum(r.old_gross), 0), -coalesce(sum(r.old_net), 0)
FROM {REEVALUATED_TABLE} r JOIN usage_event e ON e.id = r.id
WHERE r.old_outcome IS NOT NULL
GROUP BY 1, 2, 3, 4, 5, 6, 7
"""
VOID_WORK_TALLY = f"""
INSERT INTO usage_work_tally ({_WORK_KEY}, {_WORK_SUMS})
SELECT r.licensee_id, e.model, r.old_work_id, r.old_split_version_id, -count(*),
       -count(*) FILTER (WHERE r.old_outcome = 'accrued')
FROM {REEVALUATED_TABLE} r JOIN usage_event e ON e.id = r.id
WHERE r.old_work_id IS NOT NULL
GROUP BY 1, 2, 3, 4
"""
RECORD_VOIDS = f"""
INSERT INTO event_void (event_id, entry_id, reason)
SELECT v.id, CASE WHEN r.old_outcome = 'accrued' THEN %(entry)s END, v.reason
FROM unnest(%(ids)s::bigint[], %(reasons)s::text[]) AS v(id, reason)
JOIN {REEVALUATED_TABLE} r ON r.id = v.id
"""
