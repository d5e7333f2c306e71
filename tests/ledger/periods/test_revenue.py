"""Revenue reports (contract §9): ``royalty revenue import`` all-or-nothing, and the same
reports through the worker (routing key ``revenue.<licensee>``): duplicates, conflicting
duplicates and bad reports as for usage; then a revenue-share period closed on them."""

from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, Decimal

import orjson
import pytest

from ledger.ingest.events import BATCH
from ledger.ingest.producer import UsageProducer
from tests.builders import NANO, creator, deal, jsonl, licensee, work
from tests.ingest_helpers import running_consumer, scalar, wait_for
from tests.ledger.periods.helpers import (
    balances, creator_parts, expected_allocation, ingest, trial_balance_is_zero, use,
)

D = Decimal
SHARE = {"type": "revenue_share", "share": "0.125", "period": "quarter", "unit": "uses",
         "minimum": {"amount": "100.00", "period": "quarter"}}


def report(event_id: str, period: str = "2026-01", amount: str = "1000.00", *,
           license: str = "share-q", currency: str = "USD", source: str = "urn:acme:finance",
           **extra) -> dict:
    return {"specversion": "1.0", "type": "io.royaltyledger.revenue.v1", "source": source,
            "id": event_id, "time": "2026-04-02T00:00:00Z",
            "data": {"licensee": "acme-ai", "license": license, "period": period,
                     "amount": amount, "currency": currency, **extra}}


@pytest.fixture
def shared(cli, ledger):
    assert cli("import", "creators", "-", input=jsonl([creator("alice"),
                                                       creator("bob")])).code == 0
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme-ai"),
                                                        licensee("lumen")])).code == 0
    assert cli("import", "works", "-", input=jsonl([
        work("w1", {"alice": "1"}), work("w2", {"alice": "0.5", "bob": "0.5"})])).code == 0
    assert cli("import", "licenses", "-", input=jsonl([
        deal("share-q", SHARE, valid_from="2026-01-01T00:00:00Z",
             valid_until="2026-07-01T00:00:00Z", fee="0.2")])).code == 0
    ingest(ledger, [use("u1", "w1", "2026-01-10T00:00:00Z", "3"),
                    use("u2", "w2", "2026-02-10T00:00:00Z", "1")])
    return cli


def test_revenue_import_is_all_or_nothing_and_idempotent(shared, ledger) -> None:
    good = [report("r1", "2026-01", "1000.00"), report("r2", "2026-02", "250.5")]
    done = shared("revenue", "import", "-", input=jsonl(good))
    assert done.code == 0, done.stderr
    again = shared("revenue", "import", "-", input=jsonl(good))
    assert again.code == 0 and "0 new, 2 already recorded" in again.stdout
    bad = [report("r3", "2026-03", "10"),                        # good, but not written
           report("r4", "2026-13"),                              # not a period
           report("r5", "2026", "1"),                            # a year in a quarter
           report("r6", amount="-1"),                            # negative
           report("r7", currency="EUR"),                         # another currency
           report("r8", license="nope"),                         # unknown license
           {**report("r9"), "data": {**report("r9")["data"], "licensee": "zed"}},
           report("r1", "2026-01", "999.00"),                    # conflicting duplicate
           report("r10", "2026-09")]                             # license not valid then
    result = shared("revenue", "import", "-", input=jsonl(bad))
    assert result.code == 2
    for line, reason in [(2, "'2026-13' is not a period"),
                         (3, "does not fit in one quarter"), (4, "amount must be ≥ 0"),
                         (5, "currency EUR is not license 'share-q'"),
                         (6, "has no license 'nope'"), (7, "unknown licensee 'zed'"),
                         (8, "conflicting_duplicate"), (9, "is not valid in 2026-09")]:
        assert any(f"line {line}:" in text and reason in text
                   for text in result.stderr.splitlines()), (line, reason, result.stderr)
    assert scalar(ledger, "SELECT count(*) FROM revenue_report") == 2


