"""Celery tasks. Thin: take ids, call ``ledger``, commit."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from celery import Task

from ledger.matching import reevaluation
from ledger.db import HOT_PATH_OPTIONS
from ledger.matching import review, tally
from ledger.payouts import service
from ledger.accounting import statement_lines
from ledger.periods import service as periods
from workers.celery_app import app

log = logging.getLogger(__name__)


class RoyaltyTask(Task):
    """Project base task: late acks, no results, explicit names, and the composition root."""

    acks_late = True
    ignore_result = True

    @property
    def ledger(self):  # noqa: ANN201 - ledger.bootstrap.Ledger
        return self.app.get_ledger()


@app.task(base=RoyaltyTask, bind=True, name="royalty.reevaluate")
def reevaluate(self: RoyaltyTask) -> None:
    """Drain the catalog-change outbox: re-evaluate what imports changed (back-pay)."""
    with self.ledger.connect(options=HOT_PATH_OPTIONS) as conn:
        done = reevaluation.drain(conn)
    if done.changes:
        log.info("re-evaluated %d events for %d catalog changes: %d changed, %d reversed, "
                 "%d booked", done.examined, done.changes, done.changed, done.reversed,
                 done.booked)


@app.task(base=RoyaltyTask, bind=True, name="royalty.tally.compact")
def compact_tally(self: RoyaltyTask) -> None:
    """Fold the usage tally's deltas into one row per key (Celery beat)."""
    with self.ledger.connect() as conn:
        before, after = tally.compact(conn)
    log.info("usage tally compacted: %d rows -> %d", before, after)


@app.task(base=RoyaltyTask, bind=True, name="royalty.statement.fold")
def fold_statement_lines(self: RoyaltyTask) -> None:
    """Fold booking entries into the all-time statement's lines (Celery beat)."""
    with self.ledger.connect() as conn:
        folded = statement_lines.fold(conn)
    if folded:
        log.info("statement lines: %d booking entries folded", folded)


@app.task(base=RoyaltyTask, bind=True, name="royalty.periods.close")
def close_periods(self: RoyaltyTask) -> None:
    """Re-allocate closed periods that late events, revenue or re-evaluations touched,
    then close the periods whose end plus ROYALTY_PERIOD_GRACE has passed (Celery beat)."""
    ledger = self.ledger
    with ledger.connect() as conn:
        adjusted = periods.reallocate_stale(conn)
        closed = periods.close_due(conn, now=datetime.now(UTC),
                                   grace=ledger.settings.period_grace_delta)
    for run in adjusted:
        log.info("period %s of %s re-allocated (run %d): pool %s over %d events",
                 run.label, run.license, run.run, run.pool, run.events)
    for run in closed:
        log.info("period %s of %s closed: pool %s over %d events, %s unallocated",
                 run.label, run.license, run.pool, run.events, run.unallocated)


@app.task(base=RoyaltyTask, bind=True, name="royalty.matches.propose")
def propose_candidates(self: RoyaltyTask) -> None:
    """Propose the fingerprints in suspense near a registered work for review (Celery beat):
    those not looked up before."""
    with self.ledger.connect() as conn:
        proposed = review.propose(conn)
        conn.commit()
    if proposed:
        log.info("%d candidate(s) proposed for review", proposed)


@app.task(base=RoyaltyTask, bind=True, name="royalty.payouts.run")
def run_payouts(self: RoyaltyTask) -> None:
    """The scheduled payout run (Celery beat; ROYALTY_PAYOUT_SCHEDULE)."""
    ledger = self.ledger
    with ledger.connect() as conn:
        summary = service.run(conn, ledger.payout_provider,
                              threshold=ledger.settings.payout_threshold,
                              account_max_age=ledger.settings.payout_account_max_age)
    log.info("payout run %s (%s): %d paid, %d failed, %d in flight; not paid: %s",
             summary.run_id, summary.provider, len(summary.paid), len(summary.failed),
             len(summary.in_flight), summary.counts())
