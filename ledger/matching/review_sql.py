"""The statements of review and claims (contract §8): proposing candidates from suspense,
listing them with what they would book, deciding them, filing claims. Executed by
``ledger.matching.review``."""

from __future__ import annotations

from ledger.matching.sql import BAND_CANDIDATES, PADDED_BITS, evaluation_matched_by

# Each distinct fingerprint in suspense that review has not looked up yet with the current
# review threshold (``proposed_fingerprint``), with the nearest registered one within that
# threshold (nothing within the auto threshold, or it would have matched) that was not
# rejected for it: proposed once. Every fingerprint looked up is remembered, candidate or
# not. First the notes of what is stale (``proposal_stale``: registrations, rejections)
# are applied and deleted: those this transaction sees; a later one waits for the next.
APPLY_STALE = """
WITH applied AS MATERIALIZED (
    DELETE FROM proposal_stale RETURNING kind, value, bands
), everything AS (
    -- past 1,000 notes, looking everything up again costs less than applying each
    DELETE FROM proposed_fingerprint
    WHERE EXISTS (SELECT FROM applied WHERE kind IS NULL) OR (SELECT count(*) FROM applied) > 1000
), named AS (
    DELETE FROM proposed_fingerprint p USING applied a
    WHERE p.kind = a.kind AND p.value = a.value AND (SELECT count(*) FROM applied) <= 1000
)
DELETE FROM proposed_fingerprint p USING applied a
WHERE p.kind = a.kind AND p.bands && a.bands AND (SELECT count(*) FROM applied) <= 1000
"""
PROPOSE = """
WITH todo AS MATERIALIZED (
    -- the fingerprints of suspense from its index alone; an event's PDQ quality is read only
    -- for a fingerprint not looked up yet
    SELECT DISTINCT d.kind, d.value, d.reach FROM (
        SELECT 'pdq' AS kind, e.pdq AS value, %(review_pdq)s AS reach, e.id
        FROM usage_event e WHERE e.outcome = 'unmatched' AND e.pdq IS NOT NULL
        UNION ALL
        SELECT 'iscc', e.iscc, %(review_iscc)s, e.id
        FROM usage_event e WHERE e.outcome = 'unmatched' AND e.iscc IS NOT NULL) AS d
    LEFT JOIN proposed_fingerprint p ON p.kind = d.kind AND p.value = d.value
    WHERE (p.value IS NULL OR p.reach <> d.reach)
      AND (d.kind <> 'pdq' OR coalesce((
          SELECT CAST(q.extensions #>> '{item,pdq_quality}' AS integer)
          FROM usage_event q WHERE q.id = d.id), 100) >= %(min_pdq_quality)s)
), f AS MATERIALIZED (
    -- each fingerprint decoded once, however many events carry it, and numbered
    SELECT row_number() OVER () AS n, x.* FROM (
        SELECT t.kind, t.value, t.reach, """ + PADDED_BITS["pdq"].format(value="t.value") + """
                   AS bits, pdq_keys(t.value) AS bands
        FROM todo t WHERE t.kind = 'pdq'
        UNION ALL
        SELECT t.kind, t.value, t.reach, """ + PADDED_BITS["iscc"].format(value="t.value") + """,
               iscc_keys(t.value)
        FROM todo t WHERE t.kind = 'iscc' AND iscc_content(t.value) IS NOT NULL) AS x
), seen AS (
    INSERT INTO proposed_fingerprint (kind, value, reach, bands)
    SELECT f.kind, f.value, f.reach, f.bands FROM f
    ON CONFLICT (kind, value) DO UPDATE
    SET reach = EXCLUDED.reach, bands = EXCLUDED.bands, proposed_at = now()
), nearest AS (
    -- per fingerprint the nearest work not rejected for it, ties by work key
    SELECT DISTINCT ON (c.n) c.n, c.work_id, c.distance
    FROM (""" + BAND_CANDIDATES.format(fingerprints="f") + """) AS c
    JOIN f ON f.n = c.n
    WHERE NOT EXISTS (SELECT 1 FROM match_candidate r WHERE r.kind = f.kind
                      AND r.value = f.value AND r.work_id = c.work_id
                      AND r.status = 'rejected')
    ORDER BY c.n, c.distance, (SELECT w.key FROM work w WHERE w.id = c.work_id) COLLATE "C"
), proposed AS (
    INSERT INTO match_candidate (kind, value, work_id, method, distance)
    SELECT f.kind, f.value, n.work_id, 'review', n.distance
    FROM nearest n JOIN f ON f.n = n.n
    ON CONFLICT ON CONSTRAINT match_candidate_pair DO NOTHING
    RETURNING 1
)
SELECT count(*) FROM proposed
"""


def _uses_of_candidates(kinds: tuple[str, ...]) -> str:
    # One hash join per identifier kind (an OR of them would compare every pair).
    return "\n UNION ALL ".join(
        f"SELECT o.id, o.work_id, e.outcome, e.quantity, e.work_id AS used_work_id "
        f"FROM open o JOIN usage_event e ON o.kind = '{kind}' AND e.{kind} = o.value"
        for kind in kinds)


