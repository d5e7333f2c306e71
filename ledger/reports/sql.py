"""Every statement of the reports: read-only queries over the ledger, the events and the
tallies. Nothing here writes."""

from __future__ import annotations

from functools import cache

from ledger.accounting.sql import (
    ALLOCATED, PENDING_ENTRIES, STANDING, lines_of, split_parts_of,
)
from ledger.ingest.sql import IDENTIFIER_KINDS  # the identifier columns of usage_event
from ledger.matching.rules import MATCH_PRIORITY
from ledger.matching.sql import PADDED_BITS, pdq_keys

# Entries that book (or reverse) royalties; every other kind moves payouts.
ACCRUAL_KINDS = ("accrual", "reevaluation", "void", "allocation", "reallocation")

# --- Lookups ----------------------------------------------------------------------------

LICENSEE_ID = "SELECT id FROM licensee WHERE key = %s"
CREATOR_ID = "SELECT id FROM creator WHERE key = %s"
CREATOR = "SELECT id, key, name, currency FROM creator WHERE key = %s"
WORK_TITLES = "SELECT key, title FROM work WHERE key = ANY(%s::text[])"
# A statement's payouts: created in the period (all time: every one), in its currency.
CREATOR_PAYOUTS = """
SELECT created_at AS date, amount, status, transfer_id AS transfer FROM payout
WHERE creator_id = %(creator)s AND currency = %(currency)s
  AND (%(start)s::timestamptz IS NULL OR created_at >= %(start)s)
  AND (%(end)s::timestamptz IS NULL OR created_at < %(end)s)
ORDER BY created_at, id
"""
CREATOR_CURRENCIES = """
SELECT currency FROM account WHERE kind = 'creator_payable' AND owner_id = %s ORDER BY currency
"""

# --- Status and the usage tally ---------------------------------------------------------

BATCH_TOTALS = """
SELECT coalesce(sum(received), 0), coalesce(sum(accepted), 0), coalesce(sum(duplicates), 0)
FROM ingest_batch
"""
OPEN_DEAD_LETTER_COUNT = "SELECT count(*) FROM dead_letter WHERE resolved_at IS NULL"
# Counted apart: discarded letters are kept, but neither open nor ever replayed.
DISCARDED_DEAD_LETTER_COUNT = "SELECT count(*) FROM dead_letter WHERE resolution = 'discarded'"
# Open dead letters refused for their producer (contract §11), by the user_id they came
# with ('' for none); of one licensee when %(licensee)s is set (each holds one event).
REFUSED_BY_USER = """
SELECT coalesce(user_id, ''), count(*) FROM dead_letter
WHERE resolved_at IS NULL AND reason = 'unauthorized_producer'
  AND (CAST(%(licensee)s AS text) IS NULL
       OR convert_from(raw, 'UTF8')::jsonb -> 'data' ->> 'licensee' = %(licensee)s)
GROUP BY 1 ORDER BY 1
"""


@cache
def tally_rows(by: tuple[str, ...]) -> str:
    """``(*by, events, gross, net)`` summed over the usage tally, for one licensee
    (``%(licensee)s``; all when NULL) and model (``%(model)s``); ``by`` names key columns."""
    group = ", ".join(by)
    return f"""
SELECT {group}, sum(events)::bigint, sum(gross), sum(net) FROM usage_tally
WHERE (%(licensee)s::integer IS NULL OR licensee_id = %(licensee)s)
  AND (%(model)s::text IS NULL OR model = %(model)s)
GROUP BY {group} HAVING sum(events) <> 0 OR sum(gross) <> 0 OR sum(net) <> 0
ORDER BY {group}
"""


# --- Balances ---------------------------------------------------------------------------

