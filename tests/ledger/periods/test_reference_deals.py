"""A mixed scenario of deals (contract §9) through the real ingest, CLI and re-evaluation:
every creator's balance, in each currency, compared to the last 1e-9 with amounts computed
here independently with Decimal.

Several licenses of each type; a minimum that binds and one that does not; a per-unit
minimum's shortfall; a period with no events (unallocated); a license starting
mid-quarter; a late event after close; a late revenue report; a work registered after
close (re-allocation); two currencies."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, Decimal

import pytest

from ledger.matching import reevaluation
from ledger.periods import service
from tests.builders import (
    NANO, creator, deal, expected_net, expected_parts, jsonl, licensee, work,
)
from tests.ledger.periods.helpers import balances, expected_allocation, ingest, use

D = Decimal
SOURCE = "urn:acme-ai:pipeline:test"
W1, W2, W3 = {"alice": "1"}, {"alice": "0.7", "bob": "0.3"}, {"bob": "0.4", "carol": "0.6"}
SHARES = {"w1": W1, "w2": W2, "w3": W3}

POOL = deal("acme-pool", {"type": "pool", "amount": "900.00", "period": "quarter",
                          "unit": "uses"}, "acme",
            valid_from="2026-02-15T00:00:00Z", valid_until="2026-07-01T00:00:00Z", fee="0.1")
SHARE = deal("lumen-share", {"type": "revenue_share", "share": "0.3", "period": "month",
                             "unit": "uses", "minimum": {"amount": "50", "period": "month"}},
             "lumen", purposes=["ai-input"], currency="EUR",
             valid_from="2026-01-01T00:00:00Z", valid_until="2026-04-01T00:00:00Z", fee="0.2")
UNIT = deal("kite-unit", {"type": "per_unit", "unit": "uses", "price": "0.01",
                          "minimum": {"amount": "20", "period": "quarter"}}, "kite",
            valid_from="2026-01-01T00:00:00Z", valid_until="2026-04-01T00:00:00Z", fee="0.15")
UNIT_LOOSE = deal("kite-unit-2", {"type": "per_unit", "unit": "tokens", "price": "0.5",
                                  "minimum": {"amount": "1", "period": "year"}}, "kite",
                  purposes=["ai-index"], valid_from="2025-01-01T00:00:00Z",
                  valid_until="2025-04-01T00:00:00Z", fee="0")

# (id, licensee, work, purpose, time, quantity, unit)
EVENTS = [
    ("a0", "acme", "w1", "ai-train", "2026-02-01T00:00:00Z", "1", "uses"),  # before validity
    ("a1", "acme", "w1", "ai-train", "2026-02-20T00:00:00Z", "1", "uses"),
    ("a2", "acme", "w2", "ai-train", "2026-03-01T00:00:00Z", "2", "uses"),
    ("a3", "acme", "w3", "ai-train", "2026-03-10T00:00:00Z", "1", "uses"),  # w3: registered late
    ("l1", "lumen", "w1", "ai-input", "2026-01-05T00:00:00Z", "3", "uses"),
    ("l2", "lumen", "w2", "ai-input", "2026-01-20T00:00:00Z", "1", "uses"),
    ("l3", "lumen", "w2", "ai-input", "2026-02-03T00:00:00Z", "5", "uses"),
    ("l4", "lumen", "w1", "ai-input", "2026-03-03T00:00:00Z", "2", "uses"),
    ("k1", "kite", "w1", "ai-train", "2026-01-10T00:00:00Z", "100", "uses"),
    ("k2", "kite", "w2", "ai-train", "2026-02-10T00:00:00Z", "50", "uses"),
    ("k3", "kite", "w2", "ai-index", "2025-02-11T00:00:00Z", "7", "tokens"),
]
LATE_EVENT = ("a4", "acme", "w2", "ai-train", "2026-03-15T00:00:00Z", "1", "uses")
REVENUE = {"2026-01": "1000", "2026-02": "100", "2026-03": "200"}


def revenue_report(event_id: str, period: str, amount: str) -> dict:
    return {"specversion": "1.0", "type": "io.royaltyledger.revenue.v1",
            "source": "urn:lumen:finance", "id": event_id, "time": "2026-04-01T00:00:00Z",
            "data": {"licensee": "lumen", "license": "lumen-share", "period": period,
                     "amount": amount, "currency": "EUR"}}


def events_of(rows: list[tuple]) -> list[dict]:
    return [use(eid, w, at, q, licensee=lic, purpose=purpose, unit=unit)
            for eid, lic, w, purpose, at, q, unit in rows]


def fee_of(gross: D, fee: str) -> D:
    return (gross * D(fee)).quantize(NANO, rounding=ROUND_HALF_EVEN)


class Expected:
    """Balances built up here, from the contract's rules, with Decimal."""

    def __init__(self) -> None:
        self.owed: dict[tuple[str, str], D] = {}

    def add(self, parts: dict[str, D], currency: str) -> None:
        for who, part in parts.items():
            self.owed[(who, currency)] = self.owed.get((who, currency), D(0)) + part

    def allocate(self, pool: D, uses: list[tuple[str, str, str]], fee: str,
                 currency: str) -> None:
        """uses: (id, work, quantity)."""
        grosses = expected_allocation(pool, [(SOURCE, i, q) for i, _, q in uses])
        for event_id, work_key, _ in uses:
            gross = grosses[(SOURCE, event_id)]
            self.add(expected_parts(gross - fee_of(gross, fee), SHARES[work_key]), currency)

    def result(self) -> dict[tuple[str, str], D]:
        return {k: v for k, v in self.owed.items() if v}


