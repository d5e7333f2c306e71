"""Usage for period tests, and the allocation of contract §9 computed independently with
Decimal (not with the code under test)."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, Decimal, localcontext

import orjson

from ledger.ingest import store
from ledger.ingest.events import BATCH
from tests.builders import NANO, expected_parts, sha
from tests.ingest_helpers import usage

D = Decimal


def ingest(ledger, events: list[dict]) -> None:
    with ledger.connect() as conn:
        result = store.ingest(conn, [store.Message(orjson.dumps(events), BATCH)],
                              licensees=store.licensee_ids(conn), max_message_bytes=10**7)
        conn.commit()
    assert result.accepted == len(events)


def use(event_id: str, work: str, at: str, quantity: str = "1", **data) -> dict:
    return usage(event_id, item={"sha256": sha(work)}, time_=at, quantity=quantity, **data)


def expected_allocation(pool: D, uses: list[tuple[str, str, str]]) -> dict[tuple[str, str], D]:
    """(source, id, quantity) → gross: floor at 9 dp of pool × q / Σq, then the leftover
    1e-9 units to the largest remainders, ties by (source, id)."""
    with localcontext() as ctx:
        ctx.prec = 100
        units = pool / NANO
        total = sum(D(q) for _, _, q in uses)
        if total == 0:
            return {}
        floor = {(s, i): (units * D(q)) // total for s, i, q in uses}
        remainder = {(s, i): (units * D(q)) % total for s, i, q in uses}
        leftover = int(units - sum(floor.values()))
        order = sorted(floor, key=lambda k: (-remainder[k], k))
        return {k: (floor[k] + (1 if order.index(k) < leftover else 0)) * NANO for k in floor}


def creator_parts(gross: D, fee: str, shares: dict[str, str]) -> dict[str, D]:
    net = gross - (gross * D(fee)).quantize(NANO, rounding=ROUND_HALF_EVEN)
    return expected_parts(net, shares)


def balances(cli) -> dict[tuple[str, str], D]:
    rows = json.loads(cli("report", "balances", "--format", "json").stdout)
    return {(r["creator"], r["currency"]): D(r["balance"]) for r in rows}


def trial_balance_is_zero(cli) -> bool:
    rows = json.loads(cli("report", "trial-balance", "--format", "json").stdout)
    totals: dict[str, D] = {}
    for r in rows:
        totals[r["currency"]] = totals.get(r["currency"], D(0)) + D(r["balance"])
    return bool(rows) and all(v == 0 for v in totals.values())