BALANCES = """
SELECT c.key AS creator, a.currency,
       coalesce(-sum(p.amount) FILTER (WHERE j.kind = ANY(%(accrual)s)), 0) AS accrued,
       coalesce(sum(p.amount) FILTER (WHERE NOT j.kind = ANY(%(accrual)s)), 0) AS paid,
       coalesce(-sum(p.amount), 0) AS balance
FROM account a
JOIN creator c ON c.id = a.owner_id
JOIN posting p ON p.account_id = a.id
JOIN journal_entry j ON j.id = p.entry_id
WHERE a.kind = 'creator_payable' AND (%(creator)s::text IS NULL OR c.key = %(creator)s)
GROUP BY c.key, a.currency
ORDER BY c.key COLLATE "C", a.currency
"""
TRIAL_BALANCE = """
SELECT * FROM (
SELECT a.kind AS account, CASE a.kind
           WHEN 'creator_payable' THEN (SELECT key FROM creator WHERE id = a.owner_id)
           WHEN 'licensee_receivable' THEN (SELECT key FROM licensee WHERE id = a.owner_id)
           WHEN 'license_unallocated' THEN (SELECT key FROM license WHERE id = a.owner_id)
           ELSE 'platform' END AS owner,
       a.currency,
       coalesce(sum(p.amount) FILTER (WHERE p.amount > 0), 0) AS debit,
       coalesce(-sum(p.amount) FILTER (WHERE p.amount < 0), 0) AS credit,
       coalesce(sum(p.amount), 0) AS balance
FROM account a JOIN posting p ON p.account_id = a.id
GROUP BY a.id) AS accounts
ORDER BY currency, account, owner COLLATE "C"
"""
CREATOR_TOTALS = """
SELECT coalesce(-sum(p.amount) FILTER (WHERE j.kind IN ('accrual', 'reevaluation', 'void',
                                                     'allocation', 'reallocation')), 0),
       coalesce(sum(p.amount) FILTER (WHERE j.kind LIKE 'payout%%'), 0)
FROM posting p JOIN account a ON a.id = p.account_id
JOIN journal_entry j ON j.id = p.entry_id WHERE a.kind = 'creator_payable'
"""
BACK_PAID_EVENTS = """
SELECT count(*) FROM usage_event WHERE outcome = 'accrued' AND reevaluated_at IS NOT NULL
"""
LEDGER_BY_MONTH = """
SELECT to_char(j.created_at AT TIME ZONE 'UTC', 'YYYY-MM') AS month,
       coalesce(-sum(p.amount) FILTER (WHERE j.kind = ANY(%(accrual)s)), 0) AS accrued,
       coalesce(sum(p.amount) FILTER (WHERE NOT j.kind = ANY(%(accrual)s)), 0) AS paid
FROM account a JOIN posting p ON p.account_id = a.id
JOIN journal_entry j ON j.id = p.entry_id
WHERE a.kind = 'creator_payable' AND a.owner_id = %(creator)s
  AND a.currency = %(currency)s
GROUP BY 1 ORDER BY 1
"""

# --- What models used -------------------------------------------------------------------

_TALLY_SCOPE = "licensee_id = %(licensee)s AND (%(model)s::text IS NULL OR model = %(model)s)"
# Events by outcome, purpose and dataset come from the usage tally (a few rows); the
# distinct works and creators from the usage work tally (a row per work, model and split
# version): an index-only scan of usage_work_tally_licensee, whose order makes the
# distinct (work, split version) pairs a streaming grouping.
WORKS_AND_CREATORS = f"""
WITH pairs AS MATERIALIZED (
    SELECT work_id, split_version_id FROM usage_work_tally WHERE {_TALLY_SCOPE}
    GROUP BY 1, 2 HAVING sum(events) > 0
)
SELECT (SELECT count(DISTINCT work_id) FROM pairs),
       (SELECT count(DISTINCT s.creator_id) FROM split_share s
        WHERE s.split_version_id IN (SELECT split_version_id FROM pairs))
"""
TOP_WORKS = """
SELECT w.key AS work, w.title, t.events, t.accrued
FROM (SELECT e.work_id, CAST(sum(e.events) AS bigint) AS events,
             CAST(sum(e.accrued) AS bigint) AS accrued
      FROM usage_work_tally e
      WHERE e.licensee_id = %(licensee)s AND (%(model)s::text IS NULL OR e.model = %(model)s)
      GROUP BY e.work_id HAVING sum(e.events) > 0) AS t
JOIN work w ON w.id = t.work_id
ORDER BY t.events DESC, w.key COLLATE "C" LIMIT %(limit)s
"""
# Fingerprints first: the copies of one unregistered image share its PDQ hash (or ISCC)
# while their bytes, and so their sha256, differ. The most used lines, and those of the
# fingerprints ``usage_reports.suspense`` gathers with others (``%(paired)s``).
_SUSPENSE_KINDS = ("pdq", "iscc", *MATCH_PRIORITY)
_PRIMARY = ("CASE " + " ".join(f"WHEN {k} IS NOT NULL THEN '{k}'" for k in _SUSPENSE_KINDS)
            + " END")
