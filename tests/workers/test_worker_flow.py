"""The real worker, as deployed: events booked without a manual step, and works or
licenses registered later re-evaluated automatically (back-pay)."""

from __future__ import annotations

import json
from decimal import Decimal


from ledger.ingest.producer import UsageProducer
from tests.builders import creator, jsonl, license, licensee, sha, work
from tests.ingest_helpers import scalar, usage, wait_for


def test_late_registration_is_paid_back_automatically(cli, ledger, worker) -> None:
    assert cli("import", "creators", "-", input=jsonl([creator("alice"), creator("bob")])).code == 0
    assert cli("import", "licensees", "-", input=jsonl([licensee("acme-ai")])).code == 0
    assert cli("import", "licenses", "-", input=jsonl([license("acme-cat")])).code == 0
    events = [usage(f"u{i}", item={"sha256": sha("late-work")}) for i in range(40)]
    with UsageProducer(ledger.broker_url, topology=ledger.topology) as producer:
        producer.publish(events)
    wait_for(lambda: scalar(ledger, "SELECT count(*) FROM usage_event WHERE outcome = "
                                    "'unmatched'") == 40, timeout=60)
    assert cli("import", "works", "-", input=jsonl([
        work("late-work", {"alice": "0.7", "bob": "0.3"})])).code == 0
    wait_for(lambda: scalar(ledger, "SELECT count(*) FROM usage_event WHERE outcome = "
                                    "'accrued'") == 40, timeout=60)
    status = cli("status", "--wait-idle", "--timeout", "30", "--format", "json")
    assert status.code == 0 and json.loads(status.stdout)["outcomes"]["accrued"] == 40
    balances = {r["creator"]: Decimal(r["balance"]) for r in json.loads(
        cli("report", "balances", "--format", "json").stdout)}
    net = Decimal("0.001955000")  # 0.0023 less the 15 % fee, per use
    assert balances == {"alice": 40 * Decimal("0.0013685"), "bob": 40 * Decimal("0.0005865")}
    assert sum(balances.values()) == 40 * net
