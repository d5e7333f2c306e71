"""A creator's statement for a booking month (contract §7 shape), tied to the ledger.

- ``period`` ``YYYY-MM`` is the calendar month (UTC) in which the ledger *booked* the
  amounts (``journal_entry.created_at``); ``None`` is all time (opening balance 0).
- ``opening_balance`` / ``accrued`` / ``paid`` / ``closing_balance`` come straight from
  the creator's ``creator_payable`` account: ``accrued`` is the credits of ``accrual``,
  ``reevaluation`` and ``void`` entries booked in the period, ``paid`` the net debits of every other
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

from ledger.errors import LedgerError, NotFound
from ledger.reports import sql, statement_lines
from ledger.reports.sql import ACCRUAL_KINDS

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
    row = conn.cursor(row_factory=dict_row).execute(sql.CREATOR, (key,)).fetchone()
    if row is None:
        raise NotFound(f"no creator {key!r}")
    return row


def currencies(conn: psycopg.Connection, creator_id: int) -> list[str]:
    """The currencies the creator has a ledger account in."""
    return [r[0] for r in conn.execute(sql.CREATOR_CURRENCIES, (creator_id,))]


def _lines(conn: psycopg.Connection, params: dict, all_time: bool) -> list[dict]:
    """The lines grouped from the events. All time, this is what the folded lines hold
    (they are tested against it); over all time every replaced evaluation is booked and
    reversed: nothing to show."""
    if not conn.autocommit:
        # JIT compiling this large plan costs seconds and saves nothing (set-based already).
        conn.execute("SET LOCAL jit = off")
        # The planner cannot see how many rows the CTEs hold; a merge join would sort the
        # movements (up to millions of rows) where hashing the few pairs is cheap.
        conn.execute("SET LOCAL enable_mergejoin = off")
    rows = conn.execute(sql.STATEMENT_LINES_ALL_TIME if all_time else sql.STATEMENT_LINES_OF_PERIOD,
                        params).fetchall()
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
    opening, accrued, paid = (v.quantize(NANO) for v in conn.execute(sql.TOTALS, params).fetchone())
    if period is None and _one_snapshot(conn):  # folded lines (statement_lines)
        lines = statement_lines.lines(conn, creator["id"], currency)
    else:  # grouped from the events, in one statement
        lines = _lines(conn, params, all_time=period is None)
    _add_matches(conn, params, lines)
    remainder = accrued - sum(map(itemgetter("amount"), lines), Decimal(0))
    if remainder:
        lines.append({"work": None, "licensee": None, "model": None, "purpose": ADJUSTMENT,
                      "usage_period": None, "events": 0, "quantity": Decimal(0), "unit": None,
                      "amount": remainder, "match": None})
    return {"creator": creator["key"], "period": period, "currency": currency,
            "opening_balance": opening, "accrued": accrued, "paid": paid,
            "closing_balance": opening + accrued - paid, "lines": lines}


def _add_matches(conn: psycopg.Connection, params: dict, lines: list[dict]) -> None:
    """Each line's ``match``: how its events were matched (contract §8), e.g. "exact" or
    "pdq ≤12: 3, exact: 5" (method, largest distance, events)."""
    similar: dict[tuple, list[tuple[str, int, int | None]]] = {}
    for row in conn.execute(sql.STATEMENT_MATCHES, params):
        *key, method, events, distance = row
        similar.setdefault(tuple(key), []).append((method, events, distance))
    # most works are matched exactly only: their lines need no key (a million lines a
    # creator, all time)
    similar_works = {key[0] for key in similar}
    for line in lines:
        if line["work"] is None:
            line["match"] = None
            continue
        if line["work"] not in similar_works:
            line["match"] = "exact"
            continue
        key = (line["work"], line["licensee"], line["model"], line["purpose"],
               line["usage_period"], line["unit"])
        found = sorted(similar.get(key, []))
        exact = line["events"] - sum(events for _, events, _ in found)
        parts = [f"{method} ≤{distance}: {events}" if distance is not None
                 else f"{method}: {events}" for method, events, distance in found]
        if exact > 0 or not parts:
            parts.append("exact" if not parts else f"exact: {exact}")
        line["match"] = ", ".join(parts)


def readers_details(conn: psycopg.Connection, data: dict) -> dict:
    """What a person reads beside a statement (tables and pages, not the JSON of contract
    §7): each work's title, and the payouts made in the period."""
    start, end = period_bounds(data["period"])
    works = sorted({line["work"] for line in data["lines"] if line["work"]})
    titles = dict(conn.execute(sql.WORK_TITLES, (works,)).fetchall())
    creator = creator_row(conn, data["creator"])
    payouts = conn.cursor(row_factory=dict_row).execute(sql.CREATOR_PAYOUTS, {
        "creator": creator["id"], "currency": data["currency"], "start": start,
        "end": end}).fetchall()
    return {"titles": titles, "payouts": payouts}


def rate(line: dict) -> Decimal | None:
    """The creator's amount per unit on a line: quantity × rate = amount, to check."""
    quantity = Decimal(line["quantity"] or 0)
    if not quantity:
        return None
    return (Decimal(line["amount"]) / quantity).quantize(NANO).normalize()