_VALUE = "COALESCE(" + ", ".join(_SUSPENSE_KINDS) + ")"
SUSPENSE_LINES = 10_000
SUSPENSE = f"""
SELECT identifier, value, events, quantity, licensees, first_used, last_used FROM (
    SELECT {_PRIMARY} AS identifier, {_VALUE} AS value, count(*) AS events,
           sum(quantity) AS quantity,
           array_agg(DISTINCT l.key ORDER BY l.key) AS licensees,
           min(e.time) AS first_used, max(e.time) AS last_used,
           row_number() OVER (ORDER BY count(*) DESC, {_VALUE}) AS place
    FROM usage_event e JOIN licensee l ON l.id = e.licensee_id
    WHERE e.outcome = 'unmatched'
    GROUP BY 1, 2) AS g
WHERE g.place <= %(lines)s OR g.value = ANY(%(paired)s::text[])
ORDER BY g.place
"""
# The pairs of distinct fingerprints in suspense within the auto-match threshold of each
# other (an ISCC Content-Code only of its own type), found through the band keys they
# share, never by comparing every pair; the fingerprints are numbered, so that what is
# grouped and sorted is narrow.
SUSPENSE_PAIRS = """
WITH f AS MATERIALIZED (
    SELECT row_number() OVER () AS n, f.* FROM (
        SELECT 'pdq' AS kind, d.value, d.bits, """ + pdq_keys("d.bits") + """ AS bands
        FROM (SELECT d.value, """ + PADDED_BITS["pdq"].format(value="d.value") + """ AS bits
              FROM (SELECT DISTINCT pdq AS value FROM usage_event
                    WHERE outcome = 'unmatched' AND pdq IS NOT NULL) AS d OFFSET 0) AS d
        UNION ALL
        SELECT 'iscc', d.value, CAST(iscc_content(d.value) AS bit varying), iscc_keys(d.value)
        FROM (SELECT DISTINCT iscc AS value FROM usage_event
              WHERE outcome = 'unmatched' AND iscc IS NOT NULL) AS d
        WHERE iscc_content(d.value) IS NOT NULL) AS f
), shared AS (
    -- the fingerprints of each band key that more than one has (PDQ and ISCC keys differ)
    SELECT array_agg(f.n) AS ns
    FROM f CROSS JOIN LATERAL unnest(f.bands) AS b(band)
    GROUP BY b.band HAVING count(*) > 1
), candidate AS (
    SELECT DISTINCT x.n AS a, y.n AS b
    FROM shared CROSS JOIN LATERAL unnest(shared.ns) AS x(n)
    CROSS JOIN LATERAL unnest(shared.ns) AS y(n) WHERE x.n < y.n
)
SELECT fa.kind, fa.value AS a, fb.value AS b, bit_count(fa.bits # fb.bits) AS distance
FROM candidate c JOIN f AS fa ON fa.n = c.a JOIN f AS fb ON fb.n = c.b
WHERE bit_count(fa.bits # fb.bits) <= CASE fa.kind WHEN 'pdq' THEN %(match_pdq)s
                                               ELSE %(match_iscc)s END
"""
# Of some PDQ hashes in suspense, those an event carries with a quality that similarity
# matching accepts (the others are never matched, nor gathered with other copies). The
# hashes are found in the suspense's index; only their events are read from the table.
SUSPENSE_SHARP = """
SELECT DISTINCT e.pdq FROM usage_event e
WHERE e.id IN (SELECT u.id FROM usage_event u
               WHERE u.outcome = 'unmatched' AND u.pdq = ANY(%(values)s::text[]))
  AND coalesce(CAST(e.extensions #>> '{item,pdq_quality}' AS integer), 100)
      >= %(min_pdq_quality)s
"""
UNLICENSED = """
SELECT l.key AS licensee, coalesce(e.model, '') AS model, w.key AS work,
       e.outcome, e.purpose, count(*) AS events, sum(e.quantity) AS quantity, e.unit
FROM usage_event e JOIN licensee l ON l.id = e.licensee_id
JOIN work w ON w.id = e.work_id
WHERE e.outcome IN ('unlicensed', 'opted_out', 'unpriced')
GROUP BY 1, 2, 3, 4, 5, 8 ORDER BY 1, 2, 3, 4, 5, 8
"""

