"""Compare the ledger's payouts with the transfers the provider lists (contract §7)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import psycopg
from psycopg.rows import dict_row

from ledger.errors import InvalidInput, RowError
from ledger.payouts import service, sql
from ledger.payouts.providers import PayoutProvider


@dataclass
class Reconciliation:
    checked: int = 0
    settled: int = 0
    reversed: int = 0
    problems: list[dict] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def _period_bounds(period: str) -> tuple[datetime, datetime]:
    try:
        start = datetime.strptime(period, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise InvalidInput([RowError(0, f"--period {period!r} is not YYYY-MM")]) from None
    end = start.replace(year=start.year + start.month // 12, month=start.month % 12 + 1)
    return start, end


def reconcile(conn: psycopg.Connection, provider: PayoutProvider, *, run_id: int | None = None,
              period: str | None = None) -> Reconciliation:
    """Settle payouts still in flight, apply reversals the provider reports, then list every
    disagreement: missing, extra, amount mismatch, reversed."""
    result = Reconciliation()
    result.settled = service.settle_in_flight(conn, provider)
    params = {"run": run_id, "start": None, "end": None}
    if run_id is None and period is not None:
        params["start"], params["end"] = _period_bounds(period)
    payouts = conn.cursor(row_factory=dict_row).execute(sql.PAYOUTS_TO_RECONCILE,
                                                        params).fetchall()
    groups = sorted({p["transfer_group"] for p in payouts}) if run_id is not None or period \
        else None
    transfers = []
    for group in groups if groups is not None else [None]:
        transfers += provider.find_transfers(transfer_group=group)
    ours = {t.metadata.get("payout_id"): t for t in transfers if t.metadata.get("payout_id")}
    result.checked = len(payouts)
    for payout in payouts:
        transfer = ours.pop(str(payout["id"]), None)
        line = {"payout": payout["id"], "creator": payout["creator"],
                "currency": payout["currency"], "ledger_status": payout["status"],
                "ledger_amount": payout["amount_minor"],
                "provider_amount": transfer.amount if transfer else None}
        if transfer is None:
            if payout["status"] in ("paid", "reversed", "submitted"):
                result.problems.append({**line, "problem": "missing at provider"})
            continue
        if payout["status"] in ("failed",):
            result.problems.append({**line, "problem": "extra: provider paid a failed payout"})
        elif transfer.amount != payout["amount_minor"]:
            result.problems.append({**line, "problem": "amount mismatch"})
        elif transfer.amount_reversed > payout["reversed_minor"]:
            service.reverse(conn, payout, transfer)
            conn.commit()
            result.reversed += 1
    for payout_id, transfer in ours.items():
        if run_id is None and period is None or transfer.transfer_group in (groups or []):
            result.problems.append({"payout": payout_id, "creator": transfer.metadata.get(
                "creator"), "currency": transfer.currency, "ledger_status": None,
                "ledger_amount": None, "provider_amount": transfer.amount,
                "problem": "extra: transfer the ledger does not know"})
    return result
