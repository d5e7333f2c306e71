"""Payout runs on the sandbox provider (no Stripe key): the rule of contract §5."""

from __future__ import annotations

import json
from decimal import Decimal

from tests.ledger.payouts.conftest import balances, fund


def test_pays_the_floor_and_keeps_the_remainder(cli, ledger) -> None:
    fund(cli, ledger, {"alice": 11, "bob": 9, "carol": 30})
    dry = cli("payouts", "run", "--dry-run")
    assert dry.code == 0 and "SANDBOX" in dry.stdout and "nothing was sent" in dry.stdout
    assert json.loads(cli("payouts", "list", "--format", "json").stdout) == []
    result = cli("payouts", "run")
    assert result.code == 0 and "SANDBOX" in result.stdout and "paid 2" in result.stdout
    after = balances(cli)
    assert after["alice"]["paid"] == "11.000000000"
    assert after["alice"]["balance"] == "0.000000077"          # the sub-cent remainder stays
    assert after["bob"]["paid"] == "0.000000000"                # below the 10.00 threshold
    assert Decimal(after["carol"]["paid"]) == Decimal("30.00")
    assert cli("report", "trial-balance", "--format", "json").code == 0
    # A second run finds nothing more to pay.
    assert "paid 0" in cli("payouts", "run").stdout
    listed = json.loads(cli("report", "payouts", "--format", "json").stdout)
    assert sorted((p["creator"], p["amount"], p["status"]) for p in listed) == [
        ("alice", "11.000000000", "paid"), ("carol", "30.000000000", "paid")]
    reconcile = cli("payouts", "reconcile")
    assert reconcile.code == 0 and "0 disagreements" in reconcile.stdout


def test_per_creator_threshold(cli, ledger) -> None:
    fund(cli, ledger, {"alice": 11, "bob": 9})
    assert cli("import", "creators", "-", input=json.dumps(
        {"creator": "bob", "name": "Bob", "email": "bob@example.org", "currency": "USD",
         "payout_threshold": "5"}) + "\n").code == 0
    assert cli("import", "creators", "-", input=json.dumps(
        {"creator": "alice", "name": "Alice", "email": "alice@example.org", "currency": "USD",
         "payout_threshold": "50"}) + "\n").code == 0
    cli("payouts", "run")
    after = balances(cli)
    assert after["bob"]["paid"] == "9.000000000" and after["alice"]["paid"] == "0.000000000"