# --- Statements (grouped from the events) -----------------------------------------------

_IN_PERIOD = ("((%(start)s::timestamptz IS NULL OR {at} >= %(start)s) "
              "AND (%(end)s::timestamptz IS NULL OR {at} < %(end)s))")

TOTALS = f"""
SELECT coalesce(-sum(p.amount) FILTER (WHERE j.created_at < %(start)s), 0) AS opening,
       coalesce(-sum(p.amount) FILTER (WHERE {_IN_PERIOD.format(at="j.created_at")}
                                       AND j.kind = ANY(%(accrual)s)), 0) AS accrued,
       coalesce(sum(p.amount) FILTER (WHERE {_IN_PERIOD.format(at="j.created_at")}
                                      AND NOT j.kind = ANY(%(accrual)s)), 0) AS paid
FROM account a
JOIN posting p ON p.account_id = a.id
JOIN journal_entry j ON j.id = p.entry_id
WHERE a.kind = 'creator_payable' AND a.owner_id = %(creator)s AND a.currency = %(currency)s
"""

# What a line needs of an event; the usage month is the month (UTC) of its time.
_EVENT_COLUMNS = ("work_id", "licensee_id", "model", "purpose", "month", "unit", "quantity")
_EVENT = ("e.work_id, e.licensee_id, e.model, e.purpose, "
          "date_trunc('month', e.time AT TIME ZONE 'UTC') AS month, e.unit, e.quantity")
_WORKS = """
    SELECT DISTINCT v.work_id FROM split_version v
    JOIN split_share s ON s.split_version_id = v.id WHERE s.creator_id = %(creator)s
"""
# The evaluations that stand: booked in the period, never reversed. ``{entries}`` narrows
# the events first: for one period, to the entries booked in it (index usage_event_entry:
# one stretch of the heap) rather than all of the creator's events.
_STANDING = f"""
    SELECT {_EVENT}, e.split_version_id, e.net, 1 AS sign
    FROM usage_event e JOIN journal_entry j ON j.id = e.entry_id
    WHERE {{entries}}e.work_id IN (SELECT work_id FROM works) AND e.outcome = 'accrued'
      AND e.currency = %(currency)s AND {_IN_PERIOD.format(at="j.created_at")}
"""
_CURRENT = _STANDING.format(entries="")
_CURRENT_IN_PERIOD = _STANDING.format(
    entries="e.entry_id = ANY(ARRAY(SELECT p.id FROM journal_entry p WHERE "
            + _IN_PERIOD.format(at="p.created_at") + "))\n      AND ")
