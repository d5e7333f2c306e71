"""The set-based evaluation of usage events: match, split version, opt-outs, license,
outcome and amounts, for a whole batch in one statement (contract §4–§6).

``evaluation(source, kinds)`` reads a relation with columns ``time, licensee_id, purpose,
quantity, unit`` and one column per identifier kind, and yields its columns and:
``work_id, split_version_id, license_id, outcome, currency, gross, fee, net`` and the
split version's ``creator_ids, shares`` (for booking without reading it again).
"""

from __future__ import annotations

from functools import cache

from ledger.matching.rules import MATCH_PRIORITY

_TEMPLATE = """
SELECT src.*, m.work_id, sv.id AS split_version_id, lic.id AS license_id,
       CASE WHEN m.work_id IS NULL THEN 'unmatched'
            WHEN lic.id IS NULL THEN CASE WHEN covers(sv.opt_out, src.purpose) THEN 'opted_out'
                                          ELSE 'unlicensed' END
            WHEN lic.rate_unit <> src.unit THEN 'unpriced'
            ELSE 'accrued' END AS outcome,
       lic.currency,
       priced.gross, priced.fee, CAST(priced.gross - priced.fee AS numeric(38, 9)) AS net,
       sv.creator_ids, sv.shares
FROM {source} AS src
CROSS JOIN LATERAL (SELECT {work_id} AS work_id OFFSET 0) AS m
LEFT JOIN LATERAL (
    -- opt_out: the work's and the split's creators' opt-outs together (kept by triggers)
    SELECT v.id, v.opt_out, v.creator_ids, v.shares FROM split_version v
    WHERE v.work_id = m.work_id AND v.effective_from <= src.time
    ORDER BY v.effective_from DESC LIMIT 1) AS sv ON true
LEFT JOIN LATERAL (
    SELECT l.id, l.rate_unit, l.price, l.platform_fee, l.currency
    FROM license l
    WHERE m.work_id IS NOT NULL
      AND l.licensee_id = src.licensee_id
      AND l.valid_from <= src.time AND (l.valid_until IS NULL OR src.time < l.valid_until)
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
    WHERE lic.id IS NOT NULL AND lic.rate_unit = src.unit OFFSET 0) AS priced ON true
"""


@cache
def evaluation(source: str, kinds: frozenset[str] | None = None) -> str:
    """The evaluation query over ``source`` (a table name or a parenthesised subquery).
    With ``kinds``, only those identifier kinds are matched (a batch in which no event has
    a DOI, say, skips the DOI lookup); without, every kind."""
    used = [k for k in MATCH_PRIORITY if kinds is None or k in kinds]
    # One index probe per kind, in priority order, stopping at the first match (COALESCE
    # evaluates lazily). As joins, a planner that thinks the batch is small may scan the
    # whole identifier table once per event instead.
    probes = [f"(SELECT i.work_id FROM work_identifier i "
              f"WHERE i.kind = '{kind}' AND i.value = src.{kind})" for kind in used]
    work_id = (f"COALESCE({', '.join(probes)})" if len(probes) > 1
               else probes[0] if probes else "CAST(NULL AS integer)")
    return _TEMPLATE.format(source=source, work_id=work_id)