# Open candidates, nearest first: the item's identifier, the work, how it was proposed, the
# events in suspense that carry it (and their quantity), and the works it already matches
# elsewhere (a claim on such an item is a dispute).
def open_candidates(kinds: tuple[str, ...]) -> str:
    return f"""
WITH open AS (
    SELECT c.id, c.kind, c.value, c.work_id, c.method, c.distance, c.claim_id, c.created_at
    FROM match_candidate c WHERE c.status = 'open' AND (%(ids)s::bigint[] IS NULL
                                                          OR c.id = ANY(%(ids)s::bigint[]))
), uses AS ({_uses_of_candidates(kinds)}
), stake AS (
    SELECT u.id, count(*) FILTER (WHERE u.outcome = 'unmatched') AS events,
           coalesce(sum(u.quantity) FILTER (WHERE u.outcome = 'unmatched'), 0) AS quantity,
           array_agg(DISTINCT w.key) FILTER (WHERE u.used_work_id <> u.work_id) AS elsewhere
    FROM uses u LEFT JOIN work w ON w.id = u.used_work_id
    GROUP BY u.id
)
SELECT o.id, o.kind, o.value, w.key AS work, o.method, o.distance, cl.key AS claim,
       cr.key AS creator, cl.note, coalesce(s.events, 0) AS events,
       coalesce(s.quantity, 0) AS quantity, coalesce(s.elsewhere, '{{}}') AS matched_elsewhere
FROM open o JOIN work w ON w.id = o.work_id
LEFT JOIN stake s ON s.id = o.id
LEFT JOIN match_claim cl ON cl.id = o.claim_id
LEFT JOIN creator cr ON cr.id = cl.creator_id
ORDER BY o.distance NULLS LAST, o.id
"""


# What each open candidate's events in suspense would earn if it were accepted: each event
# evaluated as the batch evaluation does (license, opt-outs, price), its match forced to the
# candidate's work; per currency, the gross and the net (creators' share), and the uses a
# pool or revenue share would price at its period's close.
def candidate_stakes(kinds: tuple[str, ...]) -> str:
    source = "(" + "\n UNION ALL ".join(
        f"SELECT e.time, e.licensee_id, e.purpose, e.quantity, e.unit, o.id AS candidate_id, "
        f"o.work_id AS candidate_work "
        f"FROM open o JOIN usage_event e ON o.kind = '{kind}' AND e.{kind} = o.value "
        f"WHERE e.outcome = 'unmatched'"
        for kind in kinds) + ")"
    forced = ("SELECT src.candidate_work AS work_id, CAST('review' AS text) AS match_method, "
              "CAST(NULL AS integer) AS match_distance")
    return f"""
WITH open AS (
    SELECT c.id, c.kind, c.value, c.work_id FROM match_candidate c
    WHERE c.status = 'open' AND (%(ids)s::bigint[] IS NULL OR c.id = ANY(%(ids)s::bigint[]))
), evaluated AS ({evaluation_matched_by(source, forced)})
SELECT candidate_id, currency, sum(gross) AS gross, sum(net) AS net,
       count(*) FILTER (WHERE gross IS NULL) AS pooled
FROM evaluated WHERE outcome = 'accrued'
GROUP BY candidate_id, currency ORDER BY candidate_id, currency
"""


CANDIDATES_FOR_DECISION = """
SELECT c.id, c.kind, c.value, c.work_id, w.key, c.method, c.status, c.decided_by, c.decided_at
FROM match_candidate c JOIN work w ON w.id = c.work_id
WHERE c.id = ANY(%(ids)s) ORDER BY c.id FOR UPDATE OF c
"""
IDENTIFIER_OWNER = """
SELECT i.work_id, w.key FROM work_identifier i JOIN work w ON w.id = i.work_id
WHERE i.kind = %(kind)s AND i.value = %(value)s
"""
ADD_ACCEPTED_IDENTIFIER = """
INSERT INTO work_identifier (kind, value, work_id, via) VALUES (%(kind)s, %(value)s, %(work)s, %(via)s)
ON CONFLICT (kind, value) DO NOTHING
"""
# A rejected candidate's fingerprint is looked up again: its next nearest work, if any.
FORGET_REJECTED = """
INSERT INTO proposal_stale (kind, value)
SELECT c.kind, c.value FROM match_candidate c WHERE c.id = ANY(%(ids)s)
"""
DECIDE = """
UPDATE match_candidate SET status = %(status)s, decided_by = %(by)s, decided_at = now()
WHERE id = ANY(%(ids)s)
"""
RECORD_ACCEPTED_WORKS = """
INSERT INTO catalog_change (work_ids, creator_ids, licensee_ids)
VALUES (%(works)s::integer[], '{}', '{}')
"""

# Claims: what they name, and how they are filed.
CLAIM_KEYS = "SELECT key, creator_id, work_id, identifiers FROM match_claim WHERE key = ANY(%s)"
CREATOR_IDS = "SELECT key, id FROM creator WHERE key = ANY(%s)"
WORK_IDS = "SELECT key, id FROM work WHERE key = ANY(%s)"
CREATORS_OF_WORK = """
SELECT DISTINCT v.work_id, s.creator_id FROM split_version v
JOIN split_share s ON s.split_version_id = v.id WHERE v.work_id = ANY(%s)
"""
DECIDED_PAIRS = """
SELECT c.kind, c.value, c.work_id, c.status, c.decided_by FROM match_candidate c
JOIN unnest(%(kinds)s::text[], %(values)s::text[], %(works)s::integer[]) AS p(kind, value, work_id)
  ON c.kind = p.kind AND c.value = p.value AND c.work_id = p.work_id
WHERE c.status <> 'open'
"""
INSERT_CLAIM = """
INSERT INTO match_claim (key, creator_id, work_id, identifiers, note, created_by)
VALUES (%(key)s, %(creator)s, %(work)s, %(identifiers)s::jsonb, %(note)s, %(by)s) RETURNING id
"""
# A claim turns an open review candidate of the same pair into a claim.
CLAIM_CANDIDATE = """
INSERT INTO match_candidate (kind, value, work_id, method, claim_id)
VALUES (%(kind)s, %(value)s, %(work)s, 'claim', %(claim)s)
ON CONFLICT ON CONSTRAINT match_candidate_pair DO UPDATE
SET method = 'claim', claim_id = EXCLUDED.claim_id WHERE match_candidate.status = 'open'
"""
