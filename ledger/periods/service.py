"""Which license-periods are due, closing them one transaction each, re-allocating closed
ones that something touched since, and the list of periods (``royalty periods``)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta

import psycopg

from ledger import locks
from ledger.errors import InvalidInput, RowError
from ledger.periods import close as closing
from ledger.periods import rules, sql
from ledger.periods.close import Deal, Run


def _selected(deal: Deal, period: rules.Period, within: rules.Period | None) -> bool:
    return within is None or within.starts_at <= period.starts_at < within.ends_at


def due(conn: psycopg.Connection, *, now: datetime, grace: timedelta,
        license_key: str | None = None, within: rules.Period | None = None
        ) -> list[tuple[Deal, rules.Period]]:
    """Open license-periods whose end plus ``grace`` has passed (of one license, and
    starting within one period, when given)."""
    found = closing.deals(conn, license_key)
    if license_key is not None and not found:
        raise InvalidInput([RowError(0, f"no license {license_key!r} settled by period "
                                        "(pool, revenue_share or a minimum)")])
    closed = closing.closed_periods(conn, [d.id for d in found])
    return [(deal, period) for deal in found for period in deal.periods(now)
            if (deal.id, period.starts_at) not in closed and _selected(deal, period, within)
            and period.ends_at + grace <= now]


def close_due(conn: psycopg.Connection, *, now: datetime, grace: timedelta,
              license_key: str | None = None, within: rules.Period | None = None,
              progress=None) -> list[Run]:  # noqa: ANN001 - a callable or None
    """Close every due period, each in a transaction of its own (committed): what was
    booked. A period another worker closed meanwhile is skipped."""
    done = []
    todo = due(conn, now=now, grace=grace, license_key=license_key, within=within)
    conn.commit()
    for deal, period in todo:
        run = closing.close(conn, deal, period)
        conn.commit()
        if run is not None:
            done.append(run)
        if progress is not None:
            progress(deal, period)
    return done


def not_ended(conn: psycopg.Connection, *, now: datetime, license_key: str | None,
              within: rules.Period) -> list[str]:
    """The selected periods that have not ended yet, as ``license period`` (for a clear
    refusal when a user asks to close them)."""
    return [f"{deal.key} {period.label}" for deal in closing.deals(conn, license_key)
            for period in deal.periods(within.ends_at)
            if _selected(deal, period, within) and period.ends_at > now]


def reallocate_stale(conn: psycopg.Connection) -> list[Run]:
    """Re-allocate every closed period that a late event, a re-evaluation or a late
    revenue report touched since its last run, in one transaction (committed)."""
    locks.hold(conn, locks.PERIOD_LOCK)
    locks.hold(conn, locks.CATALOG_LOCK)
    stale = conn.execute(sql.STALE).fetchall()
    by_id = {deal.id: deal for deal in closing.deals(conn)}
    done = []
    for _, license_id, starts_at, _ends_at in stale:
        deal = by_id.get(license_id)
        if deal is None:  # re-imported since as a plain per-unit license: nothing to settle
            continue
        run = closing.reallocate(conn, deal, rules.period_of(deal.kind, starts_at))
        if run is not None:
            done.append(run)
    marks = conn.execute(sql.MARKS).fetchone()
    conn.execute(sql.ADVANCE_MARKS, {"event_mark": marks[0], "reevaluation_mark": marks[1],
                                     "revenue_mark": marks[2],
                                     "stale": [row[0] for row in stale]})
    conn.commit()
    return done


def listing(conn: psycopg.Connection, *, now: datetime, license_key: str | None = None
            ) -> list[dict]:
    """Each license-period up to now: its state (open, closed, adjusted) and figures; an
    open period's figures are as of now."""
    found = closing.deals(conn, license_key)
    if license_key is not None and not found:
        raise InvalidInput([RowError(0, f"no license {license_key!r} settled by period "
                                        "(pool, revenue_share or a minimum)")])
    closed = closing.closed_periods(conn, [d.id for d in found])
    rows = []
    for deal in found:
        for period in deal.periods(now):
            row = closed.get((deal.id, period.starts_at))
            if row is None:
                events, quantity, revenue, pool = closing.figures(conn, deal, period)
                row = {"state": "open", "events": events, "quantity": quantity,
                       "revenue": revenue, "pool": pool, "allocated": 0, "unallocated": 0}
            rows.append({"license": deal.key, "licensee": deal.licensee,
                         "period": period.label, "state": row["state"],
                         "currency": deal.currency, "events": row["events"],
                         "quantity": row["quantity"], "revenue": row["revenue"],
                         "pool": row["pool"], "allocated": row["allocated"],
                         "unallocated": row["unallocated"]})
    return rows


def summary(run: Run) -> dict:
    return asdict(run)
