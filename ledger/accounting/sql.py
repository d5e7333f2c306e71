"""Every statement of the ledger: journal entries, aggregated postings, the creators' parts
of net amounts (contract §5) and the folding of booked events into statement lines.

``split_parts_of`` is the production form of ``ledger.accounting.money.split`` (the
reference model) for a whole relation at once; the Hypothesis tests in
``tests/ledger/accounting`` and ``tests/ledger/matching`` hold one to the other.
"""

from __future__ import annotations

from functools import cache

# --- Journal entries and postings -------------------------------------------------------

NEXT_ENTRY_ID = "SELECT nextval(pg_get_serial_sequence('journal_entry', 'id'))"
OPEN_ENTRY = "INSERT INTO journal_entry (id, kind, memo) VALUES (%s, %s, %s)"

# Aggregated postings of the rows of ``{rows}`` (columns licensee_id, currency,
# split_version_id, gross, fee, net, and with shares the split version's creator_ids and
# shares), signed: +1 books, -1 reverses. Accounts are looked up by a join;
# ``ledger_account`` creates the few that do not exist yet.
_POSTINGS = """
INSERT INTO posting (entry_id, account_id, amount)
SELECT %(entry)s, COALESCE(a.id, ledger_account(t.kind, t.owner_id, t.currency)), t.amount
FROM (
    SELECT 'licensee_receivable' AS kind, licensee_id AS owner_id, currency,
           %(sign)s * sum(gross) AS amount
    FROM {rows} AS r GROUP BY licensee_id, currency
    UNION ALL
    SELECT 'platform_revenue', 0, currency, -%(sign)s * sum(fee)
    FROM {rows} AS r GROUP BY currency
    UNION ALL
    SELECT 'creator_payable', p.creator_id, p.currency, -%(sign)s * sum(p.amount * p.events)
    FROM ({parts}) AS p
    GROUP BY p.creator_id, p.currency
) AS t
LEFT JOIN account a ON a.kind = t.kind AND a.owner_id = t.owner_id AND a.currency = t.currency
"""

# Postings of given amounts (``booking.post_amounts``).
POST_AMOUNTS = """
INSERT INTO posting (entry_id, account_id, amount)
SELECT %(entry)s, ledger_account(t.kind, t.owner_id, t.currency), t.amount
FROM unnest(%(kinds)s::text[], %(owners)s::integer[], %(currencies)s::text[],
            %(amounts)s::numeric[]) AS t(kind, owner_id, currency, amount)
WHERE t.amount <> 0
"""


@cache
def postings(rows: str, *, with_shares: bool = False) -> str:
    """The insert of the aggregated postings of ``rows`` (a table or parenthesised query)
    into entry ``%(entry)s``, signed by ``%(sign)s``."""
    shares = ", max(creator_ids) AS creator_ids, max(shares) AS shares" if with_shares else ""
    groups = (f"SELECT split_version_id, currency, net, count(*) AS events{shares} "
              f"FROM {rows} AS r GROUP BY split_version_id, currency, net")
    return _POSTINGS.format(rows=rows, parts=split_parts_of(groups, with_shares=with_shares))


@cache
def grouped_postings(groups: str) -> str:
    """As ``postings``, of ``groups`` (a table or parenthesised query) of events already
    grouped by licensee, currency, split version and net, with their ``events`` count and
    ``gross`` and ``fee`` sums: each event's net is still split on its own (as a group of
    ``events`` equal nets)."""
    pairs = (f"SELECT split_version_id, currency, net, sum(events) AS events FROM {groups} "
             f"AS r GROUP BY split_version_id, currency, net")
    return _POSTINGS.format(rows=groups, parts=split_parts_of(pairs))


# --- Creators' parts --------------------------------------------------------------------

# Each part is the floor of its exact share at 9 decimal places; the leftover 1e-9 units
# go to the largest remainders, ties by creator key in code point order: the rule of the
# database function ``split_parts(net, version)``, for a whole relation of pairs in one
# statement (one sort instead of one function call per pair).
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


# --- Statement lines (folding) ----------------------------------------------------------

