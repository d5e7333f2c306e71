"""Payout runs (contract §5): pay every creator whose balance, floored to the currency's
minor unit, reaches its threshold, one transfer per creator and currency per run.

Never twice: the amount is held (and the payout row committed, with its idempotency key)
before the provider is called; an unclear answer leaves the payout in flight until the
provider's own records settle it; a refused one is released and retried on a later run
under a new payout, hence a new key.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import psycopg
from psycopg.rows import dict_row

from ledger import locks
from ledger.errors import LedgerError
from ledger.accounting.money import minor_exponent, payable, to_minor_units
from ledger.payouts import accounts, entries, sql
from ledger.payouts.providers import (
    Ambiguous, Definitive, PayoutProvider, Replayed, Transfer,
)



# Why a creator is not paid, as counted in a run's summary (the key is what scripts read).
REASONS = {
    "in_flight": "payout in flight",
    "other_currency": "held in another currency",
    "below_threshold": "below threshold",
    "no_account": "no account",
    "other_provider": "account of the other provider",
    "account_unavailable": "account state unavailable",
    "cannot_receive": "cannot receive payouts",
}


@dataclass
class Candidate:
    creator_id: int
    creator: str
    currency: str
    balance: Decimal
    amount: Decimal
    destination: str | None
    reason: str | None = None  # why it is not paid this run, in words
    code: str | None = None  # the same, as a key of REASONS
    checked_at: datetime | None = None

    def skip(self, code: str, reason: str) -> None:
        self.code, self.reason = code, reason


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

    def counts(self) -> dict[str, int]:
        """Creators not paid, by reason (only reasons that occur)."""
        found: dict[str, int] = {}
        for candidate in self.skipped:
            found[candidate.code] = found.get(candidate.code, 0) + 1
        return {code: found[code] for code in REASONS if code in found}


def candidates(conn: psycopg.Connection, provider: PayoutProvider, threshold: Decimal,
               account_errors: dict[str, str] | None = None) -> list[Candidate]:
    """Every creator balance, each with why it is not paid now (None: it is due)."""
    found = []
    for row in conn.cursor(row_factory=dict_row).execute(sql.BALANCES, {"threshold": threshold}):
        amount = payable(row["balance"], row["currency"])
        account = row["stripe_account"]
        candidate = Candidate(row["creator_id"], row["creator"], row["currency"],
                              row["balance"], amount, account,
                              checked_at=row["account_updated_at"])
        found.append(candidate)
        if row["in_flight"]:
            candidate.skip("in_flight", f"payout {row['in_flight']} is still in flight")
        elif row["currency"] != row["paid_in"]:
            candidate.skip("other_currency", f"held: {row['creator']} is paid in "
                           f"{row['paid_in']}; {row['currency']} is never converted")
        elif amount <= 0 or amount < row["threshold"]:
            candidate.skip("below_threshold", f"below threshold: {amount:f} of "
                           f"{row['threshold']:f} {row['currency']}")
        elif account is None:
            candidate.skip("no_account", f"no payout account (run `royalty creators "
                           f"onboard {row['creator']}`)")
        elif why := accounts.other_provider(provider, account):
            candidate.skip("other_provider", why)
        elif account in (account_errors or {}):
            candidate.skip("account_unavailable", f"account state could not be fetched: "
                           f"{account_errors[account]}")
        elif not row["payouts_enabled"]:
            needs = ", ".join(row["requirements_due"]) or "nothing listed"
            candidate.skip("cannot_receive", f"account {account} cannot receive payouts "
                           f"{'yet' if row['account_updated_at'] else '(never checked)'}; "
                           f"still needs: {needs}")
    return found


def _stale(found: list[Candidate], max_age: float) -> set[str]:
    """Accounts of creators due but for their account's state, whose state was never
    fetched or is older than ``max_age`` seconds."""
    limit = datetime.now(UTC) - timedelta(seconds=max_age)
    return {c.destination for c in found
            if c.code in (None, "cannot_receive") and c.destination
            and (c.checked_at is None or c.checked_at < limit)}


def run(conn: psycopg.Connection, provider: PayoutProvider, *, threshold: Decimal,
        dry_run: bool = False, progress: Callable[[dict], None] | None = None,
        concurrency: int = 8, commit_every: int = 200, account_max_age: float = 3600,
        started: Callable[[int], None] | None = None) -> RunSummary:
    """One payout run. Refuses to start while another run holds the payout lock.
    ``started`` hears how many payouts the run is about to send."""
    summary = RunSummary(provider.name, provider.sandbox, dry_run)
    if not locks.try_acquire(conn, locks.PAYOUT_RUN_LOCK):
        conn.rollback()
        raise LedgerError("another payout run is in progress; try again when it has finished")
    try:
        conn.commit()
        if not dry_run:
            settle_in_flight(conn, provider, summary)
        # Decide on account states fetched now, not on what an import or a webhook
        # may never have told.
        errors = accounts.fetch_all(
            conn, provider, _stale(candidates(conn, provider, threshold), account_max_age),
            concurrency=concurrency)
        for candidate in candidates(conn, provider, threshold, errors):
            (summary.skipped if candidate.reason else summary.to_pay).append(candidate)
        conn.commit()
        if dry_run or not summary.to_pay:
            return summary
        if started is not None:
            started(len(summary.to_pay))
        summary.run_id = conn.execute(sql.NEXT_RUN_ID).fetchone()[0]
        conn.execute(sql.INSERT_RUN,
                     (summary.run_id, provider.name, f"royalty-run-{summary.run_id}"))
        payouts = _hold(conn, summary.run_id, summary.to_pay)
        conn.commit()  # phase one is durable before the provider hears of any payout
        _submit(conn, provider, payouts, summary, progress, concurrency, commit_every)
        conn.execute(sql.FINISH_RUN, (summary.run_id,))
        conn.commit()
        return summary
    finally:
        conn.rollback()
        locks.release(conn, locks.PAYOUT_RUN_LOCK)
        conn.commit()


def _hold(conn: psycopg.Connection, run_id: int, due: list[Candidate]) -> list[dict]:
    """Create the run's payouts, each with its own idempotency key (its id), and hold
    their amounts in one entry."""
    ids = [r[0] for r in conn.execute(sql.NEXT_PAYOUT_IDS, (len(due),)).fetchall()]
    conn.execute(sql.INSERT_PAYOUTS, (run_id, ids, [c.creator_id for c in due], [c.currency for c in due],
          [c.amount for c in due], [to_minor_units(c.amount, c.currency) for c in due],
          [c.destination for c in due]))
    entries.record(conn, "payout_hold", [entries.Move(i, c.creator_id, c.currency, c.amount)
                                         for i, c in zip(ids, due, strict=True)])
    return _payouts(conn, ids)


def _payouts(conn: psycopg.Connection, ids: list[int]) -> list[dict]:
    return conn.cursor(row_factory=dict_row).execute(sql.PAYOUTS, (ids,)).fetchall()


def _ask(provider: PayoutProvider, payout: dict) -> tuple[str, Transfer | str]:
    """Ask the provider (the payout's own idempotency key, every time); what it said."""
    try:
        return "paid", provider.create_transfer(
            amount=payout["amount_minor"], currency=payout["currency"],
            destination=payout["destination"], transfer_group=payout["transfer_group"],
            metadata={"payout_id": str(payout["id"]), "creator": payout["creator"],
                      "run_id": str(payout["run_id"])},
            idempotency_key=payout["idempotency_key"])
    except Definitive as exc:
        return "failed", str(exc)
    except Ambiguous as exc:
        return _after_unclear(provider, payout, exc)


def _after_unclear(provider: PayoutProvider, payout: dict, exc: Ambiguous
                   ) -> tuple[str, Transfer | str]:
    """Look in the provider's list after an unclear answer. Only a replayed error proves
    the first request has finished: then an empty list means no transfer was made."""
    try:
        found = _find(provider, payout)
    except (Ambiguous, Definitive) as listing:
        return "unclear", f"{exc}; and its transfers could not be listed: {listing}"
    if found is not None:
        return "paid", found
    if isinstance(exc, Replayed):
        return "failed", (f"no transfer made: {exc}; none is listed for this payout, so it "
                          f"is released and paid under a new payout")
    return "unclear", f"{exc}; no transfer listed for it yet"


def _submit(conn: psycopg.Connection, provider: PayoutProvider, payouts: list[dict],
            summary: RunSummary, progress: Callable[[dict], None] | None, concurrency: int,
            commit_every: int) -> None:
    """Phase two: transfers requested concurrently, outcomes committed in batches. A crash
    in between leaves payouts in flight; the next run settles them from Stripe's records."""
    batch: list[tuple[dict, str, Transfer | str]] = []
    with ThreadPoolExecutor(max_workers=max(1, concurrency)) as pool:
        futures = {pool.submit(_ask, provider, p): p for p in payouts}
        for future in as_completed(futures):
            payout = futures[future]
            outcome, detail = future.result()
            batch.append((payout, outcome, detail))
            if progress is not None:
                progress(payout)
            if len(batch) >= commit_every:
                _apply(conn, batch, summary)
                batch = []
    _apply(conn, batch, summary)


def _apply(conn: psycopg.Connection, batch: list[tuple[dict, str, Transfer | str]],
           summary: RunSummary | None) -> None:
    paid = [(p, d) for p, o, d in batch if o == "paid"]
    failed = [(p, d) for p, o, d in batch if o == "failed"]
    unclear = [(p, d) for p, o, d in batch if o == "unclear"]
    if paid:
        settled = conn.execute(sql.SETTLE_PAID, (
            [p["id"] for p, _ in paid], [t.id for _, t in paid])).fetchall()
        entries.record(conn, "payout_post", [entries.Move(*row) for row in settled])
    if failed:
        released = conn.execute(sql.SETTLE_FAILED, (
            [p["id"] for p, _ in failed], [r for _, r in failed])).fetchall()
        entries.record(conn, "payout_release", [entries.Move(*row) for row in released])
    for payout, reason in unclear:
        conn.execute(sql.NOTE_UNCLEAR, (reason, payout["id"]))
    conn.commit()
    if summary is not None:
        summary.paid += [_line(p, None, t.id) for p, t in paid]
        summary.failed += [_line(p, r) for p, r in failed]
        summary.in_flight += [_line(p, r) for p, r in unclear]


def _line(payout: dict, reason: str | None, transfer_id: str | None = None) -> dict:
    return {"payout": payout["id"], "creator": payout["creator"],
            "currency": payout["currency"], "amount": payout["amount"],
            "transfer": transfer_id, "reason": reason}


def _find(provider: PayoutProvider, payout: dict) -> Transfer | None:
    """The provider's transfer for this payout, if it made one. Raises when the provider
    cannot list: "could not look" must never read as "nothing there"."""
    for transfer in provider.find_transfers(transfer_group=payout["transfer_group"]):
        if transfer.metadata.get("payout_id") == str(payout["id"]):
            return transfer
    return None


def mark_paid(conn: psycopg.Connection, payout: dict, transfer: Transfer, *,
              commit: bool = True) -> None:
    """Phase two for one payout: the provider confirmed. Idempotent."""
    updated = conn.execute(sql.MARK_PAID, (transfer.id, payout["id"])).rowcount
    if updated:
        entries.record(conn, "payout_post", [entries.Move(
            payout["id"], payout["creator_id"], payout["currency"], payout["amount"])])
    if commit:
        conn.commit()


def reverse(conn: psycopg.Connection, payout: dict, transfer: Transfer) -> Decimal:
    """The transfer was (partly) reversed: give that much back to the creator's balance."""
    new_minor = transfer.amount_reversed - payout["reversed_minor"]
    if new_minor <= 0 or payout["status"] not in ("paid", "reversed"):
        return Decimal(0)
    amount = Decimal(new_minor).scaleb(-minor_exponent(payout["currency"]))
    conn.execute(sql.MARK_REVERSED, (transfer.amount_reversed, transfer.amount_reversed,
                                     payout["id"]))
    entries.record(conn, "payout_reversal", [entries.Move(
        payout["id"], payout["creator_id"], payout["currency"], amount)])
    return amount


def settle_in_flight(conn: psycopg.Connection, provider: PayoutProvider,
                     summary: RunSummary | None = None) -> int:
    """Settle payouts whose outcome was unclear: the provider's records decide; with no
    record, the same request is sent again under the same key."""
    ids = [r[0] for r in conn.execute(sql.IN_FLIGHT).fetchall()]
    conn.commit()
    if ids:
        _apply(conn, [(p, *_settle(provider, p)) for p in _payouts(conn, ids)], summary)
    return len(ids)


def _settle(provider: PayoutProvider, payout: dict) -> tuple[str, Transfer | str]:
    """Look before asking again: an idempotency key expires after a day, a transfer does
    not, so without a list to look at the request is not sent again."""
    try:
        found = _find(provider, payout)
    except (Ambiguous, Definitive) as exc:
        return "unclear", (f"its transfers could not be listed, so the request is not sent "
                           f"again yet: {exc}")
    return ("paid", found) if found is not None else _ask(provider, payout)


def list_payouts(conn: psycopg.Connection, run: int | None = None) -> list[dict]:
    """Every payout (of one run), oldest first."""
    return conn.cursor(row_factory=dict_row).execute(sql.LIST_PAYOUTS, {"run": run}).fetchall()


def run_exists(conn: psycopg.Connection, run_id: int) -> bool:
    return conn.execute(sql.RUN_EXISTS, (run_id,)).fetchone()[0]
