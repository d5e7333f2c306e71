"""Payout runs (contract §5): pay every creator whose balance, floored to the currency's
minor unit, reaches its threshold, one transfer per creator and currency per run.

Never twice: the amount is held (and the payout row committed, with its idempotency key)
before the provider is called; an unclear answer leaves the payout in flight until the
provider's own records settle it; a refused one is released and retried on a later run
under a new payout, hence a new key.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

import psycopg
from psycopg.rows import dict_row

from ledger.errors import LedgerError
from ledger.money import minor_exponent, payable, to_minor_units
from ledger.payouts import entries
from ledger.payouts.providers import Ambiguous, Definitive, PayoutProvider, Transfer

PAYOUT_LOCK = 7262004

BALANCES = """
SELECT c.id AS creator_id, c.key AS creator, c.stripe_account, c.payouts_enabled, a.currency,
       coalesce(c.payout_threshold, %(threshold)s) AS threshold, -sum(p.amount) AS balance,
       EXISTS (SELECT 1 FROM payout o WHERE o.creator_id = c.id AND o.currency = a.currency
               AND o.status = 'submitted') AS in_flight
FROM account a JOIN creator c ON c.id = a.owner_id JOIN posting p ON p.account_id = a.id
WHERE a.kind = 'creator_payable'
GROUP BY c.id, a.currency ORDER BY c.key, a.currency
"""


@dataclass
class Candidate:
    creator_id: int
    creator: str
    currency: str
    balance: Decimal
    amount: Decimal
    destination: str | None
    reason: str | None = None  # why it is not paid this run


@dataclass
class RunSummary:
    provider: str
    sandbox: bool
    dry_run: bool
    run_id: int | None = None
    paid: list[dict] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    in_flight: list[dict] = field(default_factory=list)
    skipped: list[Candidate] = field(default_factory=list)
    to_pay: list[Candidate] = field(default_factory=list)


def candidates(conn: psycopg.Connection, provider: PayoutProvider, threshold: Decimal
               ) -> list[Candidate]:
    found = []
    for row in conn.cursor(row_factory=dict_row).execute(BALANCES, {"threshold": threshold}):
        amount = payable(row["balance"], row["currency"])
        destination = row["stripe_account"] or (
            f"acct_sandbox_{row['creator']}" if provider.sandbox else None)
        candidate = Candidate(row["creator_id"], row["creator"], row["currency"],
                              row["balance"], amount, destination)
        if row["in_flight"]:
            candidate.reason = "a payout is still in flight"
        elif amount <= 0 or amount < row["threshold"]:
            candidate.reason = f"below threshold {row['threshold']:f}"
        elif destination is None:
            candidate.reason = "no payout account (run `royalty creators onboard`)"
        elif not provider.sandbox and not row["payouts_enabled"]:
            candidate.reason = "payout account cannot receive payouts yet"
        found.append(candidate)
    return found


def run(conn: psycopg.Connection, provider: PayoutProvider, *, threshold: Decimal,
        dry_run: bool = False, progress: Callable[[Candidate], None] | None = None
        ) -> RunSummary:
    """One payout run. Refuses to start while another run holds the payout lock."""
    summary = RunSummary(provider.name, provider.sandbox, dry_run)
    if not conn.execute("SELECT pg_try_advisory_lock(%s)", (PAYOUT_LOCK,)).fetchone()[0]:
        conn.rollback()
        raise LedgerError("another payout run is in progress; try again when it has finished")
    try:
        conn.commit()
        if not dry_run:
            settle_in_flight(conn, provider, summary)
        for candidate in candidates(conn, provider, threshold):
            (summary.skipped if candidate.reason else summary.to_pay).append(candidate)
        conn.commit()
        if dry_run or not summary.to_pay:
            return summary
        summary.run_id = _next_id(conn, "payout_run")
        conn.execute("INSERT INTO payout_run (id, provider, transfer_group) VALUES (%s, %s, %s)",
                     (summary.run_id, provider.name, f"royalty-run-{summary.run_id}"))
        conn.commit()
        for candidate in summary.to_pay:
            _pay(conn, provider, summary, candidate)
            if progress is not None:
                progress(candidate)
        conn.execute("UPDATE payout_run SET finished_at = now() WHERE id = %s",
                     (summary.run_id,))
        conn.commit()
        return summary
    finally:
        conn.rollback()
        conn.execute("SELECT pg_advisory_unlock(%s)", (PAYOUT_LOCK,))
        conn.commit()


def _pay(conn: psycopg.Connection, provider: PayoutProvider, summary: RunSummary,
         candidate: Candidate) -> None:
    # Phase one, committed before the provider hears of it: the payout and its hold.
    # The key is the payout's own id: deterministic, and new for every attempt.
    payout_id = _next_id(conn, "payout")
    conn.execute("""
        INSERT INTO payout (id, run_id, creator_id, currency, amount, amount_minor, destination,
                            status, idempotency_key)
        VALUES (%s, %s, %s, %s, %s, %s, %s, 'submitted', %s)""",
                 (payout_id, summary.run_id, candidate.creator_id, candidate.currency,
                  candidate.amount, to_minor_units(candidate.amount, candidate.currency),
                  candidate.destination, f"royalty-payout-{payout_id}"))
    entries.record(conn, "payout_hold", payout_id=payout_id, creator_id=candidate.creator_id,
                   currency=candidate.currency, amount=candidate.amount)
    conn.commit()
    _attempt(conn, provider, _payout(conn, payout_id), summary)


def _next_id(conn: psycopg.Connection, table: str) -> int:
    return conn.execute("SELECT nextval(pg_get_serial_sequence(%s, 'id'))", (table,)
                        ).fetchone()[0]


def _payout(conn: psycopg.Connection, payout_id: int) -> dict:
    return conn.cursor(row_factory=dict_row).execute("""
        SELECT o.*, c.key AS creator, r.transfer_group FROM payout o
        JOIN creator c ON c.id = o.creator_id JOIN payout_run r ON r.id = o.run_id
        WHERE o.id = %s""", (payout_id,)).fetchone()


def _attempt(conn: psycopg.Connection, provider: PayoutProvider, payout: dict,
             summary: RunSummary) -> None:
    """Ask the provider (same idempotency key every time for this payout), then settle."""
    try:
        transfer = provider.create_transfer(
            amount=payout["amount_minor"], currency=payout["currency"],
            destination=payout["destination"], transfer_group=payout["transfer_group"],
            metadata={"payout_id": str(payout["id"]), "creator": payout["creator"],
                      "run_id": str(payout["run_id"])},
            idempotency_key=payout["idempotency_key"])
    except Definitive as exc:
        fail(conn, payout, str(exc))
        summary.failed.append(_line(payout, str(exc)))
        return
    except Ambiguous as exc:
        found = _find(provider, payout)
        if found is None:
            conn.execute("UPDATE payout SET failure = %s, updated_at = now() WHERE id = %s",
                         (f"unclear, will be settled later: {exc}", payout["id"]))
            conn.commit()
            summary.in_flight.append(_line(payout, str(exc)))
            return
        transfer = found
    mark_paid(conn, payout, transfer)
    summary.paid.append(_line(payout, None, transfer.id))


def _line(payout: dict, reason: str | None, transfer_id: str | None = None) -> dict:
    return {"payout": payout["id"], "creator": payout["creator"],
            "currency": payout["currency"], "amount": payout["amount"],
            "transfer": transfer_id, "reason": reason}


def _find(provider: PayoutProvider, payout: dict) -> Transfer | None:
    """The provider's transfer for this payout, if it made one."""
    try:
        transfers = provider.find_transfers(transfer_group=payout["transfer_group"])
    except (Ambiguous, Definitive):
        return None
    for transfer in transfers:
        if transfer.metadata.get("payout_id") == str(payout["id"]):
            return transfer
    return None