def test_revenue_through_the_worker_then_the_period_closes_on_it(shared, ledger) -> None:
    reports = [report("r1", "2026-01", "1000.00"), report("r2", "2026-03", "600.00"),
               report("r1", "2026-01", "1000.00"),                  # duplicate
               report("r1", "2026-01", "5.00"),                     # conflicting duplicate
               report("r3", license="nope"),                        # bad
               report("r4", amount=12.5)]                           # a float amount
    with running_consumer(ledger):
        with UsageProducer(ledger.broker_url, topology=ledger.topology) as producer:
            producer.publish_body(orjson.dumps(reports), routing_key="revenue.acme-ai",
                                  content_type=BATCH)
        # the two uses of the fixture, then the reports
        wait_for(lambda: scalar(ledger, "SELECT coalesce(sum(received), 0) FROM ingest_batch")
                 == 2 + len(reports))
    assert scalar(ledger, "SELECT count(*) FROM revenue_report") == 2
    letters = json.loads(shared("report", "dead-letters", "--format", "json").stdout)
    assert sorted(r["reason"] for r in letters) == ["conflicting_duplicate", "invalid_event",
                                                    "invalid_event"]
    assert any("has no license 'nope'" in r["detail"] for r in letters)
    status = json.loads(shared("status", "--format", "json").stdout)["events"]
    assert (status["accepted"], status["duplicates"], status["dead_letters"]) == (4, 1, 3)

    closed = shared("periods", "close", "--period", "2026-Q1", "--format", "json")
    [run] = json.loads(closed.stdout)
    # 1600 × 0.125 = 200 beats the minimum of 100
    assert (D(run["revenue"]), D(run["pool"])) == (D(1600), D(200))
    grosses = expected_allocation(D(200), [("urn:acme-ai:pipeline:test", "u1", "3"),
                                           ("urn:acme-ai:pipeline:test", "u2", "1")])
    owed: dict = {}
    for (_, event), shares in zip(sorted(grosses), [{"alice": "1"},
                                                    {"alice": "0.5", "bob": "0.5"}],
                                  strict=True):
        for who, part in creator_parts(grosses[("urn:acme-ai:pipeline:test", event)], "0.2",
                                       shares).items():
            owed[(who, "USD")] = owed.get((who, "USD"), D(0)) + part
    assert balances(shared) == owed
    assert trial_balance_is_zero(shared)


def test_a_minimum_binds_when_revenue_is_low(shared) -> None:
    assert shared("revenue", "import", "-", input=jsonl([report("r1", "2026-02", "80")])
                  ).code == 0
    [run] = json.loads(shared("periods", "close", "--period", "2026-Q1",
                              "--format", "json").stdout)
    assert (D(run["revenue"]), D(run["pool"]), D(run["allocated"])) == (D(80), D(100), D(100))
    assert D(80) * D("0.125") == D(10)  # the share alone: far below the minimum
    assert sum(balances(shared).values()) == sum(
        D(100) * q / 4 - (D(100) * q / 4 * D("0.2")).quantize(NANO, rounding=ROUND_HALF_EVEN)
        for q in (D(3), D(1)))


def test_a_dead_lettered_report_is_replayed_once_its_license_exists(shared, ledger) -> None:
    from ledger.ingest import store

    late = report("r9", "2026-02", "400", license="share-late")
    with ledger.connect() as conn:
        store.ingest(conn, [store.Message(orjson.dumps([late]), BATCH, "revenue.acme-ai")],
                     licensees=store.licensee_ids(conn), max_message_bytes=10**7)
        conn.commit()
    [letter] = json.loads(shared("report", "dead-letters", "--format", "json").stdout)
    assert letter["reason"] == "invalid_event" and "share-late" in letter["detail"]
    assert shared("import", "licenses", "-", input=jsonl([
        deal("share-late", SHARE, valid_from="2026-01-01T00:00:00Z",
             valid_until="2026-07-01T00:00:00Z", purposes=["ai-input"])])).code == 0
    replayed = shared("dead-letters", "replay")
    assert replayed.code == 0, replayed.stderr
    assert json.loads(shared("report", "dead-letters", "--format", "json").stdout) == []
    assert scalar(ledger, "SELECT amount FROM revenue_report WHERE event_id = 'r9'") == D(400)


def test_only_a_licensees_producers_report_its_revenue(shared, ledger) -> None:
    from ledger.ingest import store
    from ledger.ingest.producer_rules import ProducerRules

    rules = ProducerRules({"acme-ai": frozenset({"acme-finance"})})
    body = orjson.dumps([report("r1", "2026-01", "1000.00")])
    with ledger.connect() as conn:
        for user in ("mallory", "acme-finance"):
            store.ingest(conn, [store.Message(body, BATCH, "revenue.acme-ai", user_id=user)],
                         licensees=store.licensee_ids(conn), max_message_bytes=10**7,
                         producers=rules)
        conn.commit()
    assert scalar(ledger, "SELECT count(*) FROM revenue_report") == 1
    [letter] = json.loads(shared("report", "dead-letters", "--format", "json").stdout)
    assert letter["reason"] == "unauthorized_producer"
    assert "'mallory' is not a producer of licensee 'acme-ai'" in letter["detail"]