# Replaced evaluations: each re-evaluation of an accrued event reverses the evaluation
# before it, which was booked by the re-evaluation before that (or at ingest).
_REPLACED = f"""
    SELECT {", ".join(_EVENT_COLUMNS)}, split_version_id, net,
           CASE WHEN {_IN_PERIOD.format(at="booked_at")} THEN 1 ELSE -1 END AS sign
    FROM (
        SELECT {_EVENT}, sv.id AS split_version_id, h.net,
               coalesce(jb.created_at, e.received_at) AS booked_at, jr.created_at AS reversed_at
        FROM (SELECT r.event_id, r.old_outcome, r.old_net AS net, r.old_license_id,
                     r.entry_id AS reversed_entry, lag(r.entry_id) OVER w AS booked_entry,
                     lag(r.at) OVER w AS evaluated_at
              FROM event_reevaluation r
              -- events of the creator's works reversed in or after the period
              WHERE r.event_id IN (
                  SELECT x.event_id FROM event_reevaluation x
                  JOIN usage_event xe ON xe.id = x.event_id
                  WHERE x.old_outcome = 'accrued' AND x.at >= %(start)s
                    AND xe.work_id IN (SELECT work_id FROM works))
              WINDOW w AS (PARTITION BY r.event_id ORDER BY r.id)) AS h
        JOIN usage_event e ON e.id = h.event_id
        JOIN license lic ON lic.id = h.old_license_id
        JOIN journal_entry jr ON jr.id = h.reversed_entry
        LEFT JOIN journal_entry jb ON jb.id = h.booked_entry
        LEFT JOIN LATERAL (
            SELECT v.id FROM split_version v
            WHERE v.work_id = e.work_id AND v.effective_from <= e.time
              AND v.created_at <= coalesce(h.evaluated_at, e.received_at)
            ORDER BY v.effective_from DESC LIMIT 1) AS sv ON true
        WHERE h.old_outcome = 'accrued' AND lic.currency = %(currency)s
    ) AS replaced
    WHERE {_IN_PERIOD.format(at="booked_at")} <> {_IN_PERIOD.format(at="reversed_at")}
"""
# The movements once (materialised), their distinct (split version, net) pairs split once
# each, then one hash join and one grouping per line: no sort but the final one.
_LINES = f"""
WITH works AS ({{works}}),
movements AS MATERIALIZED ({{movements}}),
parts AS MATERIALIZED (
    SELECT p.split_version_id, p.net, p.amount
    FROM ({split_parts_of("SELECT DISTINCT split_version_id, net FROM movements")}) AS p
    WHERE p.creator_id = %(creator)s
),
lines AS (
    SELECT m.work_id, m.licensee_id, m.model, m.purpose, m.month, m.unit, m.sign,
           count(*) AS events, sum(m.quantity) AS quantity, sum(p.amount) AS amount
    FROM movements m JOIN parts p ON p.split_version_id = m.split_version_id AND p.net = m.net
    GROUP BY 1, 2, 3, 4, 5, 6, 7
)
SELECT w.key AS work, l.key AS licensee, g.model, g.purpose,
       to_char(g.month, 'YYYY-MM') AS usage_period,
       CAST(g.sign * g.events AS bigint) AS events, g.sign * g.quantity AS quantity, g.unit,
       CAST(g.sign * g.amount AS numeric(38, 9)) AS amount
FROM lines g JOIN work w ON w.id = g.work_id JOIN licensee l ON l.id = g.licensee_id
ORDER BY g.month, w.key COLLATE "C", l.key COLLATE "C", g.model COLLATE "C", g.purpose,
         g.unit, g.sign DESC
"""
# A period's allocations (contract §9): each use's amount in the run an entry booked in the
# period; over all time, the latest run of each period (what stands).
_ALLOCATED_IN_PERIOD = f"""
    SELECT {_EVENT}, a.split_version_id, a.net, 1 AS sign
    FROM period_allocation a JOIN journal_entry j ON j.id = a.entry_id
    JOIN usage_event e ON e.id = a.event_id
    WHERE a.work_id IN (SELECT work_id FROM works) AND a.currency = %(currency)s
      AND {_IN_PERIOD.format(at="j.created_at")}
"""
_ALLOCATED_STANDING = f"""
    SELECT {_EVENT}, a.split_version_id, a.net, 1 AS sign
    FROM license_period lp
    JOIN period_allocation a ON a.license_period_id = lp.id AND a.run = lp.run
    JOIN journal_entry j ON j.id = a.entry_id
    JOIN usage_event e ON e.id = a.event_id
    WHERE a.work_id IN (SELECT work_id FROM works) AND a.currency = %(currency)s
"""
# ...and the runs a re-allocation booked in the period replaced (the run before it), out.
_REALLOCATED_OUT = f"""
    SELECT {_EVENT}, o.split_version_id, o.net, -1 AS sign
    FROM (SELECT DISTINCT a.license_period_id, a.run FROM period_allocation a
          JOIN journal_entry j ON j.id = a.entry_id
          WHERE a.run > 1 AND {_IN_PERIOD.format(at="j.created_at")}) AS r
    JOIN period_allocation o ON o.license_period_id = r.license_period_id AND o.run = r.run - 1
    JOIN usage_event e ON e.id = o.event_id
    WHERE o.work_id IN (SELECT work_id FROM works) AND o.currency = %(currency)s
"""
STATEMENT_LINES_ALL_TIME = _LINES.format(
    works=_WORKS, movements=f"{_CURRENT} UNION ALL {_ALLOCATED_STANDING}")