def mark_paid(conn: psycopg.Connection, payout: dict, transfer: Transfer, *,
              commit: bool = True) -> None:
    """Phase two: the provider confirmed. Idempotent."""
    updated = conn.execute("""
        UPDATE payout SET status = 'paid', transfer_id = %s, failure = NULL, updated_at = now()
        WHERE id = %s AND status = 'submitted'""", (transfer.id, payout["id"])).rowcount
    if updated:
        entries.record(conn, "payout_post", payout_id=payout["id"],
                       creator_id=payout["creator_id"], currency=payout["currency"],
                       amount=payout["amount"])
    if commit:
        conn.commit()


def fail(conn: psycopg.Connection, payout: dict, reason: str) -> None:
    """The provider refused: release the hold; the balance is paid on a later run."""
    updated = conn.execute("""
        UPDATE payout SET status = 'failed', failure = %s, updated_at = now()
        WHERE id = %s AND status = 'submitted'""", (reason, payout["id"])).rowcount
    if updated:
        entries.record(conn, "payout_release", payout_id=payout["id"],
                       creator_id=payout["creator_id"], currency=payout["currency"],
                       amount=payout["amount"])
    conn.commit()


def reverse(conn: psycopg.Connection, payout: dict, transfer: Transfer) -> Decimal:
    """The transfer was (partly) reversed: give that much back to the creator's balance."""
    new_minor = transfer.amount_reversed - payout["reversed_minor"]
    if new_minor <= 0 or payout["status"] not in ("paid", "reversed"):
        return Decimal(0)
    amount = Decimal(new_minor).scaleb(-minor_exponent(payout["currency"]))
    conn.execute("""UPDATE payout SET reversed_minor = %s, updated_at = now(),
                    status = CASE WHEN %s >= amount_minor THEN 'reversed' ELSE status END
                    WHERE id = %s""", (transfer.amount_reversed, transfer.amount_reversed,
                                       payout["id"]))
    entries.record(conn, "payout_reversal", payout_id=payout["id"],
                   creator_id=payout["creator_id"], currency=payout["currency"], amount=amount)
    return amount


def settle_in_flight(conn: psycopg.Connection, provider: PayoutProvider,
                     summary: RunSummary | None = None) -> int:
    """Settle payouts whose outcome was unclear: the provider's records decide; with no
    record, the same request is sent again under the same key."""
    rows = conn.execute("SELECT id FROM payout WHERE status = 'submitted' ORDER BY id").fetchall()
    conn.commit()
    summary = summary or RunSummary(provider.name, provider.sandbox, False)
    for (payout_id,) in rows:
        payout = _payout(conn, payout_id)
        found = _find(provider, payout)
        if found is not None:
            mark_paid(conn, payout, found)
            summary.paid.append(_line(payout, "settled", found.id))
        else:
            _attempt(conn, provider, payout, summary)
    return len(rows)
