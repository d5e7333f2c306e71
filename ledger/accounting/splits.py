"""Creators' parts of net amounts, set-based (contract §5): the rule of the database
function ``split_parts(net, version)``, for a whole relation of (split version, net) pairs
in one statement, so that a batch or a statement splits thousands of pairs with one sort
instead of one function call each.

Each part is the floor of its exact share at 9 decimal places; the leftover 1e-9 units go
to the largest remainders, ties by creator key in code point order.
"""

from __future__ import annotations

_PARTS = """
SELECT e.*,
       CAST(e.part + CASE
           WHEN row_number() OVER w <= (e.net - sum(e.part) OVER w) * 1000000000
           THEN 0.000000001 ELSE 0 END AS numeric(38, 9)) AS amount
FROM (
    SELECT d.*, u.creator_id, u.position,
           d.net * u.share AS exact, trunc(d.net * u.share, 9) AS part
    FROM (SELECT p.*, row_number() OVER () AS pair FROM ({pairs}) AS p) AS d
    -- creator_ids and shares are in creator key order: position breaks ties
    CROSS JOIN LATERAL unnest(d.creator_ids, d.shares) WITH ORDINALITY
        AS u(creator_id, share, position)
) AS e
-- one window (one sort, one pass) for both the rank and the pair's sum of parts
WINDOW w AS (PARTITION BY e.pair ORDER BY e.exact - e.part DESC, e.position
             ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)
"""
_WITH_SHARES = """
SELECT p.*, v.creator_ids, v.shares
FROM ({pairs}) AS p JOIN split_version v ON v.id = p.split_version_id
"""


def split_parts_of(pairs: str, *, with_shares: bool = False) -> str:
    """A query of each row of ``pairs`` (a query with ``split_version_id`` and ``net``)
    once per creator of its split version, with ``creator_id`` and the creator's part,
    ``amount``. Rows of ``pairs`` are split one by one: give each pair once. With
    ``with_shares``, ``pairs`` also carries the split version's ``creator_ids`` and
    ``shares`` (then the split versions are not read again)."""
    return _PARTS.format(pairs=pairs if with_shares else _WITH_SHARES.format(pairs=pairs))
