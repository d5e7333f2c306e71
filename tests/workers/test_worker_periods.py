"""Periods through the real processes: uses published to the broker and stored by the real
worker, the beat task closing the periods in that worker, a late use re-allocated by the
next tick; and two ``royalty periods close`` commands at the same moment booking once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from ledger.ingest.producer import UsageProducer
from tests.builders import creator, deal, jsonl, licensee, sha, work
from tests.ingest_helpers import scalar, usage, wait_for
from tests.ledger.periods.helpers import expected_allocation, trial_balance_is_zero

POOL = {"type": "pool", "amount": "100.00", "period": "month", "unit": "uses"}
SOURCE = "urn:acme-ai:pipeline:test"


@pytest.fixture
def catalog(cli):
    assert cli("import", "creators", "-", input=jsonl([creator("alice")])).code == 0
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme-ai")])).code == 0
    assert cli("import", "works", "-", input=jsonl([work("w1")])).code == 0
    assert cli("import", "licenses", "-", input=jsonl([
        deal("pool-m", POOL, valid_from="2026-01-01T00:00:00Z",
             valid_until="2026-03-01T00:00:00Z", fee="0")])).code == 0
    return cli


def _publish(ledger, events: list[dict]) -> None:
    with UsageProducer(ledger.broker_url, topology=ledger.topology) as producer:
        producer.publish(events)


def test_beat_closes_periods_in_the_worker_and_re_allocates_late_uses(catalog, ledger,
                                                                      worker) -> None:
    from workers import app

    uses = [usage(f"u{i}", item={"sha256": sha("w1")}, time_=f"2026-01-{10 + i}T00:00:00Z",
                  quantity=str(i + 1)) for i in range(3)]
    _publish(ledger, uses)
    wait_for(lambda: scalar(ledger, "SELECT count(*) FROM usage_event") == 3, timeout=60)
    app.send_task("royalty.periods.close")  # what beat sends every 5 minutes
    wait_for(lambda: scalar(ledger, "SELECT count(*) FROM license_period") == 2, timeout=60)
    assert scalar(ledger, "SELECT -sum(p.amount) FROM posting p JOIN account a "
                          "ON a.id = p.account_id WHERE a.kind = 'creator_payable'") == 100
    _publish(ledger, [usage("late", item={"sha256": sha("w1")}, time_="2026-01-30T00:00:00Z",
                            quantity="2")])
    wait_for(lambda: scalar(ledger, "SELECT count(*) FROM usage_event") == 4, timeout=60)
    app.send_task("royalty.periods.close")
    wait_for(lambda: scalar(ledger, "SELECT count(*) FROM license_period "
                                    "WHERE state = 'adjusted'") == 1, timeout=60)
    listed = {r["period"]: r for r in json.loads(
        catalog("periods", "list", "--format", "json").stdout)}
    assert (listed["2026-01"]["events"], listed["2026-02"]["unallocated"]) == (4, "100.000000000")
    # alice is owed January's pool, whatever the order the uses came in
    expected = sum(expected_allocation(Decimal(100), [(SOURCE, f"u{i}", str(i + 1))
                                                      for i in range(3)]
                                       + [(SOURCE, "late", "2")]).values())
    balances = json.loads(catalog("report", "balances", "--format", "json").stdout)
    assert [(r["creator"], Decimal(r["balance"])) for r in balances] == [("alice", expected)]
    assert trial_balance_is_zero(catalog)


def test_two_close_commands_at_once_book_each_period_once(catalog, ledger,
                                                          tmp_path: Path) -> None:
    royalty = str(Path(sys.executable).with_name("royalty"))
    commands = [subprocess.Popen([royalty, "periods", "close", "--format", "json"],
                                 stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                 env=os.environ.copy()) for _ in range(2)]
    outputs = [c.communicate(timeout=120) for c in commands]
    assert [c.returncode for c in commands] == [0, 0], outputs
    closed = sorted(run["label"] for out, _ in outputs for run in json.loads(out))
    assert closed == ["2026-01", "2026-02"]
    # no uses: each month's pool is booked once, unallocated
    assert scalar(ledger, "SELECT count(*) FROM journal_entry WHERE kind = 'allocation'") == 2
    assert scalar(ledger, "SELECT -sum(p.amount) FROM posting p JOIN account a "
                          "ON a.id = p.account_id WHERE a.kind = 'license_unallocated'") == 200
    assert scalar(ledger, "SELECT count(*) FROM license_period") == 2