STATEMENT_LINES_OF_PERIOD = _LINES.format(
    works=_WORKS, movements=f"{_CURRENT_IN_PERIOD} UNION ALL {_REPLACED} "
                            f"UNION ALL {_ALLOCATED_IN_PERIOD} UNION ALL {_REALLOCATED_OUT}")

# --- Statements (folded lines) ----------------------------------------------------------

# In index order (statement_line_key covers the line: an index-only scan, no sort). The
# few-valued columns come as their place in a list of the values they take (licensee,
# purpose, unit) and the month as a number: a Python string per value would cost more than
# the scan (and extract() costs more than date arithmetic); numbers come as text, for a
# Decimal per distinct value. A value missing from its list comes back as NULL: then the
# text is read.
_FOLDED = """
SELECT work, {licensee}, model, {purpose},
       month - DATE '2000-01-01',
       events, CAST(quantity AS text), {unit}, CAST(amount AS text)
FROM statement_line
WHERE creator_id = %(creator)s AND currency = %(currency)s AND (events <> 0 OR amount <> 0)
ORDER BY month, work, licensee, model, purpose, unit
"""
FOLDED_CODED = _FOLDED.format(**{
    c: f"array_position(%({c}s)s::text[], {c})" for c in ("licensee", "purpose", "unit")})
FOLDED_TEXT = _FOLDED.format(licensee="licensee", purpose="purpose", unit="unit")
# Every licensee, every purpose counted, every unit a license prices (an accrued event's
# unit is its license's).
TERMS = """
SELECT ARRAY(SELECT key FROM licensee), ARRAY(SELECT DISTINCT purpose FROM usage_tally),
       ARRAY(SELECT DISTINCT rate_unit FROM license)
"""
# The creator's lines of entries not folded yet (``%(entries)s``), grouped from the events.
NOT_FOLDED = lines_of(f"""
    SELECT {STANDING} FROM usage_event e
    WHERE e.entry_id = ANY(%(entries)s) AND e.outcome = 'accrued'
      AND e.currency = %(currency)s
      AND e.work_id IN (SELECT v.work_id FROM split_version v
                        JOIN split_share s ON s.split_version_id = v.id
                        WHERE s.creator_id = %(creator)s)
    UNION ALL
    SELECT {ALLOCATED} FROM period_allocation a JOIN usage_event e ON e.id = a.event_id
    WHERE a.entry_id = ANY(%(entries)s) AND a.currency = %(currency)s
      AND a.work_id IN (SELECT v.work_id FROM split_version v
                        JOIN split_share s ON s.split_version_id = v.id
                        WHERE s.creator_id = %(creator)s)""",
                      creator_filter="WHERE p.creator_id = %(creator)s")
PENDING = PENDING_ENTRIES

# --- Lookup: was this file used? (contract §8) ------------------------------------------

