"""Closing a license-period and re-allocating a closed one (contract §9), booked through
``ledger.accounting``, in the caller's transaction.

A close books one balanced entry: the licensee's receivable debited the pool P, each
creator credited its part of each event's net, the platform its fees; a pool no event takes
goes to the license's unallocated account. A re-allocation computes the period again from
all its events as a new run and books the new amounts minus the old in an adjustment entry:
nothing booked is edited.

Both take ``PERIOD_LOCK`` (one close or re-allocation at a time: a period closed twice at
once books once) and ``CATALOG_LOCK`` exclusively, so that no ingest batch or
re-evaluation is in flight: everything newer than the marks a run records came after it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

import psycopg
from psycopg.rows import dict_row

from ledger import locks
from ledger.accounting import booking, statement_lines
from ledger.accounting.money import QUANTUM
from ledger.periods import rules, sql


@dataclass(frozen=True)
class Deal:
    """A license settled by period."""

    id: int
    key: str
    licensee_id: int
    licensee: str
    rate: dict
    currency: str
    platform_fee: Decimal
    valid_from: datetime
    valid_until: datetime | None

    @property
    def kind(self) -> str:
        return rules.settle_kind(self.rate)

    @property
    def pooled(self) -> bool:
        """Its uses await the allocation; a per-unit license's minimum tops them up."""
        return self.rate["type"] != "per_unit"

    def periods(self, until: datetime) -> list[rules.Period]:
        return rules.periods_of(self.kind, self.valid_from, self.valid_until, until)


@dataclass(frozen=True)
class Run:
    """What one allocation run of a license-period gave."""

    license: str
    label: str
    run: int
    events: int
    quantity: Decimal
    revenue: Decimal | None
    pool: Decimal
    allocated: Decimal
    unallocated: Decimal
    entry_id: int | None


def deals(conn: psycopg.Connection, license_key: str | None = None) -> list[Deal]:
    with conn.cursor(row_factory=dict_row) as cur:
        return [Deal(id=r["id"], key=r["key"], licensee_id=r["licensee_id"],
                     licensee=r["licensee"], rate=r["rate"], currency=r["currency"],
                     platform_fee=r["platform_fee"], valid_from=r["valid_from"],
                     valid_until=r["valid_until"])
                for r in cur.execute(sql.DEALS, {"license": license_key})]


def closed_periods(conn: psycopg.Connection, license_ids: list[int]) -> dict[tuple, dict]:
    """The closed license-periods of these licenses by (license id, start)."""
    with conn.cursor(row_factory=dict_row) as cur:
        return {(r["license_id"], r["starts_at"]): r
                for r in cur.execute(sql.CLOSED, {"licenses": license_ids})}


def figures(conn: psycopg.Connection, deal: Deal, period: rules.Period
            ) -> tuple[int, Decimal, Decimal | None, Decimal]:
    """A period's events, quantity, revenue (revenue shares) and pool P, as of now."""
    bounds = {"license": deal.id, "starts": period.starts_at, "ends": period.ends_at}
    events, quantity, priced_gross = conn.execute(
        sql.POOLED_FIGURES if deal.pooled else sql.PRICED_FIGURES, bounds).fetchone()
    revenue = None
    if deal.rate["type"] == "revenue_share":
        revenue = conn.execute(sql.REVENUE, bounds).fetchone()[0]
    pool = rules.pool_of(deal.rate, revenue=revenue or Decimal(0), priced_gross=priced_gross)
    return events, quantity, revenue, pool


def close(conn: psycopg.Connection, deal: Deal, period: rules.Period) -> Run | None:
    """Close one license-period and book its allocation; None when it was closed already
    (by another worker or command, perhaps at the same moment)."""
    _lock(conn)
    bounds = {"license": deal.id, "starts": period.starts_at}
    if conn.execute(sql.CLOSED_ONE, bounds).fetchone() is not None:
        return None
    period_id = conn.execute(sql.INSERT_PERIOD, {
        **bounds, "ends": period.ends_at, "label": period.label,
        "currency": deal.currency}).fetchone()[0]
    return _run(conn, deal, period, period_id, 1, None)