MONTH = "CAST(date_trunc('month', e.time AT TIME ZONE 'UTC') AS date)"
LINE_KEY = "creator_id, currency, month, work, licensee, model, purpose, unit"
_MOVEMENT = ("{work} AS work_id, e.licensee_id, e.model, e.purpose, " + MONTH + " AS month, "
             "e.unit, e.quantity, {split} AS split_version_id, {net} AS net, "
             "{currency} AS currency, {sign} AS sign")


def movements(*, work: str, split: str, net: str, currency: str, sign: int) -> str:
    """The select list of a movement: what a statement line needs of an event (``e``) and
    of the evaluation (its ``work``, ``split`` version, ``net`` and ``currency`` columns)
    it books (``sign`` 1) or reverses (-1)."""
    return _MOVEMENT.format(work=work, split=split, net=net, currency=currency, sign=sign)


STANDING = movements(work="e.work_id", split="e.split_version_id", net="e.net",
                     currency="e.currency", sign=1)
# An allocated amount (``period_allocation`` ``a`` of event ``e``, contract §9), booked or
# reversed.
ALLOCATED = movements(work="a.work_id", split="a.split_version_id", net="a.net",
                      currency="a.currency", sign=1)
ALLOCATED_REVERSED = movements(work="a.work_id", split="a.split_version_id", net="a.net",
                               currency="a.currency", sign=-1)
# Booking entries (accrual, re-evaluation, void, a period's allocation) whose events are
# not in statement_line yet. (A re-allocation adds its lines as it books.)
PENDING_ENTRIES = """
SELECT j.id FROM journal_entry j
WHERE j.kind IN ('accrual', 'reevaluation', 'void', 'allocation')
  AND NOT EXISTS (SELECT 1 FROM statement_folded f WHERE f.entry_id = j.id)
"""
NEXT_PENDING_ENTRIES = f"{PENDING_ENTRIES} ORDER BY j.id LIMIT %s"
_OF_ENTRIES = f"""
SELECT {STANDING} FROM usage_event e
WHERE e.entry_id = ANY(%(entries)s) AND e.outcome = 'accrued'
UNION ALL
SELECT {ALLOCATED} FROM period_allocation a JOIN usage_event e ON e.id = a.event_id
WHERE a.entry_id = ANY(%(entries)s)
"""
# The movements once, their distinct (split version, net) pairs split once each, then one
# grouping per line.
_LINES_OF = """
WITH movements AS MATERIALIZED ({movements}),
parts AS MATERIALIZED (
    SELECT p.split_version_id, p.net, p.creator_id, p.amount
    FROM ({parts}) AS p
    {creator}
)
SELECT p.creator_id, m.currency, m.month, w.key AS work, l.key AS licensee, m.model,
       m.purpose, m.unit, sum(m.sign) AS events, sum(m.sign * m.quantity) AS quantity,
       sum(m.sign * p.amount) AS amount
FROM movements m
JOIN parts p ON p.split_version_id = m.split_version_id AND p.net = m.net
JOIN work w ON w.id = m.work_id JOIN licensee l ON l.id = m.licensee_id
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
"""


def lines_of(movements_query: str, creator_filter: str = "") -> str:
    """Statement lines (``LINE_KEY``, events, quantity, amount) of a query of movements,
    for every creator (or those ``creator_filter``, a WHERE on ``p.creator_id``, keeps)."""
    return _LINES_OF.format(
        movements=movements_query, creator=creator_filter,
        parts=split_parts_of("SELECT DISTINCT split_version_id, net FROM movements"))


def add_lines(movements_query: str) -> str:
    """Add the lines of a query of movements to ``statement_line``."""
    return f"""
INSERT INTO statement_line ({LINE_KEY}, events, quantity, amount)
{lines_of(movements_query)}
ON CONFLICT ({LINE_KEY}) DO UPDATE
SET events = statement_line.events + excluded.events,
    quantity = statement_line.quantity + excluded.quantity,
    amount = statement_line.amount + excluded.amount
"""


ADD_ENTRIES = add_lines(_OF_ENTRIES)
RECORD_FOLDED_ENTRIES = "INSERT INTO statement_folded (entry_id) SELECT unnest(%s::bigint[])"
RECORD_FOLDED_ENTRY = "INSERT INTO statement_folded (entry_id) VALUES (%s)"