# The works a file's fingerprints match, each once at its nearest: exact (sha256, the ISCC
# Instance-Code) or similar within the auto-match thresholds, by the band indexes.
LOOKUP_WORKS = """
SELECT DISTINCT ON (w.key) w.key AS work, w.title, m.method, m.distance
FROM (
    SELECT i.work_id, coalesce(i.via, 'exact') AS method, CAST(NULL AS integer) AS distance
    FROM work_identifier i WHERE i.kind = 'sha256' AND i.value = %(sha256)s
    UNION ALL
    SELECT i.work_id, coalesce(i.via, 'exact'), NULL FROM work_identifier i
    WHERE i.instance = iscc_instance(%(iscc)s) AND i.kind = 'iscc'
    UNION ALL
    SELECT i.work_id, coalesce(i.via, 'pdq'), bit_count(i.bits # pdq_bits(%(pdq)s))
    FROM work_identifier i
    WHERE i.bands && pdq_keys(%(pdq)s) AND i.kind = 'pdq'
      AND CASE WHEN i.kind = 'pdq' THEN bit_count(i.bits # pdq_bits(%(pdq)s)) <= %(match_pdq)s
          END
    UNION ALL
    SELECT i.work_id, coalesce(i.via, 'iscc'),
           bit_count(i.bits # CAST(iscc_content(%(iscc)s) AS bit varying))
    FROM work_identifier i
    WHERE i.bands && iscc_keys(%(iscc)s) AND i.kind = 'iscc'
      AND CASE WHEN i.kind = 'iscc' THEN bit_count(
          i.bits # CAST(iscc_content(%(iscc)s) AS bit varying)) <= %(match_iscc)s END
) AS m JOIN work w ON w.id = m.work_id
ORDER BY w.key, m.distance NULLS FIRST
"""
# Their use: by licensee, model, purpose, dataset and outcome, with events and amounts.
LOOKUP_USES = """
SELECT w.key AS work, l.key AS licensee, e.model, e.purpose, e.dataset, e.outcome,
       min(e.match_method) AS method, max(e.match_distance) AS max_distance,
       count(*) AS events, sum(e.quantity) AS quantity, e.unit, e.currency,
       sum(e.gross) AS gross, sum(e.net) AS net
FROM usage_event e JOIN work w ON w.id = e.work_id JOIN licensee l ON l.id = e.licensee_id
WHERE e.work_id = ANY(%(works)s::integer[]) AND w.key = ANY(%(keys)s::text[])
GROUP BY 1, 2, 3, 4, 5, 6, 11, 12 ORDER BY 1, 2, 3, 4, 5, 6
"""
LOOKUP_WORK_IDS = "SELECT key, id FROM work WHERE key = ANY(%s)"
# Uses still in suspense of the file itself (its sha256 or its ISCC's Instance-Code) or of a
# copy of it within the auto-match thresholds (a PDQ hash, an ISCC Content-Code of the same
# type), as a batch would match them: what a registration of the file would pay back.
# Each event is found once, by its nearest identifier; the suspense's identifiers are read
# from its index (``usage_event_unmatched``), and only the events found from the table.
LOOKUP_SUSPENSE = """
WITH found AS MATERIALIZED (
    SELECT u.id, m.method, m.distance FROM usage_event u
    CROSS JOIN LATERAL (
        SELECT c.method, c.distance FROM (
            SELECT 'exact' AS method, CAST(NULL AS integer) AS distance
            WHERE u.sha256 = %(sha256)s OR iscc_instance(u.iscc) = iscc_instance(%(iscc)s)
            UNION ALL
            SELECT 'pdq', CAST(bit_count(pdq_bits(u.pdq) # pdq_bits(%(pdq)s)) AS integer)
            UNION ALL
            SELECT 'iscc', CAST(bit_count(iscc_content(u.iscc) # iscc_content(%(iscc)s))
                                AS integer)
            WHERE iscc_content_type(u.iscc) = iscc_content_type(%(iscc)s)) AS c
        WHERE c.method = 'exact' OR c.distance <= CASE c.method WHEN 'pdq' THEN %(match_pdq)s
                                                                ELSE %(match_iscc)s END
        ORDER BY c.distance NULLS FIRST LIMIT 1) AS m
    WHERE u.outcome = 'unmatched'
)
SELECT l.key AS licensee, e.model, e.purpose, e.dataset, f.method,
       max(f.distance) AS max_distance, count(*) AS events, sum(e.quantity) AS quantity, e.unit
FROM found f JOIN usage_event e ON e.id = f.id JOIN licensee l ON l.id = e.licensee_id
-- a PDQ hash of low quality is never matched by similarity
WHERE f.method <> 'pdq' OR coalesce(CAST(e.extensions #>> '{item,pdq_quality}' AS integer),
                                    100) >= %(min_pdq_quality)s
GROUP BY 1, 2, 3, 4, 5, 9 ORDER BY 1, 2, 3, 4, 5, 9
"""

# --- How events were matched (contract §8): the similar ones, few, by a partial index ----

