"""A creator's statement for a booking month (contract §7 shape), tied to the ledger.

- ``period`` ``YYYY-MM`` is the calendar month (UTC) in which the ledger *booked* the
  amounts (``journal_entry.created_at``); ``None`` is all time (opening balance 0).
- ``opening_balance`` / ``accrued`` / ``paid`` / ``closing_balance`` come straight from
  the creator's ``creator_payable`` account: ``accrued`` is the credits of ``accrual`` and
  ``reevaluation`` entries booked in the period, ``paid`` the net debits of every other
  entry kind (``payout_*``), as in the balances report; closing = opening + accrued − paid.
- ``lines`` explain ``accrued`` event by event, grouped by work, licensee, model, purpose,
  usage month (the events' ``time``), unit and direction. Each accrued evaluation of an
  event is booked once and, when a re-evaluation replaces it, reversed once; a line holds
  the evaluations booked in the period and not reversed in it (positive) or reversed in it
  and booked earlier (negative ``events``, ``quantity`` and ``amount``). ``amount`` is the
  creator's part (``split_parts``, set-based) of each event's net. Replaced evaluations come from
  ``event_reevaluation`` (net, license); their split version is the one the evaluation
  saw: in force at the event's time among the versions created before it ran.
- The lines sum exactly to ``accrued``. Should a replaced evaluation be impossible to
  attribute (say its work's identifiers have since moved to another work), the remainder
  is shown as one line with purpose ``adjustment`` rather than lost.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from operator import itemgetter

import psycopg
from psycopg.rows import dict_row

from ledger.accounting.splits import split_parts_of
from ledger.errors import LedgerError, NotFound
from ledger.reports import statement_lines
from ledger.reports.ledger_reports import ACCRUAL_KINDS

NANO = Decimal("1e-9")
LINE_KEYS = ("work", "licensee", "model", "purpose", "usage_period", "events", "quantity",
             "unit", "amount")
ADJUSTMENT = "adjustment"


class InvalidPeriod(LedgerError):
    """A period that is not a calendar month ``YYYY-MM``."""

    exit_code = 2


def period_bounds(period: str | None) -> tuple[datetime | None, datetime | None]:
    """``YYYY-MM`` → [first instant of the month, first instant of the next) in UTC."""
    if period is None:
        return None, None
    found = re.fullmatch(r"(\d{4})-(\d{2})", period)
    if not found or not 1 <= int(found[2]) <= 12 or int(found[1]) < 1:
        raise InvalidPeriod(f"period {period!r} is not a calendar month YYYY-MM (e.g. 2026-11)")
    year, month = int(found[1]), int(found[2])
    start = datetime(year, month, 1, tzinfo=UTC)
    end = datetime(year + month // 12, month % 12 + 1, 1, tzinfo=UTC)
    return start, end


def creator_row(conn: psycopg.Connection, key: str) -> dict:
    row = conn.cursor(row_factory=dict_row).execute(
        "SELECT id, key, name, currency FROM creator WHERE key = %s", (key,)).fetchone()
    if row is None:
        raise NotFound(f"no creator {key!r}")
    return row


def currencies(conn: psycopg.Connection, creator_id: int) -> list[str]:
    """The currencies the creator has a ledger account in."""
    return [r[0] for r in conn.execute(
        "SELECT currency FROM account WHERE kind = 'creator_payable' AND owner_id = %s "
        "ORDER BY currency", (creator_id,))]


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
# The evaluations that stand: booked in the period, never reversed.
_CURRENT = f"""
    SELECT {_EVENT}, e.split_version_id, e.net, 1 AS sign
    FROM usage_event e JOIN journal_entry j ON j.id = e.entry_id
    WHERE e.work_id IN (SELECT work_id FROM works) AND e.outcome = 'accrued'
      AND e.currency = %(currency)s AND {_IN_PERIOD.format(at="j.created_at")}
