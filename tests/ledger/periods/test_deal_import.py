"""Licenses with the deal rates of contract §9: accepted, listed, and refused all-or-nothing
with every bad row's line and reason; a pooled use is accrued with nothing booked yet."""

from __future__ import annotations

import json

import orjson
import pytest

from ledger.cli.catalog import describe_rate
from ledger.ingest import store
from ledger.ingest.events import BATCH
from tests.builders import creator, deal, jsonl, licensee, sha, work
from tests.ingest_helpers import usage

POOL = {"type": "pool", "amount": "250000.00", "period": "quarter", "unit": "uses"}
SHARE = {"type": "revenue_share", "share": "0.5", "period": "month", "unit": "tokens",
         "minimum": {"amount": "5000.00", "period": "month"}}
PER_UNIT_MIN = {"type": "per_unit", "unit": "uses", "price": "0.01",
                "minimum": {"amount": "100", "period": "year", "currency": "USD"}}


@pytest.fixture
def parties(cli):
    assert cli("import", "creators", "-", input=jsonl([creator("alice")])).code == 0
    assert cli("import", "licensees", "-", input=jsonl([
        licensee("acme-ai"), licensee("lumen"), licensee("kite")])).code == 0
    assert cli("import", "works", "-", input=jsonl([work("w1")])).code == 0
    return cli


def test_deal_rates_are_imported_and_listed(parties) -> None:
    rows = [deal("pool-q", POOL), deal("share-m", SHARE, "lumen"),
            deal("unit-min", PER_UNIT_MIN, "kite")]
    done = parties("import", "licenses", "-", input=jsonl(rows))
    assert done.code == 0, done.stderr
    listed = {r["license"]: r for r in json.loads(
        parties("licenses", "list", "--format", "json").stdout)}
    assert listed["pool-q"]["rate_type"] == "pool"
    assert listed["pool-q"]["rate"] == POOL
    assert listed["share-m"]["rate"]["minimum"] == {"amount": "5000.00", "period": "month"}
    assert parties("licenses", "list").code == 0
    assert describe_rate(POOL, "USD") == "250000.00 USD per quarter (pool, by uses)"
    assert describe_rate(PER_UNIT_MIN, "USD") == "0.01 USD/uses, minimum 100 USD per year"
    # unchanged: a no-op; a changed pool amount: an update
    again = parties("import", "licenses", "-", input=jsonl(rows))
    assert again.code == 0 and "3 unchanged" in again.stdout + again.stderr
    bigger = deal("pool-q", {**POOL, "amount": "300000.00"})
    changed = parties("import", "licenses", "-", input=jsonl([bigger]))
    assert changed.code == 0 and "1 updated" in changed.stdout + changed.stderr


BAD = [
    (deal("b1", {**POOL, "period": "fortnight"}), "rate.period: unknown period 'fortnight'"),
    (deal("b2", {**POOL, "amount": "-5"}), "rate.amount: must be at least 0"),
    (deal("b3", {**SHARE, "share": "1.5"}), "rate.share: must be at most 1"),
    (deal("b4", {**SHARE, "share": "-0.1"}), "rate.share: must be at least 0"),
    (deal("b5", {**PER_UNIT_MIN, "minimum": {"amount": "100", "period": "year",
                                              "currency": "EUR"}}),
     "rate.minimum: currency EUR is not the license's currency USD"),
    (deal("b6", {**SHARE, "minimum": {"amount": "5", "period": "quarter"}}),
     "minimum period 'quarter' does not fit the rate's period 'month'"),
    (deal("b7", {"type": "pool", "amount": "1", "unit": "uses"}),
     "a pool rate needs 'period'"),
    (deal("b8", {**POOL, "price": "0.1"}), "a pool rate takes no 'price'"),
    (deal("b9", {"type": "barter", "unit": "uses"}), "unknown rate type 'barter'"),
    (deal("b10", {**POOL, "minimum": {"amount": "-1", "period": "quarter"}}),
     "rate.minimum.amount: must be at least 0"),
]


def test_every_bad_deal_row_is_reported_and_nothing_is_written(parties, ledger) -> None:
    good = deal("good", POOL, "kite")
    result = parties("import", "licenses", "-", input=jsonl([good] + [row for row, _ in BAD]))
    assert result.code == 2
    for line, (_, reason) in enumerate(BAD, start=2):
        assert any(f"line {line}:" in text and reason in text
                   for text in result.stderr.splitlines()), (line, reason, result.stderr)
    assert "Traceback" not in result.stderr
    with ledger.connect() as conn:
        assert conn.execute("SELECT count(*) FROM license").fetchone()[0] == 0


def test_a_pooled_use_is_accrued_and_awaits_allocation(parties, ledger) -> None:
    assert parties("import", "licenses", "-", input=jsonl([
        deal("pool-q", POOL, valid_until=None)])).code == 0
    events = [usage("p1", item={"sha256": sha("w1")}, quantity="3"),
              usage("p2", item={"sha256": sha("w1")})]
    with ledger.connect() as conn:
        result = store.ingest(conn, [store.Message(orjson.dumps(events), BATCH)],
                              licensees=store.licensee_ids(conn), max_message_bytes=10**7)
        conn.commit()
        assert result.accepted == 2
        rows = conn.execute("SELECT outcome, gross, net, entry_id FROM usage_event").fetchall()
        assert rows == [("accrued", None, None, None)] * 2
        assert conn.execute("SELECT count(*) FROM posting").fetchone()[0] == 0
    status = json.loads(parties("status", "--format", "json").stdout)
    assert status["outcomes"]["accrued"] == 2
    assert json.loads(parties("report", "balances", "--format", "json").stdout) == []