_NOT_EXACT_WORKS = """
SELECT DISTINCT v.work_id FROM split_version v JOIN split_share s ON s.split_version_id = v.id
WHERE s.creator_id = %(creator)s
"""
# A creator's accrued events matched otherwise than exactly, by statement line.
STATEMENT_MATCHES = f"""
SELECT w.key AS work, l.key AS licensee, e.model, e.purpose,
       to_char(date_trunc('month', e.time AT TIME ZONE 'UTC'), 'YYYY-MM') AS usage_period,
       e.unit, e.match_method, count(*) AS events, max(e.match_distance) AS max_distance
FROM usage_event e JOIN work w ON w.id = e.work_id JOIN licensee l ON l.id = e.licensee_id
WHERE e.match_method <> 'exact' AND e.work_id IN ({_NOT_EXACT_WORKS})
  AND e.outcome = 'accrued' AND e.currency = %(currency)s
GROUP BY 1, 2, 3, 4, 5, 6, 7
"""
# A licensee's (model's) matched events by method: the similar ones counted here.
TRANSPARENCY_MATCHES = """
SELECT e.match_method, count(*), max(e.match_distance)
FROM usage_event e
WHERE e.match_method <> 'exact' AND e.licensee_id = %(licensee)s
  AND (%(model)s::text IS NULL OR e.model = %(model)s)
GROUP BY 1 ORDER BY 1
"""
# Pooled uses (pool, revenue share: accrued, no amount yet) of license-periods not closed
# yet, by licensee (and model): what reports show as awaiting allocation (contract §9).
# The partial index usage_event_pooled holds every pooled use; closed periods are few.
AWAITING_ALLOCATION = """
SELECT count(*), coalesce(sum(e.quantity), 0) FROM usage_event e
WHERE e.outcome = 'accrued' AND e.gross IS NULL
  AND (CAST(%(licensee)s AS integer) IS NULL OR e.licensee_id = %(licensee)s)
  AND (CAST(%(model)s AS text) IS NULL OR e.model = %(model)s)
  AND NOT EXISTS (SELECT 1 FROM license_period lp
                  WHERE lp.license_id = e.license_id
                    AND e.time >= lp.starts_at AND e.time < lp.ends_at)
"""
# What closed periods allocated to a licensee's (model's) uses, by currency: each event's
# gross in its period's latest run.
ALLOCATED_BY_CURRENCY = """
SELECT a.currency, sum(a.gross) AS gross, sum(a.net) AS net, count(*) AS events
FROM license_period lp
JOIN period_allocation a ON a.license_period_id = lp.id AND a.run = lp.run
JOIN usage_event e ON e.id = a.event_id
WHERE (CAST(%(licensee)s AS integer) IS NULL OR a.licensee_id = %(licensee)s)
  AND (CAST(%(model)s AS text) IS NULL OR e.model = %(model)s)
GROUP BY a.currency ORDER BY a.currency
"""
# --- One event (``royalty events show``) ------------------------------------------------

EVENT = f"""
SELECT e.id, e.source, e.event_id AS id_, e.time, e.received_at, l.key AS licensee,
       e.purpose, e.activity, e.model, e.run, e.dataset, e.quantity, e.unit,
       {", ".join(f"e.{k}" for k in IDENTIFIER_KINDS)}, e.extensions,
       e.outcome, w.key AS work, w.title, sv.effective_from AS split_from,
       sv.creator_ids IS NOT NULL AS has_split, e.split_version_id, lic.key AS license,
       e.currency, e.gross, e.fee, e.net, e.entry_id
FROM usage_event e
JOIN licensee l ON l.id = e.licensee_id
LEFT JOIN work w ON w.id = e.work_id
LEFT JOIN split_version sv ON sv.id = e.split_version_id
LEFT JOIN license lic ON lic.id = e.license_id
WHERE e.source = %s AND e.event_id = %s
"""
# Each creator's part of an event's net (contract §5), by the database's split rule.
EVENT_PARTS = """
SELECT c.key AS creator, CAST(p.amount AS numeric(38, 9)) AS amount
FROM split_parts(%s, %s) AS p JOIN creator c ON c.id = p.creator_id
ORDER BY c.key COLLATE "C"
"""
EVENT_REEVALUATIONS = """
SELECT r.at, r.old_outcome, r.new_outcome, ol.key AS old_license, nl.key AS new_license,
       r.old_net, r.new_net, r.entry_id
FROM event_reevaluation r
LEFT JOIN license ol ON ol.id = r.old_license_id
LEFT JOIN license nl ON nl.id = r.new_license_id
WHERE r.event_id = %s AND r.new_outcome <> 'voided'
ORDER BY r.id
"""
EVENT_VOID = "SELECT voided_at AS at, reason, entry_id FROM event_void WHERE event_id = %s"
VOIDED_EVENTS = "SELECT count(*) FROM event_void"
