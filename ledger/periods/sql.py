"""Every statement of periods: the licenses settled by period, a period's events and
figures, the set-based allocation (the production form of ``ledger.periods.rules.allocate``,
held to it by the Hypothesis tests in ``tests/ledger/periods``), and what a re-allocation
compares with."""

from __future__ import annotations

from ledger.accounting.sql import ALLOCATED, ALLOCATED_REVERSED, add_lines

# Licenses settled by period: pool and revenue-share rates, and any rate with a minimum.
DEALS = """
SELECT l.id, l.key, l.licensee_id, le.key AS licensee, l.rate_type, l.rate, l.currency,
       l.platform_fee, l.valid_from, l.valid_until
FROM license l JOIN licensee le ON le.id = l.licensee_id
WHERE (l.rate_type <> 'per_unit' OR l.rate ? 'minimum')
  AND (CAST(%(license)s AS text) IS NULL OR l.key = %(license)s)
ORDER BY l.key COLLATE "C"
"""
CLOSED = """
SELECT id, license_id, starts_at, ends_at, label, state, run, currency, events, quantity,
       revenue, pool, allocated, unallocated, entry_id
FROM license_period WHERE license_id = ANY(%(licenses)s) ORDER BY license_id, starts_at
"""
CLOSED_ONE = """
SELECT id, run, pool, allocated, unallocated FROM license_period
WHERE license_id = %(license)s AND starts_at = %(starts)s
"""

# A period's events. Pooled ones (awaiting allocation; the partial index usage_event_pooled)
# get the pool; a per-unit license's priced ones get the top-up of its minimum's shortfall.
_EVENTS = """usage_event e
WHERE e.license_id = %(license)s AND e.outcome = 'accrued' AND e.gross IS {priced}
  AND e.time >= %(starts)s AND e.time < %(ends)s"""
POOLED_EVENTS = _EVENTS.format(priced="NULL")
PRICED_EVENTS = _EVENTS.format(priced="NOT NULL")

_FIGURES = """
SELECT count(*), coalesce(sum(e.quantity), 0), coalesce(sum(e.gross), 0) FROM {events}
"""
POOLED_FIGURES = _FIGURES.format(events=POOLED_EVENTS)
PRICED_FIGURES = _FIGURES.format(events=PRICED_EVENTS)

REVENUE = """
SELECT coalesce(sum(amount), 0), count(*) FROM revenue_report
WHERE license_id = %(license)s AND starts_at >= %(starts)s AND starts_at < %(ends)s
"""

# The allocation of %(units)s (the pool in 1e-9 units) over the period's events by
# quantity, as one INSERT ... SELECT: in exact integer arithmetic each event gets
# div(units × q, Σq) units, and the leftover units go one each to the largest remainders
# mod(units × q, Σq), ties by (source, id) in code point order (both columns are "C").
# Then fee and net per event as contract §5.
_SELECT_ALLOCATION = """
SELECT a.id AS event_id, a.licensee_id, a.work_id, a.split_version_id, a.quantity, a.gross,
       f.fee, CAST(a.gross - f.fee AS numeric(38, 9)) AS net
FROM (
    SELECT s.*, CAST((s.n + CASE WHEN row_number() OVER (
                          ORDER BY s.remainder DESC, s.source, s.event_id)
                          <= %(units)s - sum(s.n) OVER () THEN 1 ELSE 0 END)
                     * 0.000000001 AS numeric(38, 9)) AS gross
    FROM (
        SELECT t.*, div(%(units)s * t.quantity, t.total) AS n,
               mod(%(units)s * t.quantity, t.total) AS remainder
        FROM (SELECT e.id, e.source, e.event_id, e.licensee_id, e.work_id, e.split_version_id,
                     e.quantity, sum(e.quantity) OVER () AS total
              FROM {events}) AS t
        WHERE t.total > 0
    ) AS s
) AS a
CROSS JOIN LATERAL (SELECT CAST(round_half_even(a.gross * %(fee)s, 9) AS numeric(38, 9))
                    AS fee OFFSET 0) AS f
"""
# The allocation inserted, and at once grouped for the booking (``RUN_GROUPS``): the rows
# are written once and not read again.
_ALLOCATE = """
WITH inserted AS (
    INSERT INTO period_allocation (license_period_id, run, event_id, licensee_id, work_id,
                                   split_version_id, currency, quantity, gross, fee, net,
                                   entry_id)
    SELECT %(period)s, %(run)s, x.event_id, x.licensee_id, x.work_id, x.split_version_id,
           %(currency)s, x.quantity, x.gross, x.fee, x.net, %(entry)s
    FROM ({select}) AS x
    RETURNING licensee_id, currency, split_version_id, gross, fee, net
)
INSERT INTO run_groups (licensee_id, currency, split_version_id, net, events, gross, fee)
SELECT licensee_id, currency, split_version_id, net, count(*), sum(gross), sum(fee)
FROM inserted GROUP BY licensee_id, currency, split_version_id, net
"""
ALLOCATE_POOLED = _ALLOCATE.format(select=_SELECT_ALLOCATION.format(events=POOLED_EVENTS))
ALLOCATE_PRICED = _ALLOCATE.format(select=_SELECT_ALLOCATION.format(events=PRICED_EVENTS))
# The bare allocation, for the benchmark: the same SELECT into a table of the caller's.
BARE_SELECT_POOLED = _SELECT_ALLOCATION.format(events=POOLED_EVENTS)