"""
# The same for one period, driven by the entries booked in it (index usage_event_entry:
# one stretch of the heap) rather than by all of the creator's events.
_CURRENT_IN_PERIOD = _CURRENT.replace(
    "WHERE e.work_id IN", "WHERE e.entry_id = ANY(ARRAY(SELECT p.id FROM journal_entry p WHERE "
    + _IN_PERIOD.format(at="p.created_at") + "))\n      AND e.work_id IN")
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
_LINES = """
WITH works AS ({works}),
movements AS MATERIALIZED ({movements}),
parts AS MATERIALIZED (
    SELECT p.split_version_id, p.net, p.amount
    FROM (""" + split_parts_of("SELECT DISTINCT split_version_id, net FROM movements") + """) AS p
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


def _lines(conn: psycopg.Connection, params: dict, all_time: bool) -> list[dict]:
    """The lines grouped from the events. All time, this is what the folded lines hold
    (they are tested against it); over all time every replaced evaluation is booked and
    reversed: nothing to show."""
    movements = _CURRENT if all_time else f"{_CURRENT_IN_PERIOD} UNION ALL {_REPLACED}"
    if not conn.autocommit:
        # JIT compiling this large plan costs seconds and saves nothing (set-based already).
        conn.execute("SET LOCAL jit = off")
        # The planner cannot see how many rows the CTEs hold; a merge join would sort the
        # movements (up to millions of rows) where hashing the few pairs is cheap.
        conn.execute("SET LOCAL enable_mergejoin = off")
    rows = conn.execute(_LINES.format(works=_WORKS, movements=movements), params).fetchall()
    return [dict(zip(LINE_KEYS, row, strict=True)) for row in rows]


def _snapshot(conn: psycopg.Connection) -> None:
    """Read totals and lines from one snapshot, so concurrent bookings cannot skew them."""
    if conn.info.transaction_status == psycopg.pq.TransactionStatus.IDLE and not conn.autocommit:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")


def _one_snapshot(conn: psycopg.Connection) -> bool:
    """Whether the statements that follow read one snapshot (folded lines take several)."""
    return not conn.autocommit and conn.execute("SHOW transaction_isolation").fetchone()[0] \
        in ("repeatable read", "serializable")


def statement(conn: psycopg.Connection, creator_key: str, period: str | None,
              currency: str | None = None) -> dict:
    """The creator's statement for ``period`` in ``currency`` (default: the creator's)."""
    start, end = period_bounds(period)
    _snapshot(conn)
    creator = creator_row(conn, creator_key)
    currency = currency.upper() if currency else creator["currency"]
    if currency != creator["currency"] and currency not in currencies(conn, creator["id"]):
        known = ", ".join(sorted({creator["currency"], *currencies(conn, creator["id"])}))
        raise NotFound(f"creator {creator_key!r} has no {currency} account (currencies: {known})")
    params = {"creator": creator["id"], "currency": currency, "start": start, "end": end,
              "accrual": list(ACCRUAL_KINDS)}
    opening, accrued, paid = (v.quantize(NANO) for v in conn.execute(TOTALS, params).fetchone())
    if period is None and _one_snapshot(conn):  # folded lines (statement_lines)
        lines = statement_lines.lines(conn, creator["id"], currency)
    else:  # grouped from the events, in one statement
        lines = _lines(conn, params, all_time=period is None)
    remainder = accrued - sum(map(itemgetter("amount"), lines), Decimal(0))
    if remainder:
        lines.append({"work": None, "licensee": None, "model": None, "purpose": ADJUSTMENT,
                      "usage_period": None, "events": 0, "quantity": Decimal(0), "unit": None,
                      "amount": remainder})
    return {"creator": creator["key"], "period": period, "currency": currency,
            "opening_balance": opening, "accrued": accrued, "paid": paid,
            "closing_balance": opening + accrued - paid, "lines": lines}