def reallocate(conn: psycopg.Connection, deal: Deal, period: rules.Period) -> Run | None:
    """Allocate a closed period again from all its events and book the difference in an
    adjustment entry; None when the period is not closed."""
    _lock(conn)
    with conn.cursor(row_factory=dict_row) as cur:
        before = cur.execute(sql.CLOSED_ONE, {"license": deal.id,
                                              "starts": period.starts_at}).fetchone()
    if before is None:
        return None
    return _run(conn, deal, period, before["id"], before["run"] + 1, before)


def _lock(conn: psycopg.Connection) -> None:
    locks.hold(conn, locks.PERIOD_LOCK)
    locks.hold(conn, locks.CATALOG_LOCK)


def _run(conn: psycopg.Connection, deal: Deal, period: rules.Period, period_id: int, run: int,
         before: dict | None) -> Run:
    marks = conn.execute(sql.MARKS).fetchone()
    events, quantity, revenue, pool = figures(conn, deal, period)
    conn.execute(sql.CREATE_RUN_GROUPS)
    conn.execute(sql.EMPTY_RUN_GROUPS)
    # reserved first, so that the run's rows name their entry as they are inserted
    reserved = booking.next_entry_id(conn)
    conn.execute(sql.ALLOCATE_POOLED if deal.pooled else sql.ALLOCATE_PRICED, {
        "period": period_id, "run": run, "license": deal.id, "starts": period.starts_at,
        "ends": period.ends_at, "units": int(pool / QUANTUM), "fee": deal.platform_fee,
        "currency": deal.currency, "entry": reserved})
    allocated_events, allocated = conn.execute(sql.GROUP_TOTALS).fetchone()
    unallocated = pool - allocated
    entry_id = _book(conn, deal, period, period_id, run, before, unallocated,
                     bool(allocated_events), reserved)
    conn.execute(sql.RECORD_RUN, {
        "period": period_id, "state": "closed" if run == 1 else "adjusted", "run": run,
        "events": events, "quantity": quantity, "revenue": revenue, "pool": pool,
        "allocated": allocated, "unallocated": unallocated, "event_mark": marks[0],
        "reevaluation_mark": marks[1], "revenue_mark": marks[2],
        "entry": entry_id if entry_id is not None else (before or {}).get("entry_id")})
    return Run(deal.key, period.label, run, events, quantity, revenue, pool, allocated,
               unallocated, entry_id)


def _book(conn: psycopg.Connection, deal: Deal, period: rules.Period, period_id: int,
          run: int, before: dict | None, unallocated: Decimal, allocated_rows: bool,
          entry_id: int) -> int | None:
    """The run's entry: its rows booked, the previous run's reversed, and the change in
    what no event took; no entry when there is nothing to book."""
    old_unallocated = before["unallocated"] if before else Decimal(0)
    old_rows = before is not None and before["allocated"] > 0
    if not (allocated_rows or old_rows or unallocated or old_unallocated):
        return None
    kind, what = ("allocation", "closed") if before is None else ("reallocation", "adjusted")
    booking.open_entry(conn, entry_id, kind, f"license {deal.key} period {period.label} {what}")
    if allocated_rows:
        booking.post_groups(conn, entry_id, sql.RUN_GROUPS, 1)
    if old_rows:
        booking.post(conn, entry_id, sql.RUN_ROWS, -1,
                     params={"period": period_id, "run": run - 1})
    if before is not None:  # its statement lines at once (a close's: by the fold)
        statement_lines.add_movements(conn, entry_id, sql.ADD_REALLOCATED_LINES,
                                      {"period": period_id, "run": run})
    change = unallocated - old_unallocated
    if change:
        booking.post_amounts(conn, entry_id, [
            ("licensee_receivable", deal.licensee_id, deal.currency, change),
            ("license_unallocated", deal.id, deal.currency, -change)])
    return entry_id