# A run's events grouped by what booking needs (``booking.post_groups``); emptied by the
# commit, and before each run.
RUN_GROUPS = "run_groups"
CREATE_RUN_GROUPS = f"""
CREATE TEMP TABLE IF NOT EXISTS {RUN_GROUPS} (
    licensee_id integer, currency text, split_version_id integer, net numeric(38, 9),
    events bigint, gross numeric(38, 9), fee numeric(38, 9)
) ON COMMIT DELETE ROWS
"""
EMPTY_RUN_GROUPS = f"DELETE FROM {RUN_GROUPS}"
GROUP_TOTALS = f"SELECT coalesce(sum(events), 0), coalesce(sum(gross), 0) FROM {RUN_GROUPS}"

# A run's rows as the booking reads them (``ledger.accounting.booking.post``).
RUN_ROWS = ("(SELECT licensee_id, currency, split_version_id, gross, fee, net "
            "FROM period_allocation WHERE license_period_id = %(period)s AND run = %(run)s)")

# A re-allocation's statement-line movements: the new run's amounts in, the old run's out.
REALLOCATED_MOVEMENTS = f"""
SELECT {ALLOCATED} FROM period_allocation a JOIN usage_event e ON e.id = a.event_id
WHERE a.license_period_id = %(period)s AND a.run = %(run)s
UNION ALL
SELECT {ALLOCATED_REVERSED} FROM period_allocation a JOIN usage_event e ON e.id = a.event_id
WHERE a.license_period_id = %(period)s AND a.run = %(run)s - 1
"""
ADD_REALLOCATED_LINES = add_lines(REALLOCATED_MOVEMENTS)

# What a run has seen: the newest event, re-evaluation and revenue report.
MARKS = """
SELECT coalesce((SELECT max(id) FROM usage_event), 0),
       coalesce((SELECT max(id) FROM event_reevaluation), 0),
       coalesce((SELECT max(id) FROM revenue_report), 0)
"""
INSERT_PERIOD = """
INSERT INTO license_period (license_id, starts_at, ends_at, label, state, run, currency,
                            events, quantity, revenue, pool, allocated, unallocated,
                            event_mark, reevaluation_mark, revenue_mark)
VALUES (%(license)s, %(starts)s, %(ends)s, %(label)s, 'closed', 1, %(currency)s, 0, 0, NULL,
        0, 0, 0, 0, 0, 0)
ON CONFLICT (license_id, starts_at) DO NOTHING
RETURNING id
"""
RECORD_RUN = """
UPDATE license_period
SET state = %(state)s, run = %(run)s, events = %(events)s, quantity = %(quantity)s,
    revenue = %(revenue)s, pool = %(pool)s, allocated = %(allocated)s,
    unallocated = %(unallocated)s, event_mark = %(event_mark)s,
    reevaluation_mark = %(reevaluation_mark)s, revenue_mark = %(revenue_mark)s,
    entry_id = %(entry)s, adjusted_at = CASE WHEN %(run)s > 1 THEN now() END
WHERE id = %(period)s
"""

# Closed periods that something newer than their latest run touches: a late event, a
# re-evaluation of one of their events (or of one that now falls in them), a late revenue
# report. Each check reads only what is newer than the period's marks.
STALE = """
SELECT lp.id, lp.license_id, lp.starts_at, lp.ends_at FROM license_period lp
WHERE EXISTS (SELECT 1 FROM usage_event e
              WHERE e.id > lp.event_mark AND e.license_id = lp.license_id
                AND e.outcome = 'accrued' AND e.time >= lp.starts_at AND e.time < lp.ends_at)
   OR EXISTS (SELECT 1 FROM event_reevaluation r JOIN usage_event e ON e.id = r.event_id
              WHERE r.id > lp.reevaluation_mark
                AND lp.license_id IN (r.old_license_id, r.new_license_id)
                AND e.time >= lp.starts_at AND e.time < lp.ends_at)
   OR EXISTS (SELECT 1 FROM revenue_report v
              WHERE v.id > lp.revenue_mark AND v.license_id = lp.license_id
                AND v.starts_at >= lp.starts_at AND v.starts_at < lp.ends_at)
ORDER BY lp.id
"""
# Periods nothing touched since their run move their marks on, so that the next check
# reads only what came after this one.
ADVANCE_MARKS = """
UPDATE license_period
SET event_mark = %(event_mark)s, reevaluation_mark = %(reevaluation_mark)s,
    revenue_mark = %(revenue_mark)s
WHERE NOT id = ANY(%(stale)s)
  AND (event_mark, reevaluation_mark, revenue_mark)
      <> (%(event_mark)s, %(reevaluation_mark)s, %(revenue_mark)s)
"""

# --- Revenue reports --------------------------------------------------------------------

REVENUE_LICENSES = """
SELECT l.id, l.key, le.key AS licensee, l.rate, l.currency, l.valid_from, l.valid_until
FROM license l JOIN licensee le ON le.id = l.licensee_id WHERE l.key = ANY(%(keys)s)
"""
INSERT_REVENUE = """
INSERT INTO revenue_report (source, event_id, licensee_id, license_id, period, starts_at,
                            amount, currency, digest)
SELECT * FROM unnest(%(sources)s::text[], %(ids)s::text[], %(licensees)s::integer[],
                     %(licenses)s::integer[], %(periods)s::text[], %(starts)s::timestamptz[],
                     %(amounts)s::numeric[], %(currencies)s::text[], %(digests)s::text[])
ON CONFLICT (source, event_id) DO NOTHING
RETURNING source, event_id
"""
STORED_REVENUE = """
SELECT source, event_id, digest FROM revenue_report
WHERE (source, event_id) IN (SELECT * FROM unnest(%(sources)s::text[], %(ids)s::text[]))
"""