def expected(after_late: bool) -> dict[tuple[str, str], D]:
    e = Expected()
    # acme: Q1 (the license starts mid-quarter: a0 is unlicensed; the pool is not
    # prorated); Q2 has no events: its pool is unallocated, given to nobody.
    acme = [("a1", "w1", "1"), ("a2", "w2", "2")]
    if after_late:
        acme += [("a3", "w3", "1"), ("a4", "w2", "1")]
    e.allocate(D("900.00"), acme, "0.1", "USD")
    # lumen, monthly, minimum 50 EUR: January 0.3 × 1000 = 300 (the minimum does not
    # bind); February 0.3 × 100 = 30 → 50 (it binds); March 0.3 × 200 = 60, then with the
    # late report 0.3 × 700 = 210.
    e.allocate(D(300), [("l1", "w1", "3"), ("l2", "w2", "1")], "0.2", "EUR")
    e.allocate(D(50), [("l3", "w2", "5")], "0.2", "EUR")
    e.allocate(D(210) if after_late else D(60), [("l4", "w1", "2")], "0.2", "EUR")
    # kite: per-unit amounts, then the quarter's shortfall of the 20 USD minimum
    earned = D(0)
    for event_id, work_key, quantity in [("k1", "w1", "100"), ("k2", "w2", "50")]:
        e.add(expected_parts(expected_net(quantity, "0.01", "0.15"), SHARES[work_key]), "USD")
        earned += (D(quantity) * D("0.01")).quantize(NANO, rounding=ROUND_HALF_EVEN)
    e.allocate(D(20) - earned, [("k1", "w1", "100"), ("k2", "w2", "50")], "0.15", "USD")
    # kite-unit-2: 7 tokens × 0.5 = 3.5 beats the yearly minimum of 1: no top-up
    e.add(expected_parts(expected_net("7", "0.5", "0"), W2), "USD")
    return e.result()


@pytest.fixture
def deals(cli, ledger):
    assert cli("import", "creators", "-", input=jsonl([
        creator("alice"), creator("bob"), creator("carol", currency="EUR")])).code == 0
    assert cli("import", "licensees", "-", input=jsonl([
        licensee("acme"), licensee("lumen"), licensee("kite")])).code == 0
    assert cli("import", "works", "-", input=jsonl([work("w1", W1), work("w2", W2)])).code == 0
    assert cli("import", "licenses", "-", input=jsonl([POOL, SHARE, UNIT,
                                                       UNIT_LOOSE])).code == 0
    ingest(ledger, events_of(EVENTS))
    assert cli("revenue", "import", "-", input=jsonl([
        revenue_report(f"rev-{period}", period, amount)
        for period, amount in REVENUE.items()])).code == 0
    return cli


def _states(cli) -> dict[tuple[str, str], tuple[str, D, D]]:
    rows = json.loads(cli("periods", "list", "--format", "json").stdout)
    return {(r["license"], r["period"]): (r["state"], D(r["pool"]), D(r["unallocated"]))
            for r in rows}


def test_every_balance_is_exactly_what_the_deals_give(deals, ledger) -> None:
    done = deals("periods", "close")
    assert done.code == 0, done.stderr
    assert balances(deals) == expected(after_late=False)
    states = _states(deals)
    assert states[("acme-pool", "2026-Q2")] == ("closed", D(900), D(900))
    assert states[("lumen-share", "2026-02")] == ("closed", D(50), D(0))
    assert states[("kite-unit", "2026-Q1")] == ("closed", D("18.5"), D(0))
    assert states[("kite-unit-2", "2025")] == ("closed", D(0), D(0))

    # After close: a late event, a late revenue report, a work registered late.
    ingest(ledger, events_of([LATE_EVENT]))
    assert deals("revenue", "import", "-", input=jsonl([
        revenue_report("rev-late", "2026-03", "500")])).code == 0
    assert deals("import", "works", "-", input=jsonl([work("w3", W3)])).code == 0
    with ledger.connect() as conn:
        reevaluation.drain(conn)
        runs = service.reallocate_stale(conn)
    assert sorted((r.license, r.label) for r in runs) == [("acme-pool", "2026-Q1"),
                                                          ("lumen-share", "2026-03")]
    assert balances(deals) == expected(after_late=True)
    states = _states(deals)
    assert states[("acme-pool", "2026-Q1")][0] == "adjusted"
    assert states[("lumen-share", "2026-03")] == ("adjusted", D(210), D(0))

    trial = json.loads(deals("report", "trial-balance", "--format", "json").stdout)
    by_currency: dict[str, D] = {}
    for row in trial:
        by_currency[row["currency"]] = by_currency.get(row["currency"], D(0)) + D(row["balance"])
    assert by_currency == {"USD": 0, "EUR": 0}
    unallocated = {r["owner"]: D(r["balance"]) for r in trial
                   if r["account"] == "license_unallocated"}
    assert unallocated == {"acme-pool": D(-900)}
    with ledger.connect() as conn:
        kinds = dict(conn.execute("SELECT kind, count(*) FROM journal_entry GROUP BY kind"))
    assert kinds["reallocation"] == 2
